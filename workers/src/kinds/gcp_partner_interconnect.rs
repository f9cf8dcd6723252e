//! Runs the actions of `gcp-partner-interconnect` connectors: the partner's
//! PARTNER_PROVIDER attachment at Google, and the PE with the addresses
//! Google chose.

use std::sync::Arc;
use std::time::Duration;

use onramp_gcp_pi::{AttachmentRequest, Error as GcpError, PiClient, Progress};
use onramp_router_templates::Operation;
use onramp_state_machines::gcp_partner_interconnect::{
    Action, AttachmentStatus, Event, GcpPartnerInterconnect,
};
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;
use onramp_store::inventory;
use onramp_store::model::{GcpPartnerInterconnectParams, Resources};

use crate::pe_writer::PeWriter;
use crate::router_push;
use crate::step::{Step, done};
use crate::{GcpSettings, WorkerConfig};

pub(crate) struct Executor {
    db: DatabaseConnection,
    client: Option<(PiClient, GcpSettings)>,
    writer: Arc<PeWriter>,
}

fn retry(e: GcpError) -> Step<Event> {
    match e.retry_after() {
        Some(after) => Step::RetryIn(e.to_string(), after),
        None => Step::Retry(e.to_string()),
    }
}

fn in_progress(retry_after: Duration) -> Step<Event> {
    Step::Wait(retry_after.max(Duration::from_millis(200)))
}

/// `169.254.3.2/29` → `169.254.3.0/29`.
fn network_of(cidr: &str) -> Option<String> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some(format!(
        "{}/{len}",
        std::net::Ipv4Addr::from(u32::from(ip) & mask)
    ))
}

/// The connector's resources once Google's addresses are known.
pub(crate) fn resources_after(
    row: &connector::Model,
    event: &Event,
) -> Result<Option<String>, onramp_store::Error> {
    let Event::AttachmentCreated {
        cloud_router_ip,
        customer_router_ip,
    } = event
    else {
        return Ok(None);
    };
    let mut res = Resources::from_json(&row.resources)?;
    res.subnet = network_of(customer_router_ip).unwrap_or_default();
    res.pe_address = customer_router_ip.clone();
    res.csp_address = cloud_router_ip.clone();
    Ok(Some(
        serde_json::to_string(&res).expect("resources serialize"),
    ))
}

impl Executor {
    pub(crate) fn new(db: DatabaseConnection, cfg: &WorkerConfig, writer: Arc<PeWriter>) -> Self {
        Self {
            db,
            client: cfg.gcp.clone().map(|s| (PiClient::new(s.api.clone()), s)),
            writer,
        }
    }

    pub(crate) async fn execute(
        &self,
        action: Action,
        row: &connector::Model,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let res = Resources::from_json(&row.resources)?;
        // Router actions need no Google credentials.
        match action {
            Action::PushPeConfig => return self.push(action, row, &res, Operation::Create).await,
            Action::RemovePeConfig => return self.push(action, row, &res, Operation::Delete).await,
            Action::ReleaseResources => return Ok(done(Event::ResourcesReleased, "onramp")),
            _ => {}
        }
        let Some((client, settings)) = &self.client else {
            return Ok(Step::Retry(
                "this worker has no Google Cloud settings (ONRAMP_GCP_* settings)".into(),
            ));
        };
        let params = GcpPartnerInterconnectParams::from_json(&row.params)?;
        Ok(match action {
            Action::CreateAttachment => {
                let nni = inventory::nni(&self.db, row.nni_id).await?;
                let req = AttachmentRequest {
                    name: res.csp_object_name.clone(),
                    region: params.region.clone(),
                    interconnect: nni.csp_ref.clone(),
                    pairing_key: params.pairing_key.clone(),
                    vlan: res.vlan,
                    bandwidth: params.bandwidth.clone(),
                    partner_name: settings.partner_name.clone(),
                    interconnect_name: nni.name.clone(),
                    portal_url: settings.portal_url.clone(),
                    partner_asn: Some(res.asn),
                };
                match client.ensure_attachment(&req).await {
                    Ok(Progress::Done(a)) => match (a.cloud_router_ip, a.customer_router_ip) {
                        (Some(cloud_router_ip), Some(customer_router_ip)) => Step::Done {
                            event: Event::AttachmentCreated {
                                cloud_router_ip,
                                customer_router_ip,
                            },
                            actor: "google",
                            csp_ref: Some(Some(a.name)),
                        },
                        _ => Step::Retry(format!(
                            "attachment {} exists but Google has not assigned its addresses yet",
                            a.name
                        )),
                    },
                    Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
                    Err(e) if e.is_retryable() => retry(e),
                    Err(e) => done(
                        Event::AttachmentFailed {
                            reason: e.to_string(),
                        },
                        "google",
                    ),
                }
            }
            Action::PollAttachment => {
                match client
                    .get_attachment(&params.region, &res.csp_object_name)
                    .await
                {
                    Ok(found) => done(
                        Event::AttachmentObserved {
                            status: found
                                .map(|a| AttachmentStatus::parse(&a.state))
                                .unwrap_or(AttachmentStatus::Gone),
                        },
                        "google",
                    ),
                    Err(e) => retry(e),
                }
            }
            Action::DeleteAttachment => {
                match client
                    .delete_attachment(&params.region, &res.csp_object_name)
                    .await
                {
                    Ok(Progress::Done(())) => done(Event::AttachmentDeleted, "google"),
                    Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
                    Err(e) => retry(e),
                }
            }
            Action::UpdateAttachment => {
                match client
                    .set_bandwidth(&params.region, &res.csp_object_name, &params.bandwidth)
                    .await
                {
                    Ok(Progress::Done(())) => done(Event::AttachmentUpdated, "google"),
                    Ok(Progress::InProgress { retry_after }) => in_progress(retry_after),
                    Err(e) if e.is_retryable() => retry(e),
                    Err(e) => done(
                        Event::AttachmentUpdateFailed {
                            reason: e.to_string(),
                        },
                        "google",
                    ),
                }
            }
            Action::PushPeConfig | Action::RemovePeConfig | Action::ReleaseResources => {
                unreachable!("handled above")
            }
        })
    }

    async fn push(
        &self,
        action: Action,
        row: &connector::Model,
        res: &Resources,
        op: Operation,
    ) -> Result<Step<Event>, onramp_store::Error> {
        if op == Operation::Delete && !res.has_peering() {
            // Google never gave addresses, so nothing was pushed.
            return Ok(done(Event::PeConfigRemoved, "router"));
        }
        let vrf = crate::links::vrf_of(&self.db, row).await?;
        let params = GcpPartnerInterconnectParams::from_json(&row.params)?;
        let intent = onramp_kinds::gcp_partner_interconnect::attachment(row, res, &params, &vrf)?;
        let pushed = router_push::push(&self.writer, &self.db, row, res.pe_id, &intent, op).await?;
        Ok(router_push::step::<GcpPartnerInterconnect>(action, pushed))
    }
}

crate::kinds::worker_kind!(
    GcpPartnerInterconnect,
    gcp_partner_interconnect,
    resources = resources_after
);

#[cfg(test)]
mod tests {
    #[test]
    fn network_of_a_router_address() {
        assert_eq!(
            super::network_of("169.254.3.2/29").as_deref(),
            Some("169.254.3.0/29")
        );
        assert_eq!(super::network_of("nonsense"), None);
    }
}
