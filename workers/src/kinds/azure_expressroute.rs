//! Runs the actions of `azure-expressroute` connectors against the
//! ExpressRoute partner API and the two PEs. Every action is idempotent: the
//! adapter reads before it writes, and a long-running operation that is still
//! going is picked up again by the next delivery of the same job.

use std::sync::Arc;
use std::time::Duration;

use onramp_azure_er::{
    DevicePath, ErClient, Error as ArmError, Progress, ProvisioningState, XcRef,
};
use onramp_router_templates::Operation;
use onramp_state_machines::azure_expressroute::{Action, AzureExpressroute, Event, Leg};
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;
use onramp_store::model::{AzureExpressRouteParams, AzureResources, PendingChange};
use onramp_store::secrets::SecretBox;

use crate::WorkerConfig;
use crate::pe_writer::PeWriter;
use crate::router_push;
use crate::step::{Step, done};

pub(crate) struct Executor {
    db: DatabaseConnection,
    client: Option<ErClient>,
    secrets: SecretBox,
    writer: Arc<PeWriter>,
}

/// How an ARM failure reads to the runner: retried (with Azure's own
/// Retry-After when it gave one) or final.
fn classify(e: &ArmError) -> Option<Step<Event>> {
    if let Some(after) = e.retry_after() {
        return Some(Step::RetryIn(e.to_string(), after));
    }
    if e.is_retryable() {
        return Some(Step::Retry(e.to_string()));
    }
    None
}

/// An action that has no failure exit (teardown, polls) retries on every
/// error, visibly.
fn retry(e: ArmError) -> Step<Event> {
    classify(&e).unwrap_or_else(|| Step::Retry(e.to_string()))
}

fn in_progress(retry_after: Duration) -> Step<Event> {
    // The operation keeps running at Azure; the same job looks again.
    Step::Wait(retry_after.max(Duration::from_millis(200)))
}

impl Executor {
    pub(crate) fn new(db: DatabaseConnection, cfg: &WorkerConfig, writer: Arc<PeWriter>) -> Self {
        Self {
            db,
            client: cfg.azure.clone().map(ErClient::new),
            secrets: cfg.secrets.clone(),
            writer,
        }
    }

    pub(crate) async fn execute(
        &self,
        action: Action,
        row: &connector::Model,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let Some(client) = &self.client else {
            return Ok(Step::Retry(
                "this worker has no Azure ExpressRoute credentials (ONRAMP_AZURE_* settings)"
                    .into(),
            ));
        };
        let params = AzureExpressRouteParams::from_json(&row.params)?;
        let res = AzureResources::from_json(&row.resources)?;
        let xc = XcRef {
            resource_group: params.circuit.resource_group.clone(),
            service_key: params.service_key.clone(),
        };
        Ok(match action {
            Action::ProvisionCircuit => {
                let notes = format!("onramp connector {}", row.id);
                match client
                    .set_provisioning_state(&xc, ProvisioningState::Provisioned, Some(&notes))
                    .await
                {
                    Ok(Progress::Done) => done(Event::CircuitProvisioned, "azure"),
                    Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
                    Err(e) => classify(&e).unwrap_or_else(|| {
                        done(
                            Event::CircuitProvisionFailed {
                                reason: e.to_string(),
                            },
                            "azure",
                        )
                    }),
                }
            }
            Action::PushPrimaryPe => {
                self.push(action, row, &params, &res, Leg::Primary, Operation::Create)
                    .await?
            }
            Action::PushSecondaryPe => {
                self.push(
                    action,
                    row,
                    &params,
                    &res,
                    Leg::Secondary,
                    Operation::Create,
                )
                .await?
            }
            Action::RemoveSecondaryPe => {
                self.push(
                    action,
                    row,
                    &params,
                    &res,
                    Leg::Secondary,
                    Operation::Delete,
                )
                .await?
            }
            Action::RemovePrimaryPe => {
                self.push(action, row, &params, &res, Leg::Primary, Operation::Delete)
                    .await?
            }
            Action::ConfigurePeering => {
                let key = match self.secrets.open(&res.auth_key_sealed) {
                    Ok(k) => k,
                    Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
                };
                let req = onramp_kinds::azure_expressroute::peering_request(&res, &key);
                match client.ensure_private_peering(&xc, &req).await {
                    Ok(Progress::Done) => done(Event::PeeringConfigured, "azure"),
                    Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
                    Err(e) => classify(&e).unwrap_or_else(|| {
                        done(
                            Event::PeeringFailed {
                                reason: e.to_string(),
                            },
                            "azure",
                        )
                    }),
                }
            }
            Action::PollPeering => match client.get_private_peering(&xc).await {
                Ok(found) => {
                    let problem = match found {
                        None => Some("the private peering is not configured at Azure yet".into()),
                        Some(p) => peering_mismatch(&res, &p),
                    };
                    done(Event::PeeringObserved { problem }, "azure")
                }
                Err(e) => retry(e),
            },
            Action::PollLegs => self.poll_legs(client, &xc, row, &params).await?,
            Action::DeletePeering => match client.delete_private_peering(&xc).await {
                Ok(Progress::Done) => done(Event::PeeringDeleted, "azure"),
                Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
                Err(e) => retry(e),
            },
            Action::DeprovisionCircuit => self.deprovision(client, &xc).await,
            // Runs inside the commit transaction (Transition::release_resources).
            Action::ReleaseResources => done(Event::ResourcesReleased, "onramp"),
        })
    }

    async fn push(
        &self,
        action: Action,
        row: &connector::Model,
        params: &AzureExpressRouteParams,
        res: &AzureResources,
        leg: Leg,
        op: Operation,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let vrf = crate::links::vrf_of(&self.db, row).await?;
        let auth_key = match self.secrets.open(&res.auth_key_sealed) {
            Ok(k) => k,
            Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
        };
        let intent = onramp_kinds::azure_expressroute::leg_attachment(
            row, res, leg, params, &vrf, &auth_key,
        )?;
        let pe_id = match leg {
            Leg::Primary => res.primary.pe_id,
            Leg::Secondary => res.secondary.pe_id,
        };
        let pushed = router_push::push(&self.writer, &self.db, row, pe_id, &intent, op).await?;
        Ok(router_push::step::<AzureExpressroute>(action, pushed))
    }

    async fn poll_legs(
        &self,
        client: &ErClient,
        xc: &XcRef,
        row: &connector::Model,
        params: &AzureExpressRouteParams,
    ) -> Result<Step<Event>, onramp_store::Error> {
        match client.find_cross_connection(&xc.service_key).await {
            Ok(None) => {
                return Ok(done(
                    Event::CircuitLost {
                        reason: format!(
                            "the cross-connection for service key {} no longer exists at Azure",
                            xc.service_key
                        ),
                    },
                    "azure",
                ));
            }
            Ok(Some(found)) if found.service_provider_provisioning_state != "Provisioned" => {
                return Ok(done(
                    Event::CircuitLost {
                        reason: format!(
                            "Azure reports the circuit as {}",
                            found.service_provider_provisioning_state
                        ),
                    },
                    "azure",
                ));
            }
            // The circuit's owner changed its bandwidth in Azure: the PEs
            // police at it from now on, unless the NNI cannot carry it.
            Ok(Some(found)) if found.bandwidth_in_mbps != params.circuit.bandwidth_mbps => {
                let nni = onramp_store::inventory::nni(&self.db, row.nni_id).await?;
                if i64::from(found.bandwidth_in_mbps) > i64::from(nni.capacity_mbps) {
                    return Ok(Step::Retry(format!(
                        "the circuit's bandwidth is now {} Mbps at Azure, more than the {} Mbps \
                         NNI at {} carries: onramp keeps policing at {} Mbps until the operator's \
                         ops team adds capacity or the circuit goes back",
                        found.bandwidth_in_mbps,
                        nni.capacity_mbps,
                        nni.location_code,
                        params.circuit.bandwidth_mbps
                    )));
                }
                return Ok(done(
                    Event::CircuitBandwidthChanged {
                        mbps: found.bandwidth_in_mbps,
                    },
                    "azure",
                ));
            }
            Ok(Some(_)) => {}
            Err(e) => return Ok(retry(e)),
        }
        let mut up = [false, false];
        for (i, path) in [DevicePath::Primary, DevicePath::Secondary]
            .into_iter()
            .enumerate()
        {
            match client.leg_status(xc, path).await {
                Ok(s) => up[i] = s.bgp_up,
                // No peering (yet, or removed): no session on either leg.
                Err(ArmError::Arm { status: 404, .. }) => up[i] = false,
                Err(e) => return Ok(retry(e)),
            }
        }
        Ok(done(
            Event::LegsObserved {
                primary_up: up[0],
                secondary_up: up[1],
            },
            "azure",
        ))
    }

    /// Microsoft's order: Provisioned → Deprovisioning → NotProvisioned.
    /// Each step is skipped when Azure is already past it, so a retry after
    /// a crash picks up where the last run stopped.
    async fn deprovision(&self, client: &ErClient, xc: &XcRef) -> Step<Event> {
        let current = match client.find_cross_connection(&xc.service_key).await {
            Ok(None) => return done(Event::CircuitDeprovisioned, "azure"),
            Ok(Some(c)) => c,
            Err(e) => return retry(e),
        };
        if current.service_provider_provisioning_state == "Provisioned" {
            match client
                .set_provisioning_state(xc, ProvisioningState::Deprovisioning, None)
                .await
            {
                Ok(Progress::Done) => {}
                Ok(Progress::InProgress { retry_after }) => return in_progress(retry_after),
                Err(e) => return retry(e),
            }
        }
        match client
            .set_provisioning_state(xc, ProvisioningState::NotProvisioned, None)
            .await
        {
            Ok(Progress::Done) => done(Event::CircuitDeprovisioned, "azure"),
            Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
            Err(e) => retry(e),
        }
    }
}

/// Why a customer-configured peering does not match what onramp allocated
/// (and so configured on the PEs), or None when it matches and is ready.
fn peering_mismatch(res: &AzureResources, p: &onramp_azure_er::PrivatePeering) -> Option<String> {
    let mut diffs = Vec::new();
    if p.vlan_id != res.c_tag {
        diffs.push(format!(
            "vlanId is {}, onramp allocated {}",
            p.vlan_id, res.c_tag
        ));
    }
    if p.peer_asn != res.asn {
        diffs.push(format!(
            "peerASN is {}, onramp allocated {}",
            p.peer_asn, res.asn
        ));
    }
    if p.primary_peer_address_prefix != res.primary.subnet {
        diffs.push(format!(
            "primaryPeerAddressPrefix is {}, onramp allocated {}",
            p.primary_peer_address_prefix, res.primary.subnet
        ));
    }
    if p.secondary_peer_address_prefix != res.secondary.subnet {
        diffs.push(format!(
            "secondaryPeerAddressPrefix is {}, onramp allocated {}",
            p.secondary_peer_address_prefix, res.secondary.subnet
        ));
    }
    if !diffs.is_empty() {
        return Some(format!(
            "the private peering configured at Azure does not match: {}",
            diffs.join("; ")
        ));
    }
    if p.provisioning_state != "Succeeded" {
        return Some(format!(
            "the private peering is {} at Azure",
            p.provisioning_state
        ));
    }
    None
}

crate::kinds::worker_kind!(AzureExpressroute, azure_expressroute, change = change_after);

/// A bandwidth the circuit's owner set at Azure, followed like a change
/// asked through onramp: the new bandwidth goes into the row with the
/// transition, the old one is kept to put back if a PE refuses it.
pub(crate) fn change_after(
    row: &connector::Model,
    event: &Event,
) -> Result<Option<(String, PendingChange)>, onramp_store::Error> {
    let Event::CircuitBandwidthChanged { mbps } = event else {
        return Ok(None);
    };
    let mut params = AzureExpressRouteParams::from_json(&row.params)?;
    params.circuit.bandwidth_mbps = *mbps;
    Ok(Some((
        serde_json::to_string(&params).expect("params serialize"),
        PendingChange {
            previous_params: row.params.clone(),
            previous_options: row.options.clone(),
            previous_resources: None,
            fields: vec!["bandwidth".into()],
            requested_by: "azure (the circuit's owner)".into(),
            requested_at: chrono::Utc::now(),
        },
    )))
}
