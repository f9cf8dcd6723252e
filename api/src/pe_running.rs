//! A PE's running configuration, read over NETCONF for a plan (a link's
//! move, a connector's change): the same read the PE's writer makes, so
//! "before" is what the PE carries now, not what onramp believes.

use std::time::Duration;

use onramp_pe_netconf::{ApplyOptions, PeTarget};
use onramp_store::entity::pe_router;

use crate::AppState;

/// The running configuration of `pe`; Err says why it could not be read,
/// for the plan to show instead of its facts.
pub(crate) async fn read(state: &AppState, pe: &pe_router::Model) -> Result<String, String> {
    let password = state
        .secrets
        .open(&pe.password)
        .map_err(|e| format!("PE credentials unreadable: {e}"))?;
    let target = PeTarget {
        name: pe.name.clone(),
        host: pe.host.clone(),
        port: u16::try_from(pe.port).unwrap_or_default(),
        username: pe.username.clone(),
        password,
        host_key_fingerprint: pe.host_key_fingerprint.clone(),
    };
    let opts = ApplyOptions {
        connect_timeout: Duration::from_secs(10),
        rpc_timeout: Duration::from_secs(15),
        ..ApplyOptions::default()
    };
    onramp_pe_netconf::get_running_with(&target, &opts)
        .await
        .map_err(|e| format!("reading PE {}: {e}", pe.name))
}
