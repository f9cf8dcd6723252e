//! Hosted connections: a slice of the partner's interconnect (bandwidth, one
//! VLAN) offered to a customer account, which accepts it with
//! ConfirmConnection and then creates its own VIF on it.
//!
//! Same idempotency rules as the hosted VIFs:
//! - [`DxClient::ensure_hosted_connection`] keys on the connection name per
//!   interconnect and allocates only when no live connection has it;
//! - [`DxClient::delete_connection`] treats "already gone" as success.

use aws_sdk_directconnect::types::{Connection, ConnectionState};
use serde::{Deserialize, Serialize};

use crate::DxClient;
use crate::error::{self, Error};

/// The bandwidths AWS accepts for a hosted connection (1Gbps and more only for
/// qualified partners), spelled as AWS spells them.
pub const HOSTED_BANDWIDTHS: &[&str] = &[
    "50Mbps", "100Mbps", "200Mbps", "300Mbps", "400Mbps", "500Mbps", "1Gbps", "2Gbps", "5Gbps",
    "10Gbps", "25Gbps",
];

/// A hosted connection to allocate on the partner's interconnect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedConnectionRequest {
    /// The partner interconnect (or LAG), `dxcon-...`.
    pub interconnect_id: String,
    /// The customer's 12-digit AWS account id.
    pub owner_account: String,
    /// One of [`HOSTED_BANDWIDTHS`]; AWS has the last word.
    pub bandwidth: String,
    /// Idempotency key: one live hosted connection per name and interconnect.
    pub name: String,
    pub vlan: u16,
}

/// A hosted connection as Direct Connect reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedConnection {
    /// `dxcon-...`
    pub id: String,
    pub name: String,
    /// AWS wire string: `ordering` (until the customer confirms), `pending`,
    /// `available`, `down`, `deleting`, `deleted`, `rejected` (the customer
    /// declined), ...
    pub state: String,
    pub owner_account: String,
    pub bandwidth: String,
    pub vlan: u16,
}

impl HostedConnection {
    /// Not on its way out: any state but `deleting`, `deleted`, `rejected`.
    pub fn is_live(&self) -> bool {
        !matches!(self.state.as_str(), "deleting" | "deleted" | "rejected")
    }

    /// Differences from what `req` asks for, if any.
    fn mismatches(&self, req: &HostedConnectionRequest) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |field: &str, have: &str, want: &str| {
            if have != want {
                out.push(format!("{field} is {have}, requested {want}"));
            }
        };
        check("owner account", &self.owner_account, &req.owner_account);
        check("bandwidth", &self.bandwidth, &req.bandwidth);
        check("VLAN", &self.vlan.to_string(), &req.vlan.to_string());
        out
    }
}

/// Builds a [`HostedConnection`] from any SDK shape that carries a
/// Connection's members (Allocate and Delete repeat them at top level).
macro_rules! hosted_from_sdk {
    ($c:expr) => {{
        let c = $c;
        HostedConnection {
            id: c.connection_id().unwrap_or_default().to_owned(),
            name: c.connection_name().unwrap_or_default().to_owned(),
            state: c
                .connection_state()
                .map_or("unknown", ConnectionState::as_str)
                .to_owned(),
            owner_account: c.owner_account().unwrap_or_default().to_owned(),
            bandwidth: c.bandwidth().unwrap_or_default().to_owned(),
            vlan: u16::try_from(c.vlan()).unwrap_or_default(),
        }
    }};
}

impl DxClient {
    /// Looks up a live (not deleting/deleted/rejected) hosted connection with
    /// this name on the interconnect first (DescribeHostedConnections); only
    /// allocates when none exists. A live one with the name but another owner,
    /// bandwidth or VLAN is an [`Error::ConnectionConflict`].
    pub async fn ensure_hosted_connection(
        &self,
        req: &HostedConnectionRequest,
    ) -> Result<HostedConnection, Error> {
        if let Some(existing) = self
            .find_hosted_connection_by_name(&req.interconnect_id, &req.name)
            .await?
        {
            let mismatches = existing.mismatches(req);
            if !mismatches.is_empty() {
                return Err(Error::ConnectionConflict {
                    connection_id: existing.id,
                    name: req.name.clone(),
                    details: mismatches.join("; "),
                });
            }
            tracing::debug!(
                connection = %existing.id, name = %req.name, "hosted connection already allocated"
            );
            return Ok(existing);
        }

        let out = self
            .client
            .allocate_hosted_connection()
            .connection_id(&req.interconnect_id)
            .owner_account(&req.owner_account)
            .bandwidth(&req.bandwidth)
            .connection_name(&req.name)
            .vlan(i32::from(req.vlan))
            .send()
            .await
            .map_err(|e| Error::from_sdk("AllocateHostedConnection", e))?;
        let conn = hosted_from_sdk!(&out);
        tracing::info!(
            connection = %conn.id, name = %req.name, owner = %req.owner_account,
            bandwidth = %req.bandwidth, vlan = req.vlan, "hosted connection allocated"
        );
        Ok(conn)
    }

    /// The hosted connection as AWS lists it on the interconnect (deleted and
    /// rejected ones included while AWS still lists them); `None` when it is
    /// not there.
    pub async fn describe_hosted_connection(
        &self,
        interconnect_id: &str,
        id: &str,
    ) -> Result<Option<HostedConnection>, Error> {
        Ok(self
            .hosted_connections(interconnect_id)
            .await?
            .into_iter()
            .find(|c| c.id == id))
    }

    /// The newest live hosted connection named `name` on the interconnect
    /// ("newest" as for [`DxClient::find_vif_by_name`]: the last one listed).
    pub async fn find_hosted_connection_by_name(
        &self,
        interconnect_id: &str,
        name: &str,
    ) -> Result<Option<HostedConnection>, Error> {
        let mut found: Vec<HostedConnection> = self
            .hosted_connections(interconnect_id)
            .await?
            .into_iter()
            .filter(|c| c.name == name && c.is_live())
            .collect();
        if found.len() > 1 {
            tracing::warn!(
                name,
                interconnect_id,
                count = found.len(),
                "several live hosted connections share one name; using the last listed"
            );
        }
        Ok(found.pop())
    }

    /// Deletes the connection (the customer's VIF on it goes with it).
    /// Deleting something unknown, already deleted, deleting or rejected is
    /// success.
    pub async fn delete_connection(&self, id: &str) -> Result<(), Error> {
        let err = match self
            .client
            .delete_connection()
            .connection_id(id)
            .send()
            .await
        {
            Ok(out) => {
                tracing::info!(
                    connection = id,
                    state = out.connection_state().map(ConnectionState::as_str),
                    "connection deletion requested"
                );
                return Ok(());
            }
            Err(e) if error::is_not_found(&e) => {
                tracing::debug!(connection = id, "connection to delete does not exist");
                return Ok(());
            }
            Err(e) => Error::from_sdk("DeleteConnection", e),
        };
        if err.is_retryable() {
            return Err(err);
        }
        // As for VIFs: whether AWS refused because the connection is already
        // on its way out is only visible in its state.
        match self.locate_connection(id).await? {
            None => Ok(()),
            Some(conn) if !conn.is_live() => {
                tracing::debug!(connection = id, state = %conn.state, "connection already gone");
                Ok(())
            }
            Some(_) => Err(err),
        }
    }

    /// Every hosted connection on the interconnect, all pages, in AWS's order.
    async fn hosted_connections(
        &self,
        interconnect_id: &str,
    ) -> Result<Vec<HostedConnection>, Error> {
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_hosted_connections()
                .connection_id(interconnect_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| Error::from_sdk("DescribeHostedConnections", e))?;
            found.extend(
                out.connections()
                    .iter()
                    .map(|c: &Connection| hosted_from_sdk!(c)),
            );
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Finds a connection by id alone: among the caller's own connections (a
    /// customer's hosted connections), else on each of the caller's
    /// interconnects (the partner's view).
    async fn locate_connection(&self, id: &str) -> Result<Option<HostedConnection>, Error> {
        match self
            .client
            .describe_connections()
            .connection_id(id)
            .send()
            .await
        {
            Ok(out) => {
                if let Some(c) = out
                    .connections()
                    .iter()
                    .find(|c| c.connection_id() == Some(id))
                {
                    return Ok(Some(hosted_from_sdk!(c)));
                }
            }
            Err(e) if error::is_not_found(&e) => {}
            Err(e) => return Err(Error::from_sdk("DescribeConnections", e)),
        }
        let interconnects = self
            .client
            .describe_interconnects()
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeInterconnects", e))?;
        for interconnect_id in interconnects
            .interconnects()
            .iter()
            .filter_map(|i| i.interconnect_id())
        {
            if let Some(conn) = self.describe_hosted_connection(interconnect_id, id).await? {
                return Ok(Some(conn));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> HostedConnection {
        HostedConnection {
            id: "dxcon-abcd1234".to_owned(),
            name: "hc".to_owned(),
            state: "ordering".to_owned(),
            owner_account: "444455556666".to_owned(),
            bandwidth: "500Mbps".to_owned(),
            vlan: 300,
        }
    }

    #[test]
    fn liveness_follows_aws_states() {
        for (state, live) in [
            ("ordering", true),
            ("pending", true),
            ("available", true),
            ("down", true),
            ("deleting", false),
            ("deleted", false),
            ("rejected", false),
        ] {
            let c = HostedConnection {
                state: state.to_owned(),
                ..conn()
            };
            assert_eq!(c.is_live(), live, "{state}");
        }
    }

    #[test]
    fn mismatches_name_each_differing_field() {
        let req = HostedConnectionRequest {
            interconnect_id: "dxcon-x".to_owned(),
            owner_account: "444455556666".to_owned(),
            bandwidth: "500Mbps".to_owned(),
            name: "hc".to_owned(),
            vlan: 300,
        };
        assert!(conn().mismatches(&req).is_empty());
        let other = HostedConnectionRequest {
            bandwidth: "1Gbps".to_owned(),
            vlan: 301,
            ..req
        };
        assert_eq!(
            conn().mismatches(&other),
            vec![
                "bandwidth is 500Mbps, requested 1Gbps",
                "VLAN is 300, requested 301"
            ]
        );
    }

    #[test]
    fn bandwidths_are_the_documented_ones() {
        assert_eq!(HOSTED_BANDWIDTHS.len(), 11);
        assert_eq!(HOSTED_BANDWIDTHS.first(), Some(&"50Mbps"));
        assert_eq!(HOSTED_BANDWIDTHS.last(), Some(&"25Gbps"));
    }
}
