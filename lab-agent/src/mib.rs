//! The OIDs a lab PE answers, as real PEs do for the same facts:
//! IF-MIB (RFC 2863) for each unit's name, label and 64-bit octet counters;
//! BGP4-MIB (RFC 4273) for each session's state and time established;
//! CISCO-BGP4-MIB's per-peer accepted prefixes (BGP4-MIB has no count);
//! DISMAN-PING-MIB (RFC 4560) for the results of the probes to the other
//! PEs of each link (owner: the far PE, test: the link's VRF).

use std::net::Ipv4Addr;

use crate::snmp::{Mib, Value};

pub(crate) const SYS_DESCR: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 1, 0];
pub(crate) const SYS_UPTIME: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 3, 0];
pub(crate) const SYS_NAME: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 5, 0];
const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
const IF_X_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
const BGP_PEER_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 15, 3, 1];
const CBGP_PEER_PREFIX_ENTRY: [u32; 14] = [1, 3, 6, 1, 4, 1, 9, 9, 187, 1, 2, 4, 1, 1];
const PING_RESULTS_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 80, 1, 3, 1];

/// BGP4-MIB `bgpPeerState`.
pub(crate) const BGP_ESTABLISHED: i64 = 6;
pub(crate) const BGP_ACTIVE: i64 = 3;

fn at(base: &[u32], column: u32, index: &[u32]) -> Vec<u32> {
    let mut oid = base.to_vec();
    oid.push(column);
    oid.extend_from_slice(index);
    oid
}

/// One unit, as IF-MIB rows.
pub(crate) struct IfRow<'a> {
    pub(crate) if_index: u32,
    pub(crate) name: &'a str,
    pub(crate) alias: &'a str,
    pub(crate) in_octets: u64,
    pub(crate) out_octets: u64,
    pub(crate) speed_mbps: u32,
}

pub(crate) fn interface(mib: &mut Mib, r: &IfRow<'_>) {
    let i = [r.if_index];
    mib.insert(at(&IF_ENTRY, 1, &i), Value::Integer(i64::from(r.if_index)));
    mib.insert(at(&IF_ENTRY, 2, &i), Value::String(r.name.to_string()));
    // up(1): a configured unit; whether traffic flows is the session's.
    mib.insert(at(&IF_ENTRY, 8, &i), Value::Integer(1));
    mib.insert(at(&IF_X_ENTRY, 1, &i), Value::String(r.name.to_string()));
    mib.insert(at(&IF_X_ENTRY, 6, &i), Value::Counter64(r.in_octets));
    mib.insert(at(&IF_X_ENTRY, 10, &i), Value::Counter64(r.out_octets));
    mib.insert(at(&IF_X_ENTRY, 15, &i), Value::Gauge32(r.speed_mbps));
    mib.insert(at(&IF_X_ENTRY, 18, &i), Value::String(r.alias.to_string()));
}

/// One BGP session, as BGP4-MIB and CISCO-BGP4-MIB rows.
pub(crate) struct PeerRow {
    pub(crate) address: Ipv4Addr,
    pub(crate) state: i64,
    pub(crate) remote_as: u32,
    pub(crate) established_secs: u32,
    pub(crate) accepted_prefixes: u32,
}

pub(crate) fn bgp_peer(mib: &mut Mib, r: &PeerRow) {
    let i: Vec<u32> = r.address.octets().iter().map(|o| u32::from(*o)).collect();
    mib.insert(at(&BGP_PEER_ENTRY, 2, &i), Value::Integer(r.state));
    // start(2): onramp configured the session; it is never shut by hand.
    mib.insert(at(&BGP_PEER_ENTRY, 3, &i), Value::Integer(2));
    mib.insert(
        at(&BGP_PEER_ENTRY, 7, &i),
        Value::String(r.address.to_string()),
    );
    mib.insert(
        at(&BGP_PEER_ENTRY, 9, &i),
        Value::Integer(i64::from(r.remote_as)),
    );
    mib.insert(
        at(&BGP_PEER_ENTRY, 16, &i),
        Value::Gauge32(r.established_secs),
    );
    // afi ipv4(1), safi unicast(1).
    let mut prefix_index = i;
    prefix_index.extend_from_slice(&[1, 1]);
    let mut oid = CBGP_PEER_PREFIX_ENTRY.to_vec();
    oid.extend_from_slice(&prefix_index);
    mib.insert(oid, Value::Counter32(r.accepted_prefixes));
}

/// One probe test's last results, as DISMAN-PING-MIB's `pingResultsEntry`
/// (round-trip times in milliseconds).
pub(crate) struct PingRow<'a> {
    pub(crate) owner: &'a str,
    pub(crate) test: &'a str,
    pub(crate) min_rtt_ms: u32,
    pub(crate) max_rtt_ms: u32,
    pub(crate) average_rtt_ms: u32,
    pub(crate) responses: u32,
    pub(crate) sent: u32,
    pub(crate) rtt_sum_of_squares: u32,
}

pub(crate) fn ping_results(mib: &mut Mib, r: &PingRow<'_>) {
    // Both indexes are SnmpAdminString (not IMPLIED): length, then octets.
    let mut index = vec![r.owner.len() as u32];
    index.extend(r.owner.bytes().map(u32::from));
    index.push(r.test.len() as u32);
    index.extend(r.test.bytes().map(u32::from));
    let base = &PING_RESULTS_ENTRY;
    // operStatus enabled(1).
    mib.insert(at(base, 1, &index), Value::Integer(1));
    mib.insert(at(base, 4, &index), Value::Gauge32(r.min_rtt_ms));
    mib.insert(at(base, 5, &index), Value::Gauge32(r.max_rtt_ms));
    mib.insert(at(base, 6, &index), Value::Gauge32(r.average_rtt_ms));
    mib.insert(at(base, 7, &index), Value::Gauge32(r.responses));
    mib.insert(at(base, 8, &index), Value::Gauge32(r.sent));
    mib.insert(at(base, 9, &index), Value::Gauge32(r.rtt_sum_of_squares));
}
