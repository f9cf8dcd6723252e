//! SNMPv2c over UDP: Get, GetNext and GetBulk over a MIB view, as any
//! managed device answers them. Requests with another community are
//! dropped unanswered (RFC 3584's behaviour for an unknown community), and
//! so is anything that does not decode: a manager then times out, as it
//! would against a real device.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_smi::v2::{ApplicationSyntax, Counter64, ObjectSyntax, SimpleSyntax};
use rasn_snmp::v2::{
    BulkPdu, GetBulkRequest, GetNextRequest, GetRequest, Pdu, Pdus, Response, VarBind, VarBindValue,
};
use rasn_snmp::v2c::Message;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// One value of the view, typed as SMIv2 types it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Integer(i64),
    String(String),
    Counter32(u32),
    Counter64(u64),
    Gauge32(u32),
    TimeTicks(u32),
}

impl Value {
    fn syntax(&self) -> ObjectSyntax {
        match self {
            Value::Integer(i) => ObjectSyntax::Simple(SimpleSyntax::Integer(Integer::from(*i))),
            Value::String(s) => ObjectSyntax::Simple(SimpleSyntax::String(OctetString::from(
                s.as_bytes().to_vec(),
            ))),
            Value::Counter32(c) => {
                ObjectSyntax::ApplicationWide(ApplicationSyntax::Counter(rasn_smi::v1::Counter(*c)))
            }
            Value::Counter64(c) => {
                ObjectSyntax::ApplicationWide(ApplicationSyntax::BigCounter(Counter64(*c)))
            }
            Value::Gauge32(g) => {
                ObjectSyntax::ApplicationWide(ApplicationSyntax::Unsigned(rasn_smi::v1::Gauge(*g)))
            }
            Value::TimeTicks(t) => {
                ObjectSyntax::ApplicationWide(ApplicationSyntax::Ticks(rasn_smi::v1::TimeTicks(*t)))
            }
        }
    }
}

/// The agent's MIB: OIDs in lexicographic order, which is SNMP's order.
pub(crate) type Mib = BTreeMap<Vec<u32>, Value>;

/// Most variable bindings one GetBulk answers, whatever it asks: a real
/// agent stops at its message size; this keeps a response well inside one
/// loopback datagram.
const BULK_LIMIT: usize = 512;

/// Serves `mib` (replaced as the PE changes) on `socket` until the task is
/// dropped.
pub(crate) async fn serve(socket: UdpSocket, community: Arc<str>, mib: watch::Receiver<Arc<Mib>>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "SNMP socket");
                continue;
            }
        };
        let view = mib.borrow().clone();
        if let Some(reply) = answer(&buf[..n], &community, &view) {
            send(&socket, peer, &reply).await;
        }
    }
}

async fn send(socket: &UdpSocket, peer: SocketAddr, reply: &[u8]) {
    if let Err(e) = socket.send_to(reply, peer).await {
        tracing::debug!(%peer, error = %e, "SNMP reply not sent");
    }
}

/// The encoded response to one request datagram, or None when it gets no
/// answer (undecodable, not v2c, wrong community, not a request).
pub(crate) fn answer(datagram: &[u8], community: &str, mib: &Mib) -> Option<Vec<u8>> {
    let msg: Message<Pdus> = rasn::ber::decode(datagram).ok()?;
    if msg.version != Integer::from(1) || msg.community.as_ref() != community.as_bytes() {
        return None;
    }
    let pdu = match msg.data {
        Pdus::GetRequest(GetRequest(p)) => get(p, mib),
        Pdus::GetNextRequest(GetNextRequest(p)) => get_next(p, mib),
        Pdus::GetBulkRequest(GetBulkRequest(p)) => get_bulk(p, mib),
        _ => return None,
    };
    let reply = Message {
        version: msg.version,
        community: msg.community,
        data: Pdus::Response(Response(pdu)),
    };
    rasn::ber::encode(&reply).ok()
}

fn oid_of(name: &ObjectIdentifier) -> Vec<u32> {
    name.to_vec()
}

fn bind(oid: Vec<u32>, value: VarBindValue) -> VarBind {
    VarBind {
        name: ObjectIdentifier::new_unchecked(oid.into()),
        value,
    }
}

fn response(request_id: i32, variable_bindings: Vec<VarBind>) -> Pdu {
    Pdu {
        request_id,
        error_status: Pdu::ERROR_STATUS_NO_ERROR,
        error_index: 0,
        variable_bindings,
    }
}

fn get(p: Pdu, mib: &Mib) -> Pdu {
    let binds = p
        .variable_bindings
        .iter()
        .map(|vb| {
            let oid = oid_of(&vb.name);
            let value = match mib.get(&oid) {
                Some(v) => VarBindValue::Value(v.syntax()),
                // An instance of an object the agent has is NoSuchInstance;
                // anything else NoSuchObject (RFC 3416, 4.2.1).
                None if mib.keys().any(|k| oid.starts_with(&k[..k.len() - 1])) => {
                    VarBindValue::NoSuchInstance
                }
                None => VarBindValue::NoSuchObject,
            };
            bind(oid, value)
        })
        .collect();
    response(p.request_id, binds)
}

/// The first binding after `oid`, or `endOfMibView` at `oid`.
fn next_after(oid: &[u32], mib: &Mib) -> VarBind {
    use std::ops::Bound::{Excluded, Unbounded};
    match mib.range::<[u32], _>((Excluded(oid), Unbounded)).next() {
        Some((k, v)) => bind(k.clone(), VarBindValue::Value(v.syntax())),
        None => bind(oid.to_vec(), VarBindValue::EndOfMibView),
    }
}

fn get_next(p: Pdu, mib: &Mib) -> Pdu {
    let binds = p
        .variable_bindings
        .iter()
        .map(|vb| next_after(&oid_of(&vb.name), mib))
        .collect();
    response(p.request_id, binds)
}

fn get_bulk(p: BulkPdu, mib: &Mib) -> Pdu {
    let non_repeaters = (p.non_repeaters as usize).min(p.variable_bindings.len());
    let (singles, repeaters) = p.variable_bindings.split_at(non_repeaters);
    let mut binds: Vec<VarBind> = singles
        .iter()
        .map(|vb| next_after(&oid_of(&vb.name), mib))
        .collect();
    let mut cursors: Vec<Vec<u32>> = repeaters.iter().map(|vb| oid_of(&vb.name)).collect();
    // Row by row, as RFC 3416 4.2.3 lays the repetitions out.
    'rows: for _ in 0..p.max_repetitions {
        let mut all_ended = true;
        for cursor in &mut cursors {
            if binds.len() >= BULK_LIMIT {
                break 'rows;
            }
            let vb = next_after(cursor, mib);
            if !matches!(vb.value, VarBindValue::EndOfMibView) {
                all_ended = false;
                *cursor = oid_of(&vb.name);
            }
            binds.push(vb);
        }
        if all_ended {
            break;
        }
    }
    response(p.request_id, binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mib() -> Mib {
        let mut m = Mib::new();
        m.insert(vec![1, 3, 6, 1, 2, 1, 1, 5, 0], Value::String("pe1".into()));
        m.insert(
            vec![1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1],
            Value::Counter64(1 << 40),
        );
        m.insert(
            vec![1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2],
            Value::Counter64(7),
        );
        m
    }

    fn request(community: &str, pdus: Pdus) -> Vec<u8> {
        rasn::ber::encode(&Message {
            version: Integer::from(1),
            community: OctetString::from(community.as_bytes().to_vec()),
            data: pdus,
        })
        .unwrap()
    }

    fn pdu(oids: &[&[u32]]) -> Pdu {
        Pdu {
            request_id: 42,
            error_status: 0,
            error_index: 0,
            variable_bindings: oids
                .iter()
                .map(|o| bind(o.to_vec(), VarBindValue::Unspecified))
                .collect(),
        }
    }

    fn answered(bytes: Vec<u8>) -> Pdu {
        let m: Message<Pdus> = rasn::ber::decode(&bytes).unwrap();
        let Pdus::Response(Response(p)) = m.data else {
            panic!("not a response")
        };
        assert_eq!(p.request_id, 42);
        p
    }

    #[test]
    fn get_answers_values_and_says_what_is_missing() {
        let req = request(
            "lab",
            Pdus::GetRequest(GetRequest(pdu(&[
                &[1, 3, 6, 1, 2, 1, 1, 5, 0],
                &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 9],
                &[1, 3, 6, 1, 4, 1],
            ]))),
        );
        let p = answered(answer(&req, "lab", &mib()).unwrap());
        assert_eq!(
            p.variable_bindings[0].value,
            VarBindValue::Value(Value::String("pe1".into()).syntax())
        );
        assert_eq!(p.variable_bindings[1].value, VarBindValue::NoSuchInstance);
        assert_eq!(p.variable_bindings[2].value, VarBindValue::NoSuchObject);
    }

    #[test]
    fn get_next_and_bulk_walk_in_order_to_the_end() {
        let req = request(
            "lab",
            Pdus::GetNextRequest(GetNextRequest(pdu(&[&[1, 3, 6, 1, 2, 1, 31]]))),
        );
        let p = answered(answer(&req, "lab", &mib()).unwrap());
        assert_eq!(
            oid_of(&p.variable_bindings[0].name),
            [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1]
        );
        let bulk = BulkPdu {
            request_id: 42,
            non_repeaters: 0,
            max_repetitions: 10,
            variable_bindings: vec![bind(vec![1, 3, 6, 1, 2, 1, 31], VarBindValue::Unspecified)],
        };
        let req = request("lab", Pdus::GetBulkRequest(GetBulkRequest(bulk)));
        let p = answered(answer(&req, "lab", &mib()).unwrap());
        let values: Vec<&VarBindValue> = p.variable_bindings.iter().map(|v| &v.value).collect();
        assert_eq!(values.len(), 3, "{values:?}");
        assert_eq!(*values[2], VarBindValue::EndOfMibView);
    }

    #[test]
    fn another_community_or_garbage_gets_no_answer() {
        let req = request("public", Pdus::GetRequest(GetRequest(pdu(&[&[1, 3]]))));
        assert!(answer(&req, "lab", &mib()).is_none());
        assert!(answer(b"\x30\x03nope", "lab", &mib()).is_none());
    }
}
