//! Partner-side Google Cloud Partner Interconnect client: Compute v1
//! `interconnectAttachments` of type `PARTNER_PROVIDER` over `reqwest`.
//!
//! A customer creates a `PARTNER` attachment in their project and gets a
//! *pairing key* (`<uuid>/<region>/<1|2>`: the region and the edge
//! availability domain they want). The partner's side of the life cycle:
//!
//! 1. [`PiClient::ensure_attachment`]: create our `PARTNER_PROVIDER`
//!    attachment for that key on one of our interconnects in the key's
//!    region and domain, with the VLAN we picked on that interconnect.
//!    Google picks a /29 from 169.254.0.0/16: `cloud_router_ip` (`.1`) is
//!    Google's Cloud Router, `customer_router_ip` (`.2`) the customer's side,
//!    which is ours when we run BGP for the customer.
//! 2. [`PiClient::get_attachment`] until the customer activates it: the
//!    state goes `PENDING_CUSTOMER` → `ACTIVE`. `DEFUNCT` means the customer
//!    deleted theirs.
//! 3. [`PiClient::delete_attachment`] on teardown (or once `DEFUNCT`).
//!
//! Every call is idempotent, since the worker may die and its job be
//! redelivered at any point. `ensure_attachment` reads first and creates
//! nothing when the attachment exists; otherwise it inserts with a
//! `requestId` derived from the request (project, region, name,
//! interconnect, pairing key, VLAN, bandwidth) so that an insert sent again
//! after a crash gets the first insert's operation back from Google instead
//! of creating anything. Google remembers request ids for a while, also
//! those of operations that failed or of attachments deleted since; an
//! insert answered with an operation that had already finished is such a
//! replay, and the client moves on to the next of a few derived ids (see
//! `MAX_REQUEST_GENERATIONS`). Deletes do the same, keyed on the
//! attachment's Google id.
//!
//! Writes are Compute operations: a call follows one (`operations/{op}/wait`)
//! for at most [`GcpConfig::op_budget`], then leaves it running and says
//! [`Progress::InProgress`]; calling again picks it up. Throttling (429) is
//! slept off (`Retry-After`) within [`GcpConfig::max_throttle_wait`] per
//! call. The access token comes from the metadata server, is cached, shared
//! by clones, renewed before it expires, and fetched anew once if Compute
//! answers 401. Tokens are never logged nor put in an error or `Debug`
//! output.

mod auth;
mod compute;
mod config;
mod error;
mod model;

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use serde_json::Value;

use self::compute::{Call, Compute, ComputeReply, Operation};
pub use self::config::GcpConfig;
use self::error::BUSY_RETRY;
pub use self::error::Error;
pub use self::model::{
    Attachment, AttachmentRequest, BANDWIDTHS, PairingKey, Progress, parse_pairing_key,
};
use self::model::{is_rfc1035, request_id};

const ATTACHMENTS: &str = "interconnectAttachments";
/// How many derived request ids one attachment (or one delete) may go
/// through: each operation that failed, or that created an attachment that
/// is gone since, uses one up while Google remembers it.
const MAX_REQUEST_GENERATIONS: u32 = 8;

/// The Partner Interconnect partner client. Cheap to clone: clones share
/// the HTTP connection pool and the token cache.
#[derive(Clone, Debug)]
pub struct PiClient {
    compute: Arc<Compute>,
}

impl PiClient {
    pub fn new(cfg: GcpConfig) -> Self {
        Self {
            compute: Arc::new(Compute::new(cfg)),
        }
    }

    pub fn config(&self) -> &GcpConfig {
        &self.compute.cfg
    }

    /// Creates our attachment for a customer's pairing key. Idempotent: an
    /// attachment by that name exists → `Done` with it, as it is (a
    /// different VLAN or pairing key is logged, not changed); else insert
    /// with a `requestId` derived from the request and follow the operation
    /// up to `op_budget` (`InProgress` after that; call again). A request
    /// Google would refuse (pairing key format or region, VLAN range,
    /// bandwidth, names) is refused before sending, as `Error::Google` 400
    /// `invalid`; a failed operation is `Error::OperationFailed` with
    /// Google's code and message.
    pub async fn ensure_attachment(
        &self,
        req: &AttachmentRequest,
    ) -> Result<Progress<Attachment>, Error> {
        let started = Instant::now();
        req.validate()?;
        let mut call = Call::default();
        if let Some(a) = self.read(&mut call, &req.region, &req.name).await? {
            warn_if_different(req, &a);
            return Ok(Progress::Done(a));
        }
        let project = self.compute.cfg.project.as_str();
        let body = req.to_insert_body(project);
        let vlan = req.vlan.to_string();
        let interconnect = req.interconnect_ref(project);
        let parts = [
            "insert",
            project,
            req.region.as_str(),
            req.name.as_str(),
            interconnect.as_str(),
            req.pairing_key.as_str(),
            vlan.as_str(),
            req.bandwidth.as_str(),
        ];
        let mut last_failure = None;
        for generation in 0..MAX_REQUEST_GENERATIONS {
            let rid = request_id(&parts, generation);
            let url =
                self.compute
                    .regional_url(&req.region, &[ATTACHMENTS], &[("requestId", &rid)])?;
            let reply = self
                .compute
                .send(
                    &mut call,
                    "compute.interconnectAttachments.insert",
                    Method::POST,
                    &url,
                    Some(&body),
                )
                .await?;
            if !reply.is_success() {
                let e = reply.error();
                if e.is_reason("alreadyExists") {
                    // Created, or being created, by an insert with another
                    // request id.
                    return Ok(match self.read(&mut call, &req.region, &req.name).await? {
                        Some(a) => Progress::Done(a),
                        None => Progress::InProgress {
                            retry_after: BUSY_RETRY,
                        },
                    });
                }
                return Err(e);
            }
            let op = Operation::from_google(&reply.json()?)?;
            if op.is_done() {
                // An operation that was over before we asked: Google
                // replayed an earlier use of this request id.
                match op.result() {
                    Err(e) => {
                        tracing::info!(
                            attachment = %req.name, generation, operation = %op.name, error = %e,
                            "an earlier insert with this request id failed; trying the next one"
                        );
                        last_failure = Some(e);
                    }
                    Ok(()) => {
                        if let Some(a) = self.read(&mut call, &req.region, &req.name).await? {
                            return Ok(Progress::Done(a));
                        }
                        tracing::info!(
                            attachment = %req.name, generation, operation = %op.name,
                            "this request id created an attachment that is gone since; trying the next one"
                        );
                    }
                }
                continue;
            }
            tracing::info!(
                attachment = %req.name, region = %req.region, pairing_key = %req.pairing_key,
                vlan = req.vlan, operation = %op.name, generation,
                "inserting PARTNER_PROVIDER interconnect attachment"
            );
            let Some(op) = self
                .compute
                .follow(&mut call, &req.region, op, started)
                .await?
            else {
                return Ok(Progress::InProgress {
                    retry_after: BUSY_RETRY,
                });
            };
            op.result()?;
            return match self.read(&mut call, &req.region, &req.name).await? {
                Some(a) => Ok(Progress::Done(a)),
                None => Err(Error::Protocol(format!(
                    "insert operation {} is done, but attachment {} is not there",
                    op.name, req.name
                ))),
            };
        }
        Err(last_failure.unwrap_or_else(|| {
            Error::Protocol(format!(
                "all {MAX_REQUEST_GENERATIONS} request ids for attachment {} were used before",
                req.name
            ))
        }))
    }

    /// The attachment, `None` when there is none by that name in `region`.
    pub async fn get_attachment(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<Attachment>, Error> {
        check_names(region, name)?;
        let mut call = Call::default();
        self.read(&mut call, region, name).await
    }

    /// Deletes the attachment. Idempotent: absent → `Done`; a delete already
    /// running → `InProgress`; else DELETE (with a `requestId` derived from
    /// the attachment's Google id) and follow the operation up to
    /// `op_budget`.
    pub async fn delete_attachment(&self, region: &str, name: &str) -> Result<Progress<()>, Error> {
        let started = Instant::now();
        check_names(region, name)?;
        let mut call = Call::default();
        let Some(current) = self.read_raw(&mut call, region, name).await? else {
            return Ok(Progress::Done(()));
        };
        let id = current
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let project = self.compute.cfg.project.as_str();
        let parts = ["delete", project, region, name, id.as_str()];
        let mut last_failure = None;
        for generation in 0..MAX_REQUEST_GENERATIONS {
            let rid = request_id(&parts, generation);
            let url =
                self.compute
                    .regional_url(region, &[ATTACHMENTS, name], &[("requestId", &rid)])?;
            let reply = self
                .compute
                .send(
                    &mut call,
                    "compute.interconnectAttachments.delete",
                    Method::DELETE,
                    &url,
                    None,
                )
                .await?;
            if reply.status == 404 {
                return Ok(Progress::Done(()));
            }
            if !reply.is_success() {
                let e = reply.error();
                if e.is_reason("resourceNotReady") {
                    // Another operation (a delete with another request id)
                    // is running on it.
                    return Ok(Progress::InProgress {
                        retry_after: BUSY_RETRY,
                    });
                }
                return Err(e);
            }
            let op = Operation::from_google(&reply.json()?)?;
            if op.is_done() {
                match op.result() {
                    Err(e) => {
                        tracing::info!(
                            attachment = %name, generation, operation = %op.name, error = %e,
                            "an earlier delete with this request id failed; trying the next one"
                        );
                        last_failure = Some(e);
                    }
                    Ok(()) => {
                        if self.read_raw(&mut call, region, name).await?.is_none() {
                            return Ok(Progress::Done(()));
                        }
                    }
                }
                continue;
            }
            tracing::info!(attachment = %name, %region, operation = %op.name, generation, "deleting interconnect attachment");
            let Some(op) = self.compute.follow(&mut call, region, op, started).await? else {
                return Ok(Progress::InProgress {
                    retry_after: BUSY_RETRY,
                });
            };
            op.result()?;
            return Ok(Progress::Done(()));
        }
        Err(last_failure.unwrap_or_else(|| {
            Error::Protocol(format!(
                "all {MAX_REQUEST_GENERATIONS} request ids for deleting attachment {name} were used before"
            ))
        }))
    }

    /// Sets the attachment's capacity, as the partner does when the
    /// customer asks for more or less. Idempotent: already at `bandwidth`
    /// → `Done` without a call; else PATCH `bandwidth` (with a `requestId`
    /// derived from the attachment's id and the bandwidth) and follow the
    /// operation up to `op_budget`. An attachment that is gone is an error
    /// (the connector's watch of it says what happened).
    pub async fn set_bandwidth(
        &self,
        region: &str,
        name: &str,
        bandwidth: &str,
    ) -> Result<Progress<()>, Error> {
        let started = Instant::now();
        check_names(region, name)?;
        let mut call = Call::default();
        let Some(current) = self.read_raw(&mut call, region, name).await? else {
            return Err(Error::Protocol(format!(
                "attachment {name} does not exist in {region}"
            )));
        };
        if current.get("bandwidth").and_then(Value::as_str) == Some(bandwidth) {
            return Ok(Progress::Done(()));
        }
        let id = current
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let project = self.compute.cfg.project.as_str();
        let parts = ["patch", project, region, name, id.as_str(), bandwidth];
        let mut last_failure = None;
        for generation in 0..MAX_REQUEST_GENERATIONS {
            let rid = request_id(&parts, generation);
            let url =
                self.compute
                    .regional_url(region, &[ATTACHMENTS, name], &[("requestId", &rid)])?;
            let body = serde_json::json!({ "bandwidth": bandwidth });
            let reply = self
                .compute
                .send(
                    &mut call,
                    "compute.interconnectAttachments.patch",
                    Method::PATCH,
                    &url,
                    Some(&body),
                )
                .await?;
            if !reply.is_success() {
                let e = reply.error();
                if e.is_reason("resourceNotReady") {
                    return Ok(Progress::InProgress {
                        retry_after: BUSY_RETRY,
                    });
                }
                return Err(e);
            }
            let op = Operation::from_google(&reply.json()?)?;
            if op.is_done() {
                match op.result() {
                    Err(e) => {
                        last_failure = Some(e);
                        continue;
                    }
                    Ok(()) => return Ok(Progress::Done(())),
                }
            }
            tracing::info!(attachment = %name, %region, %bandwidth, operation = %op.name, "changing interconnect attachment capacity");
            let Some(op) = self.compute.follow(&mut call, region, op, started).await? else {
                return Ok(Progress::InProgress {
                    retry_after: BUSY_RETRY,
                });
            };
            op.result()?;
            return Ok(Progress::Done(()));
        }
        Err(last_failure.unwrap_or_else(|| {
            Error::Protocol(format!(
                "all {MAX_REQUEST_GENERATIONS} request ids for changing attachment {name} were used before"
            ))
        }))
    }

    async fn read(
        &self,
        call: &mut Call,
        region: &str,
        name: &str,
    ) -> Result<Option<Attachment>, Error> {
        self.read_raw(call, region, name)
            .await?
            .map(|v| Attachment::from_google(&v))
            .transpose()
    }

    /// GET on the attachment: `None` on 404.
    async fn read_raw(
        &self,
        call: &mut Call,
        region: &str,
        name: &str,
    ) -> Result<Option<Value>, Error> {
        let url = self
            .compute
            .regional_url(region, &[ATTACHMENTS, name], &[])?;
        let reply = self
            .compute
            .send(
                call,
                "compute.interconnectAttachments.get",
                Method::GET,
                &url,
                None,
            )
            .await?;
        if reply.status == 404 {
            return Ok(None);
        }
        if !reply.is_success() {
            return Err(reply.error());
        }
        Ok(Some(reply.json()?))
    }
}

fn check_names(region: &str, name: &str) -> Result<(), Error> {
    if !is_rfc1035(region) {
        return Err(Error::invalid(format!(
            "region {region:?} is not a region name"
        )));
    }
    if !is_rfc1035(name) {
        return Err(Error::invalid(format!(
            "attachment name {name:?} is not an RFC 1035 name"
        )));
    }
    Ok(())
}

/// An existing attachment is taken as it is; say so when it is not what was
/// asked for.
fn warn_if_different(req: &AttachmentRequest, a: &Attachment) {
    let key_differs = a
        .pairing_key
        .as_deref()
        .is_some_and(|k| !k.eq_ignore_ascii_case(&req.pairing_key));
    let vlan_differs = a.vlan.is_some_and(|v| v != req.vlan);
    if key_differs || vlan_differs {
        tracing::warn!(
            attachment = %req.name,
            wanted_pairing_key = %req.pairing_key,
            found_pairing_key = a.pairing_key.as_deref().unwrap_or(""),
            wanted_vlan = req.vlan,
            found_vlan = a.vlan,
            "an attachment by this name exists with other settings; leaving it as it is"
        );
    }
}
