//! Partner-side AWS Direct Connect client: hosted private VIFs and hosted
//! connections on the operator's interconnects, through the official
//! `aws-sdk-directconnect`.
//!
//! Every operation is idempotent, because the worker may be killed and its job
//! redelivered at any point:
//! - [`DxClient::ensure_private_vif`] keys on the VIF name: it looks for a live
//!   VIF with that name on the interconnect before allocating, so a retry after
//!   a lost reply finds the VIF the first attempt created.
//!   [`DxClient::ensure_hosted_connection`] does the same with the connection
//!   name.
//! - [`DxClient::delete_vif`] and [`DxClient::delete_connection`] treat
//!   "already gone" as success.
//!
//! The SDK retries once (two attempts) with a short backoff; anything longer
//! is the job queue's business, guided by [`Error::is_retryable`].

mod error;
mod hosted;
mod listings;
mod signals;

use std::time::Duration;

use aws_sdk_directconnect::Client;
use aws_sdk_directconnect::config::retry::RetryConfig;
use aws_sdk_directconnect::config::timeout::TimeoutConfig;
use aws_sdk_directconnect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_directconnect::types::{
    AddressFamily, BgpStatus, NewPrivateVirtualInterfaceAllocation, VirtualInterface,
    VirtualInterfaceState,
};
use serde::{Deserialize, Serialize};

pub use self::error::Error;
pub use self::hosted::{HOSTED_BANDWIDTHS, HostedConnection, HostedConnectionRequest};
pub use self::listings::VifListings;

const MAX_ATTEMPTS: u32 = 2;
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// `asn` carries 1..=2147483646; anything else goes in `asnLong`.
const ASN_MAX: u32 = 2_147_483_646;

/// Where and as whom to call Direct Connect.
#[derive(Clone, Deserialize)]
pub struct DxConfig {
    /// e.g. `http://127.0.0.1:4566` for the simulator. Empty: AWS's regional
    /// endpoint for `region`.
    pub endpoint_url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for DxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DxConfig")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// A hosted private VIF to allocate on the partner's interconnect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VifRequest {
    /// The partner interconnect, `dxcon-...`.
    pub connection_id: String,
    /// The customer's 12-digit AWS account id.
    pub owner_account: String,
    /// Idempotency key: one live VIF per name and interconnect.
    pub name: String,
    pub vlan: u16,
    /// Customer-side BGP ASN.
    pub asn: u32,
    /// e.g. `169.254.x.y/31`.
    pub amazon_address: String,
    pub customer_address: String,
    /// BGP MD5 key, 6..80 characters.
    pub auth_key: String,
}

/// A virtual interface as Direct Connect reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vif {
    pub id: String,
    pub name: String,
    /// AWS wire string: `confirming`, `pending`, `available`, `down`,
    /// `deleting`, `deleted`, `rejected`, ...
    pub state: String,
    pub vlan: u16,
    pub asn: u32,
    pub amazon_address: String,
    pub customer_address: String,
    pub owner_account: String,
    /// At least one BGP peer reports `up`.
    pub bgp_up: bool,
    pub amazon_side_asn: Option<u32>,
}

impl Vif {
    /// Not on its way out: any state but `deleting`, `deleted`, `rejected`.
    pub fn is_live(&self) -> bool {
        !matches!(self.state.as_str(), "deleting" | "deleted" | "rejected")
    }

    /// Differences from what `req` asks for, if any.
    fn mismatches(&self, req: &VifRequest) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |field: &str, have: String, want: String| {
            if have != want {
                out.push(format!("{field} is {have}, requested {want}"));
            }
        };
        check(
            "owner account",
            self.owner_account.clone(),
            req.owner_account.clone(),
        );
        check("VLAN", self.vlan.to_string(), req.vlan.to_string());
        check("ASN", self.asn.to_string(), req.asn.to_string());
        check(
            "Amazon address",
            self.amazon_address.clone(),
            req.amazon_address.clone(),
        );
        check(
            "customer address",
            self.customer_address.clone(),
            req.customer_address.clone(),
        );
        out
    }
}

/// Builds a [`Vif`] from any SDK shape that carries a VirtualInterface's
/// members (the Allocate output repeats them at top level).
macro_rules! vif_from_sdk {
    ($v:expr) => {{
        let v = $v;
        Vif {
            id: v.virtual_interface_id().unwrap_or_default().to_owned(),
            name: v.virtual_interface_name().unwrap_or_default().to_owned(),
            state: v
                .virtual_interface_state()
                .map_or("unknown", VirtualInterfaceState::as_str)
                .to_owned(),
            vlan: u16::try_from(v.vlan()).unwrap_or_default(),
            // asnLong is authoritative; asn reads 0 for 4-byte ASNs.
            asn: v
                .asn_long()
                .filter(|a| *a > 0)
                .and_then(|a| u32::try_from(a).ok())
                .or_else(|| u32::try_from(v.asn()).ok())
                .unwrap_or_default(),
            amazon_address: v.amazon_address().unwrap_or_default().to_owned(),
            customer_address: v.customer_address().unwrap_or_default().to_owned(),
            owner_account: v.owner_account().unwrap_or_default().to_owned(),
            bgp_up: v
                .bgp_peers()
                .iter()
                .any(|p| p.bgp_status() == Some(&BgpStatus::Up)),
            amazon_side_asn: v.amazon_side_asn().and_then(|a| u32::try_from(a).ok()),
        }
    }};
}

/// Direct Connect as the partner (or, with a customer's keys, as that customer).
#[derive(Clone, Debug)]
pub struct DxClient {
    client: Client,
}

impl DxClient {
    pub fn new(cfg: &DxConfig) -> Self {
        let credentials = Credentials::new(
            &cfg.access_key_id,
            &cfg.secret_access_key,
            None,
            None,
            "onramp-static",
        );
        let mut builder = aws_sdk_directconnect::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(credentials)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .interceptor(signals::CallSignals);
        if !cfg.endpoint_url.is_empty() {
            builder = builder.endpoint_url(&cfg.endpoint_url);
        }
        Self {
            client: Client::from_conf(builder.build()),
        }
    }

    /// The underlying SDK client, for calls this adapter does not wrap (e.g.
    /// the customer's ConfirmPrivateVirtualInterface in the demo).
    pub fn sdk(&self) -> &Client {
        &self.client
    }

    /// Looks up a live (not deleted/rejected/deleting) VIF with this name on the
    /// interconnect first; only allocates when none exists. A live VIF with the
    /// name but other parameters is an [`Error::Conflict`].
    pub async fn ensure_private_vif(&self, req: &VifRequest) -> Result<Vif, Error> {
        if let Some(existing) = self.find_vif_by_name(&req.connection_id, &req.name).await? {
            let mismatches = existing.mismatches(req);
            if !mismatches.is_empty() {
                return Err(Error::Conflict {
                    vif_id: existing.id,
                    name: req.name.clone(),
                    details: mismatches.join("; "),
                });
            }
            tracing::debug!(vif = %existing.id, name = %req.name, "hosted VIF already allocated");
            return Ok(existing);
        }

        let mut alloc = NewPrivateVirtualInterfaceAllocation::builder()
            .virtual_interface_name(&req.name)
            .vlan(i32::from(req.vlan))
            .auth_key(&req.auth_key)
            .amazon_address(&req.amazon_address)
            .customer_address(&req.customer_address)
            .address_family(AddressFamily::IPv4);
        alloc = match i32::try_from(req.asn) {
            Ok(asn) if (1..=ASN_MAX).contains(&req.asn) => alloc.asn(asn),
            _ => alloc.asn_long(i64::from(req.asn)),
        };
        let alloc = alloc.build().map_err(|e| Error::Rejected {
            operation: "AllocatePrivateVirtualInterface",
            message: e.to_string(),
        })?;
        let out = self
            .client
            .allocate_private_virtual_interface()
            .connection_id(&req.connection_id)
            .owner_account(&req.owner_account)
            .new_private_virtual_interface_allocation(alloc)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = Error::from_sdk("AllocatePrivateVirtualInterface", e);
                // Another run of this same step may have allocated it
                // between the lookup above and this call (a worker whose
                // lease ran out while AWS was slow): AWS then refuses ours,
                // e.g. for the VLAN, and the VIF under our name is the
                // answer, not a failure.
                if !e.is_retryable()
                    && let Ok(Some(existing)) =
                        self.find_vif_by_name(&req.connection_id, &req.name).await
                    && existing.mismatches(req).is_empty()
                {
                    tracing::info!(vif = %existing.id, name = %req.name, refused = %e,
                        "hosted VIF allocated by a concurrent run of the same step");
                    return Ok(existing);
                }
                return Err(e);
            }
        };
        let vif = vif_from_sdk!(&out);
        tracing::info!(
            vif = %vif.id, name = %req.name, owner = %req.owner_account, vlan = req.vlan,
            "hosted VIF allocated"
        );
        Ok(vif)
    }

    /// The newest live VIF named `name` on the interconnect. AWS reports no
    /// creation time, so "newest" is the last match in AWS's listing order
    /// (allocation order in the simulator).
    pub async fn find_vif_by_name(
        &self,
        connection_id: &str,
        name: &str,
    ) -> Result<Option<Vif>, Error> {
        let mut found: Vec<Vif> = self
            .vifs_on_connection(connection_id)
            .await?
            .into_iter()
            .filter(|v| v.name == name && v.is_live())
            .collect();
        if found.len() > 1 {
            tracing::warn!(
                name,
                connection_id,
                count = found.len(),
                "several live VIFs share one name; using the last listed"
            );
        }
        Ok(found.pop())
    }

    /// The VIFs on a connection, every state, all pages, in AWS's order: the
    /// hosted VIFs on an interconnect, or the customer's VIF on a hosted
    /// connection (which the partner sees too). An unknown connection is
    /// [`Error::Rejected`] ("Could not find Connection ...").
    pub async fn vifs_on_connection(&self, connection_id: &str) -> Result<Vec<Vif>, Error> {
        let mut found: Vec<Vif> = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_virtual_interfaces()
                .connection_id(connection_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| Error::from_sdk("DescribeVirtualInterfaces", e))?;
            found.extend(out.virtual_interfaces().iter().map(|v| vif_from_sdk!(v)));
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// The VIF as AWS reports it (deleted ones included while AWS still lists
    /// them); `None` when AWS says it does not exist.
    pub async fn describe_vif(&self, vif_id: &str) -> Result<Option<Vif>, Error> {
        match self
            .client
            .describe_virtual_interfaces()
            .virtual_interface_id(vif_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .virtual_interfaces()
                .iter()
                .find(|v| v.virtual_interface_id() == Some(vif_id))
                .map(|v: &VirtualInterface| vif_from_sdk!(v))),
            Err(e) if error::is_not_found(&e) => Ok(None),
            Err(e) => Err(Error::from_sdk("DescribeVirtualInterfaces", e)),
        }
    }

    /// Deletes the VIF. Deleting something already deleted, deleting, rejected
    /// or unknown is success.
    pub async fn delete_vif(&self, vif_id: &str) -> Result<(), Error> {
        let err = match self
            .client
            .delete_virtual_interface()
            .virtual_interface_id(vif_id)
            .send()
            .await
        {
            Ok(out) => {
                tracing::info!(
                    vif = vif_id,
                    state = out
                        .virtual_interface_state()
                        .map(VirtualInterfaceState::as_str),
                    "VIF deletion requested"
                );
                return Ok(());
            }
            Err(e) if error::is_not_found(&e) => {
                tracing::debug!(vif = vif_id, "VIF to delete does not exist");
                return Ok(());
            }
            Err(e) => Error::from_sdk("DeleteVirtualInterface", e),
        };
        if err.is_retryable() {
            return Err(err);
        }
        // AWS refuses to delete what is already on its way out; whether that is
        // why it refused is only visible in the VIF's state.
        match self.describe_vif(vif_id).await? {
            None => Ok(()),
            Some(vif) if !vif.is_live() => {
                tracing::debug!(vif = vif_id, state = %vif.state, "VIF already gone");
                Ok(())
            }
            Some(_) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vif() -> Vif {
        Vif {
            id: "dxvif-abcd1234".to_owned(),
            name: "svc".to_owned(),
            state: "available".to_owned(),
            vlan: 10,
            asn: 65000,
            amazon_address: "169.254.0.0/31".to_owned(),
            customer_address: "169.254.0.1/31".to_owned(),
            owner_account: "444455556666".to_owned(),
            bgp_up: true,
            amazon_side_asn: Some(64512),
        }
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let cfg = DxConfig {
            endpoint_url: String::new(),
            region: "us-east-1".to_owned(),
            access_key_id: "AKIAX".to_owned(),
            secret_access_key: "very-secret".to_owned(),
        };
        let shown = format!("{cfg:?}");
        assert!(
            shown.contains("AKIAX") && !shown.contains("very-secret"),
            "{shown}"
        );
    }

    #[test]
    fn liveness_follows_aws_states() {
        for (state, live) in [
            ("confirming", true),
            ("pending", true),
            ("available", true),
            ("down", true),
            ("deleting", false),
            ("deleted", false),
            ("rejected", false),
        ] {
            let v = Vif {
                state: state.to_owned(),
                ..vif()
            };
            assert_eq!(v.is_live(), live, "{state}");
        }
    }

    #[test]
    fn mismatches_name_each_differing_field() {
        let req = VifRequest {
            connection_id: "dxcon-x".to_owned(),
            owner_account: "444455556666".to_owned(),
            name: "svc".to_owned(),
            vlan: 10,
            asn: 65000,
            amazon_address: "169.254.0.0/31".to_owned(),
            customer_address: "169.254.0.1/31".to_owned(),
            auth_key: "whatever".to_owned(),
        };
        assert!(vif().mismatches(&req).is_empty());
        let other = VifRequest {
            vlan: 11,
            asn: 65001,
            ..req
        };
        assert_eq!(
            vif().mismatches(&other),
            vec!["VLAN is 10, requested 11", "ASN is 65000, requested 65001"]
        );
    }
}
