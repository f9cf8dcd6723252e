//! Partner-side Azure ExpressRoute client: the ARM
//! `Microsoft.Network/expressRouteCrossConnections` API over `reqwest`.
//!
//! When a customer creates an ExpressRoute circuit with us as provider,
//! Microsoft creates a shadow *cross-connection* in our subscription, named
//! after the circuit's service key, in resource group
//! `CrossConnection-<PeeringLocation>`. The partner's side of the life cycle:
//!
//! 1. [`ErClient::find_cross_connection`]: look the service key up.
//! 2. [`ErClient::set_provisioning_state`]`(Provisioned)` once our links
//!    (QinQ: Microsoft's S-tag, the peering's VLAN as C-tag) are ready.
//! 3. [`ErClient::ensure_private_peering`]: the AzurePrivatePeering (two
//!    /30s, our ASN, VLAN, MD5 key). Layer-2 customers configure it
//!    themselves from their circuit; then [`ErClient::get_private_peering`]
//!    is how we see it.
//! 4. [`ErClient::leg_status`] per link: BGP on each of the two legs. Both
//!    are needed for Microsoft's SLA; one down is degraded, not down.
//! 5. Teardown, in the order Microsoft expects:
//!    [`ErClient::delete_private_peering`], then
//!    `set_provisioning_state(Deprovisioning)` while we remove our side,
//!    then `set_provisioning_state(NotProvisioned)`; only then can the
//!    customer delete the circuit (ARM refuses while it is `Provisioning` or
//!    `Provisioned`). ARM refuses `NotProvisioned` while a peering exists.
//!    (The simulator also accepts `Provisioned → NotProvisioned` directly
//!    when no peering is left.)
//!
//! Every mutating call is idempotent (the worker may die and its job be
//! redelivered at any point): it reads first and changes nothing when Azure
//! is already where it should be; it reports [`Progress::InProgress`] when
//! an operation is still running there. Writes are ARM long-running
//! operations: a call follows one for at most
//! [`AzureConfig::lro_budget`], then leaves it running and says
//! `InProgress`; calling again later picks it up by reading the state.
//!
//! Throttling (429) is slept off (`Retry-After`) within
//! [`AzureConfig::max_throttle_wait`] per call. The AAD token is cached,
//! shared by clones, renewed before it expires, and fetched anew once if ARM
//! answers 401. The client secret, the access token and BGP keys are never
//! logged nor put in an error or `Debug` output.

mod arm;
mod auth;
mod config;
mod error;
mod model;

use std::sync::Arc;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use self::arm::{Arm, ArmReply, Call, Lro, Reply};
pub use self::config::AzureConfig;
use self::error::BUSY_RETRY;
pub use self::error::Error;
use self::model::PRIVATE_PEERING;
pub use self::model::{
    CrossConnection, DevicePath, LegStatus, PeeringRequest, PrivatePeering, Progress,
    ProvisioningState, XcRef,
};

const PROVIDER: &str = "Microsoft.Network";
const XCS: &str = "expressRouteCrossConnections";

/// The ExpressRoute partner client. Cheap to clone: clones share the HTTP
/// connection pool and the token cache.
#[derive(Clone, Debug)]
pub struct ErClient {
    arm: Arc<Arm>,
}

impl ErClient {
    pub fn new(cfg: AzureConfig) -> Self {
        Self {
            arm: Arc::new(Arm::new(cfg)),
        }
    }

    pub fn config(&self) -> &AzureConfig {
        &self.arm.cfg
    }

    /// Looks the cross-connection up by service key
    /// (`$filter=name eq '<key>'`, following `nextLink`). `Ok(None)` when
    /// there is no such key in the subscription.
    pub async fn find_cross_connection(
        &self,
        service_key: &str,
    ) -> Result<Option<CrossConnection>, Error> {
        let mut call = Call::default();
        let filter = format!("name eq '{}'", service_key.replace('\'', "''"));
        let sub = self.arm.cfg.subscription_id.as_str();
        let mut url = self.arm.url(
            &["subscriptions", sub, "providers", PROVIDER, XCS],
            &[("$filter", &filter)],
        )?;
        loop {
            let reply = self
                .arm
                .send(
                    &mut call,
                    "ExpressRouteCrossConnections_List",
                    Method::GET,
                    &url,
                    None,
                )
                .await?;
            if !reply.is_success() {
                return Err(reply.error());
            }
            let page = reply.json()?;
            let items = page
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::Protocol("cross-connection list without value".into()))?;
            for item in items {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                if name.eq_ignore_ascii_case(service_key) {
                    return CrossConnection::from_arm(item).map(Some);
                }
            }
            match page.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => url = self.arm.arm_link(next)?,
                _ => return Ok(None),
            }
        }
    }

    /// Sets `serviceProviderProvisioningState` (and `serviceProviderNotes`
    /// when given). Idempotent: already in `state` with `provisioningState`
    /// `Succeeded` → `Done` without a PUT (notes are not compared); an
    /// operation running on the cross-connection → `InProgress`; otherwise
    /// GET-modify-PUT and follow the operation up to `lro_budget`.
    pub async fn set_provisioning_state(
        &self,
        xc: &XcRef,
        state: ProvisioningState,
        notes: Option<&str>,
    ) -> Result<Progress, Error> {
        let mut call = Call::default();
        let url = self.xc_url(xc, &[])?;
        let reply = self
            .arm
            .send(
                &mut call,
                "ExpressRouteCrossConnections_Get",
                Method::GET,
                &url,
                None,
            )
            .await?;
        if !reply.is_success() {
            return Err(reply.error());
        }
        let current = reply.json()?;
        let props = current.get("properties").cloned().unwrap_or(json!({}));
        let prov = str_field(&props, "provisioningState");
        if is_running(prov) {
            return Ok(Progress::InProgress {
                retry_after: BUSY_RETRY,
            });
        }
        if str_field(&props, "serviceProviderProvisioningState") == state.as_str()
            && prov.eq_ignore_ascii_case("Succeeded")
        {
            return Ok(Progress::Done);
        }
        // PUT replaces the resource: send back what we read (writable parts
        // only; the peerings have their own resource) with our change.
        let mut new_props = json!({
            "serviceProviderProvisioningState": state.as_str(),
        });
        for k in [
            "peeringLocation",
            "bandwidthInMbps",
            "expressRouteCircuit",
            "serviceProviderNotes",
        ] {
            if let Some(v) = props.get(k).filter(|v| !v.is_null()) {
                new_props[k] = v.clone();
            }
        }
        if let Some(n) = notes {
            new_props["serviceProviderNotes"] = json!(n);
        }
        let mut body = json!({ "properties": new_props });
        for k in ["location", "tags"] {
            if let Some(v) = current.get(k).filter(|v| !v.is_null()) {
                body[k] = v.clone();
            }
        }
        tracing::info!(
            service_key = %xc.service_key,
            from = str_field(&props, "serviceProviderProvisioningState"),
            to = state.as_str(),
            "setting serviceProviderProvisioningState"
        );
        let reply = self
            .arm
            .send(
                &mut call,
                "ExpressRouteCrossConnections_CreateOrUpdate",
                Method::PUT,
                &url,
                Some(&body),
            )
            .await?;
        self.finish_write(&mut call, reply).await
    }

    /// Creates or updates the AzurePrivatePeering. Idempotent: a peering
    /// with these settings, `Enabled` and `Succeeded` → `Done` without a PUT
    /// (a wanted shared key counts as equal only if ARM echoes it equal);
    /// one being changed → `InProgress`; otherwise PUT and follow the
    /// operation. A peering the customer configured with other settings is
    /// overwritten (it is logged).
    pub async fn ensure_private_peering(
        &self,
        xc: &XcRef,
        p: &PeeringRequest,
    ) -> Result<Progress, Error> {
        let mut call = Call::default();
        let url = self.xc_url(xc, &["peerings", PRIVATE_PEERING])?;
        if let Some(existing) = self.read_peering(&mut call, &url).await? {
            let props = existing.get("properties").cloned().unwrap_or(json!({}));
            let prov = str_field(&props, "provisioningState");
            if is_running(prov) {
                return Ok(Progress::InProgress {
                    retry_after: BUSY_RETRY,
                });
            }
            if p.matches(&props) && prov.eq_ignore_ascii_case("Succeeded") {
                return Ok(Progress::Done);
            }
            if str_field(&props, "lastModifiedBy").eq_ignore_ascii_case("Customer") {
                tracing::warn!(
                    service_key = %xc.service_key,
                    "replacing a private peering the customer configured with other settings"
                );
            }
        }
        tracing::info!(service_key = %xc.service_key, peering = ?p, "putting AzurePrivatePeering");
        let reply = self
            .arm
            .send(
                &mut call,
                "ExpressRouteCrossConnectionPeerings_CreateOrUpdate",
                Method::PUT,
                &url,
                Some(&p.to_arm()),
            )
            .await?;
        self.finish_write(&mut call, reply).await
    }

    /// The AzurePrivatePeering, `None` when there is none. (A missing
    /// cross-connection is an `Error::Arm` 404.)
    pub async fn get_private_peering(&self, xc: &XcRef) -> Result<Option<PrivatePeering>, Error> {
        let mut call = Call::default();
        let url = self.xc_url(xc, &["peerings", PRIVATE_PEERING])?;
        self.read_peering(&mut call, &url)
            .await?
            .map(|v| PrivatePeering::from_arm(&v))
            .transpose()
    }

    /// Deletes the AzurePrivatePeering. Idempotent: absent → `Done`; being
    /// changed or deleted → `InProgress`; else DELETE and follow.
    pub async fn delete_private_peering(&self, xc: &XcRef) -> Result<Progress, Error> {
        let mut call = Call::default();
        let url = self.xc_url(xc, &["peerings", PRIVATE_PEERING])?;
        let Some(existing) = self.read_peering(&mut call, &url).await? else {
            return Ok(Progress::Done);
        };
        let prov = existing
            .get("properties")
            .map(|p| str_field(p, "provisioningState"))
            .unwrap_or_default();
        if is_running(prov) {
            return Ok(Progress::InProgress {
                retry_after: BUSY_RETRY,
            });
        }
        tracing::info!(service_key = %xc.service_key, "deleting AzurePrivatePeering");
        let reply = self
            .arm
            .send(
                &mut call,
                "ExpressRouteCrossConnectionPeerings_Delete",
                Method::DELETE,
                &url,
                None,
            )
            .await?;
        if reply.status == 404 {
            return Ok(Progress::Done);
        }
        self.finish_write(&mut call, reply).await
    }

    /// The BGP session of the private peering on one leg
    /// (`POST .../peerings/AzurePrivatePeering/routeTablesSummary/{path}`),
    /// following the operation if ARM answers 202. No peering is an
    /// `Error::Arm` 404. If the summary is not ready within `lro_budget`,
    /// `Error::Transport` (retryable).
    pub async fn leg_status(&self, xc: &XcRef, leg: DevicePath) -> Result<LegStatus, Error> {
        let mut call = Call::default();
        let url = self.xc_url(
            xc,
            &[
                "peerings",
                PRIVATE_PEERING,
                "routeTablesSummary",
                leg.as_str(),
            ],
        )?;
        let reply = self
            .arm
            .send(
                &mut call,
                "ExpressRouteCrossConnections_ListRoutesTableSummary",
                Method::POST,
                &url,
                None,
            )
            .await?;
        if !reply.is_success() {
            return Err(reply.error());
        }
        let result = if reply.status == 202 || (reply.has_lro() && reply.status != 200) {
            match self.arm.follow(&mut call, &reply, true).await? {
                Lro::Done(Some(r)) => r,
                Lro::Done(None) => {
                    return Err(Error::Protocol(
                        "routeTablesSummary finished without a result to read".into(),
                    ));
                }
                Lro::Running(_) => {
                    return Err(Error::Transport(format!(
                        "routeTablesSummary of the {} leg still running after {:?}",
                        leg.as_str(),
                        self.arm.cfg.lro_budget
                    )));
                }
            }
        } else {
            reply
        };
        LegStatus::from_summary(&result.json()?)
    }

    /// `.../resourceGroups/{rg}/providers/Microsoft.Network/expressRouteCrossConnections/{key}[/rest]`.
    fn xc_url(&self, xc: &XcRef, rest: &[&str]) -> Result<Url, Error> {
        let mut segments = vec![
            "subscriptions",
            self.arm.cfg.subscription_id.as_str(),
            "resourceGroups",
            xc.resource_group.as_str(),
            "providers",
            PROVIDER,
            XCS,
            xc.service_key.as_str(),
        ];
        segments.extend_from_slice(rest);
        self.arm.url(&segments, &[])
    }

    /// GET on the peering: `None` on the child's 404. The parent's 404
    /// (`ResourceNotFound` naming the cross-connection) is an error.
    async fn read_peering(&self, call: &mut Call, url: &Url) -> Result<Option<Value>, Error> {
        let reply = self
            .arm
            .send(
                call,
                "ExpressRouteCrossConnectionPeerings_Get",
                Method::GET,
                url,
                None,
            )
            .await?;
        if reply.status == 404 {
            return match reply.error() {
                Error::Arm { code, message, .. }
                    if code == "ResourceNotFound" && !message.contains("/peerings/") =>
                {
                    Err(reply.error())
                }
                _ => Ok(None),
            };
        }
        if !reply.is_success() {
            return Err(reply.error());
        }
        Ok(Some(reply.json()?))
    }

    /// The outcome of a PUT or DELETE: follow its operation, or read the
    /// synchronous answer.
    async fn finish_write(&self, call: &mut Call, reply: Reply) -> Result<Progress, Error> {
        if !reply.is_success() {
            return Err(reply.error());
        }
        if reply.has_lro() {
            return Ok(match self.arm.follow(call, &reply, false).await? {
                Lro::Done(_) => Progress::Done,
                Lro::Running(retry_after) => Progress::InProgress { retry_after },
            });
        }
        if reply.status == 202 {
            return Ok(Progress::InProgress {
                retry_after: reply.retry_after().unwrap_or(BUSY_RETRY),
            });
        }
        // 200/201 without an operation to follow, or 204.
        let prov = serde_json::from_slice::<Value>(reply.body())
            .ok()
            .and_then(|v| {
                v.get("properties")
                    .map(|p| str_field(p, "provisioningState").to_owned())
            })
            .unwrap_or_default();
        if prov.eq_ignore_ascii_case("Failed") {
            Err(Error::OperationFailed {
                code: "ProvisioningFailed".into(),
                message: "ARM reports provisioningState Failed".into(),
            })
        } else if is_running(&prov) {
            Ok(Progress::InProgress {
                retry_after: BUSY_RETRY,
            })
        } else {
            Ok(Progress::Done)
        }
    }
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A `provisioningState` of an operation still running (anything but the
/// terminal `Succeeded`, `Failed`, `Canceled`; empty counts as settled).
fn is_running(provisioning_state: &str) -> bool {
    !provisioning_state.is_empty()
        && !["Succeeded", "Failed", "Canceled"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(provisioning_state))
}
