//! The simulated partner project and its customers: tokens, attachments on
//! both sides, operations, /29 allocation, faults and call counters.
//!
//! Operations complete lazily: every access first calls [`SimState::advance`]
//! with the current instant, so there are no timer tasks.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{
    CreatePairingKey, GcpFault, GcpSimConfig, SimAttachments, SimCustomerAttachment, SimOperation,
    SimPartnerAttachment, SimPartnerMetadata,
};

pub(crate) const BANDWIDTHS: [&str; 12] = [
    "BPS_50M", "BPS_100M", "BPS_200M", "BPS_300M", "BPS_400M", "BPS_500M", "BPS_1G", "BPS_2G",
    "BPS_5G", "BPS_10G", "BPS_20G", "BPS_50G",
];

/// Fields of an `InterconnectAttachment` the insert body may carry; output
/// only ones are accepted and ignored, as Compute does.
const KNOWN_FIELDS: [&str; 31] = [
    "kind",
    "id",
    "name",
    "description",
    "selfLink",
    "selfLinkWithId",
    "region",
    "type",
    "interconnect",
    "pairingKey",
    "vlanTag8021q",
    "bandwidth",
    "partnerMetadata",
    "partnerAsn",
    "candidateSubnets",
    "subnetLength",
    "edgeAvailabilityDomain",
    "adminEnabled",
    "router",
    "mtu",
    "stackType",
    "encryption",
    "labels",
    "labelFingerprint",
    "creationTimestamp",
    "state",
    "operationalStatus",
    "cloudRouterIpAddress",
    "customerRouterIpAddress",
    "googleReferenceId",
    "dataplaneVersion",
];

// ===== Google errors =====

/// A Compute error response.
#[derive(Clone, Debug)]
pub(crate) struct GoogleError {
    pub status: StatusCode,
    pub reason: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl GoogleError {
    pub(crate) fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    fn invalid_field(field: &str, value: impl std::fmt::Display, why: &str) -> Self {
        Self::invalid(format!(
            "Invalid value for field 'resource.{field}': '{value}'. {why}"
        ))
    }

    fn required(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "required",
            format!("Required field 'resource.{field}' not specified"),
        )
    }

    pub(crate) fn not_found(resource: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("The resource '{resource}' was not found"),
        )
    }

    fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    fn not_ready(resource: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "resourceNotReady",
            format!("The resource '{resource}' is not ready"),
        )
    }

    /// The canonical (gRPC) status name Google puts in `error.status`.
    fn canonical(&self) -> &'static str {
        match (self.status.as_u16(), self.reason.as_str()) {
            (400, "resourceNotReady") => "FAILED_PRECONDITION",
            (400, _) => "INVALID_ARGUMENT",
            (401, _) => "UNAUTHENTICATED",
            (403, _) => "PERMISSION_DENIED",
            (404, _) => "NOT_FOUND",
            (409, "alreadyExists") => "ALREADY_EXISTS",
            (409, _) => "ABORTED",
            (429, _) => "RESOURCE_EXHAUSTED",
            (503, _) => "UNAVAILABLE",
            _ => "INTERNAL",
        }
    }

    pub(crate) fn body(&self) -> Value {
        let domain = if self.reason == "rateLimitExceeded" {
            "usageLimits"
        } else {
            "global"
        };
        json!({
            "error": {
                "code": self.status.as_u16(),
                "message": self.message,
                "errors": [{
                    "message": self.message,
                    "domain": domain,
                    "reason": self.reason,
                }],
                "status": self.canonical(),
            }
        })
    }
}

/// A control-plane refusal: HTTP status and message.
pub(crate) type ControlError = (StatusCode, String);

// ===== pairing keys and addresses =====

/// `<uuid>/<region>/<1|2>`, split; the message says what is wrong.
pub(crate) fn parse_pairing_key(key: &str) -> Result<(String, String, u8), String> {
    let parts: Vec<&str> = key.split('/').collect();
    let [id, region, domain] = parts[..] else {
        return Err(format!(
            "pairing key must be <uuid>/<region>/<1|2>; it has {} part(s)",
            parts.len()
        ));
    };
    let uuid = uuid::Uuid::try_parse(id)
        .ok()
        .filter(|_| id.len() == 36)
        .ok_or_else(|| format!("pairing key starts with {id:?}, which is not a UUID"))?;
    if !is_rfc1035(region) {
        return Err(format!(
            "pairing key region {region:?} is not a region name"
        ));
    }
    let domain = match domain {
        "1" => 1,
        "2" => 2,
        _ => {
            return Err(format!(
                "pairing key ends with {domain:?}; the edge availability domain is 1 or 2"
            ));
        }
    };
    Ok((uuid.to_string(), region.to_owned(), domain))
}

/// `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`
pub(crate) fn is_rfc1035(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

fn domain_name(d: u8) -> String {
    format!("AVAILABILITY_DOMAIN_{d}")
}

const LINK_LOCAL: u32 = 0xA9FE_0000; // 169.254.0.0/16

/// An allocated block of link-local addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    base: u32,
    prefix: u8,
}

impl Block {
    fn size(self) -> u32 {
        1 << (32 - self.prefix)
    }

    fn overlaps(self, other: Block) -> bool {
        self.base < other.base + other.size() && other.base < self.base + self.size()
    }

    fn host(self, n: u32) -> String {
        format!("{}/{}", Ipv4Addr::from(self.base + n), self.prefix)
    }
}

fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let ip = u32::from(ip);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (ip & mask == ip).then_some((ip, len))
}

// ===== resources =====

#[derive(Clone, Debug)]
struct Partner {
    att: SimPartnerAttachment,
    block: Block,
}

/// What a finished operation does.
#[derive(Clone, Debug)]
enum Change {
    /// Creates this attachment (everything it needs is reserved meanwhile).
    Insert(Box<Partner>),
    Delete,
    /// Sets the attachment's capacity (the partner's `patch` of `bandwidth`).
    Patch {
        bandwidth: String,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub name: String,
    pub id: String,
    pub region: String,
    /// The attachment's name.
    pub target: String,
    pub target_id: String,
    pub request_id: Option<String>,
    change: Change,
    pub insert_time: chrono::DateTime<chrono::Utc>,
    pub start_time: chrono::DateTime<chrono::Utc>,
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
    running_at: Instant,
    pub ready_at: Instant,
    /// `(code, message, http status)` when a fault makes it fail.
    pub failure: Option<(String, String, u16)>,
    pub done: bool,
}

impl Operation {
    pub(crate) fn operation_type(&self) -> &'static str {
        match self.change {
            Change::Insert(_) => "insert",
            Change::Delete => "delete",
            Change::Patch { .. } => "patch",
        }
    }

    pub(crate) fn status(&self, now: Instant) -> &'static str {
        if self.done {
            "DONE"
        } else if now >= self.running_at {
            "RUNNING"
        } else {
            "PENDING"
        }
    }

    pub(crate) fn progress(&self, now: Instant) -> u32 {
        if self.done {
            return 100;
        }
        let total = self.ready_at.saturating_duration_since(self.running_at);
        let gone = now.saturating_duration_since(self.running_at);
        if total.is_zero() {
            0
        } else {
            (gone.as_secs_f64() / total.as_secs_f64() * 100.0).min(99.0) as u32
        }
    }

    fn snapshot(&self, now: Instant) -> SimOperation {
        SimOperation {
            name: self.name.clone(),
            region: self.region.clone(),
            operation_type: self.operation_type().to_owned(),
            target: self.target.clone(),
            request_id: self.request_id.clone(),
            status: self.status(now).to_owned(),
            error: self
                .failure
                .as_ref()
                .filter(|_| self.done)
                .map(|(c, m, _)| (c.clone(), m.clone())),
            insert_time: self.insert_time,
        }
    }
}

#[derive(Debug)]
pub(crate) struct SimState {
    pub cfg: GcpSimConfig,
    tokens: HashMap<String, Instant>,
    /// Keyed by the pairing key's UUID.
    customers: BTreeMap<String, SimCustomerAttachment>,
    /// Keyed by `(region, name)`.
    partners: BTreeMap<(String, String), Partner>,
    ops: BTreeMap<String, Operation>,
    /// Request id (lower case) → operation name.
    request_ids: HashMap<String, String>,
    faults: Vec<GcpFault>,
    stats: BTreeMap<String, u64>,
}

impl SimState {
    pub(crate) fn new(cfg: GcpSimConfig) -> Self {
        Self {
            cfg,
            tokens: HashMap::new(),
            customers: BTreeMap::new(),
            partners: BTreeMap::new(),
            ops: BTreeMap::new(),
            request_ids: HashMap::new(),
            faults: Vec::new(),
            stats: BTreeMap::new(),
        }
    }

    pub(crate) fn record_call(&mut self, method: &str) {
        *self.stats.entry(method.to_owned()).or_default() += 1;
    }

    pub(crate) fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.clone()
    }

    // ----- tokens -----

    pub(crate) fn issue_token(&mut self, now: Instant) -> String {
        let token = format!(
            "ya29.sim-{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(token.clone(), now + self.cfg.token_ttl);
        token
    }

    pub(crate) fn revoke_tokens(&mut self) {
        self.tokens.clear();
    }

    pub(crate) fn check_token(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<(), GoogleError> {
        let missing = || {
            GoogleError::new(
                StatusCode::UNAUTHORIZED,
                "required",
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            )
        };
        let invalid = || {
            GoogleError::new(
                StatusCode::UNAUTHORIZED,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            )
        };
        let auth = authorization.ok_or_else(missing)?;
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .ok_or_else(missing)?;
        match self.tokens.get(token.trim()) {
            Some(expiry) if now < *expiry => Ok(()),
            _ => Err(invalid()),
        }
    }

    // ----- faults -----

    pub(crate) fn faults(&self) -> Vec<GcpFault> {
        self.faults.clone()
    }

    pub(crate) fn add_fault(&mut self, fault: GcpFault) {
        self.faults.push(fault);
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Consumes one armed rate limit: the call fails with 429.
    pub(crate) fn take_rate_limit(&mut self) -> Option<GoogleError> {
        let idx = self
            .faults
            .iter()
            .position(|f| matches!(f, GcpFault::RateLimit { count, .. } if *count > 0))?;
        let GcpFault::RateLimit { count, retry_after } = &mut self.faults[idx] else {
            return None;
        };
        *count -= 1;
        let retry_after = *retry_after;
        if *count == 0 {
            self.faults.remove(idx);
        }
        Some(GoogleError {
            retry_after: Some(retry_after),
            ..GoogleError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rateLimitExceeded",
                format!(
                    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' for consumer 'project_number:{}'.",
                    self.cfg.project
                ),
            )
        })
    }

    fn take_operation_failure(&mut self) -> Option<(String, String, u16)> {
        let idx = self
            .faults
            .iter()
            .position(|f| matches!(f, GcpFault::OperationFailure { count, .. } if *count > 0))?;
        let GcpFault::OperationFailure {
            count,
            code,
            message,
            http_status,
        } = &mut self.faults[idx]
        else {
            return None;
        };
        *count -= 1;
        let out = (code.clone(), message.clone(), *http_status);
        if *count == 0 {
            self.faults.remove(idx);
        }
        Some(out)
    }

    // ----- scope checks -----

    pub(crate) fn known_region(&self, region: &str) -> bool {
        self.cfg.regions.iter().any(|r| r == region)
            || self.cfg.interconnects.iter().any(|i| i.region == region)
    }

    /// The project must be the partner's, the region one Compute knows.
    pub(crate) fn check_scope(
        &self,
        method: &str,
        project: &str,
        region: &str,
        resource: &str,
    ) -> Result<(), GoogleError> {
        if project != self.cfg.project {
            return Err(GoogleError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "Required '{method}' permission for 'projects/{project}/regions/{region}/{resource}'"
                ),
            ));
        }
        if !self.known_region(region) {
            return Err(GoogleError::invalid(format!(
                "Invalid value for field 'region': '{region}'. Unknown region."
            )));
        }
        Ok(())
    }

    fn attachment_path(&self, region: &str, name: &str) -> String {
        format!(
            "projects/{}/regions/{region}/interconnectAttachments/{name}",
            self.cfg.project
        )
    }

    // ----- customer side -----

    pub(crate) fn create_pairing_key(
        &mut self,
        req: CreatePairingKey,
    ) -> Result<SimCustomerAttachment, String> {
        if !self.known_region(&req.region) {
            return Err(format!("unknown region {:?}", req.region));
        }
        if !matches!(req.edge_availability_domain, 1 | 2) {
            return Err("edgeAvailabilityDomain must be 1 or 2".to_owned());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let name = req
            .name
            .unwrap_or_else(|| format!("customer-attachment-{}", &id[..8]));
        if !is_rfc1035(&name) {
            return Err(format!("name {name:?} is not an RFC 1035 name"));
        }
        let project = req
            .customer_project
            .unwrap_or_else(|| "customer-project".to_owned());
        if self
            .customers
            .values()
            .any(|c| c.customer_project == project && c.region == req.region && c.name == name)
        {
            return Err(format!(
                "attachment {name} already exists in {project}/{}",
                req.region
            ));
        }
        let c = SimCustomerAttachment {
            name,
            customer_project: project,
            region: req.region.clone(),
            edge_availability_domain: domain_name(req.edge_availability_domain),
            pairing_key: format!("{id}/{}/{}", req.region, req.edge_availability_domain),
            state: "PENDING_PARTNER".to_owned(),
            admin_enabled: req.admin_enabled,
            partner_attachment: None,
            partner_metadata: None,
            vlan_tag8021q: None,
            bandwidth: None,
            cloud_router_ip_address: None,
            customer_router_ip_address: None,
            created_at: self.cfg.clock.utc(),
        };
        self.customers.insert(id, c.clone());
        Ok(c)
    }

    /// The customer attachment's key: the UUID of a pairing key given whole
    /// or as its UUID.
    fn customer_id(&self, key: &str) -> Result<String, ControlError> {
        let id = key
            .split('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if self.customers.contains_key(&id) {
            Ok(id)
        } else {
            Err((
                StatusCode::NOT_FOUND,
                format!("no customer attachment with pairing key {key}"),
            ))
        }
    }

    pub(crate) fn customer_attachment(&self, key: &str) -> Option<SimCustomerAttachment> {
        let id = self.customer_id(key).ok()?;
        self.customers.get(&id).cloned()
    }

    pub(crate) fn activate(&mut self, key: &str) -> Result<SimCustomerAttachment, ControlError> {
        let id = self.customer_id(key)?;
        let Some(c) = self.customers.get_mut(&id) else {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no customer attachment {key}"),
            ));
        };
        match c.state.as_str() {
            "DEFUNCT" => {
                return Err((
                    StatusCode::CONFLICT,
                    format!(
                        "attachment {} is DEFUNCT: its partner attachment was deleted; delete it and create a new one",
                        c.name
                    ),
                ));
            }
            "PENDING_CUSTOMER" => c.state = "ACTIVE".to_owned(),
            _ => {}
        }
        c.admin_enabled = true;
        let out = c.clone();
        if out.state == "ACTIVE" {
            let key = out.pairing_key.clone();
            for p in self.partners.values_mut() {
                if p.att.pairing_key == key && p.att.state == "PENDING_CUSTOMER" {
                    p.att.state = "ACTIVE".to_owned();
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn customer_delete(
        &mut self,
        key: &str,
    ) -> Result<SimCustomerAttachment, ControlError> {
        let id = self.customer_id(key)?;
        let Some(c) = self.customers.remove(&id) else {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no customer attachment {key}"),
            ));
        };
        for p in self.partners.values_mut() {
            if p.att.pairing_key == c.pairing_key {
                p.att.state = "DEFUNCT".to_owned();
            }
        }
        Ok(c)
    }

    pub(crate) fn snapshot(&self) -> SimAttachments {
        let mut customer: Vec<_> = self.customers.values().cloned().collect();
        customer.sort_by_key(|c| c.created_at);
        let mut partner: Vec<_> = self.partners.values().map(|p| p.att.clone()).collect();
        partner.sort_by_key(|p| p.created_at);
        SimAttachments { customer, partner }
    }

    pub(crate) fn partner_attachment(
        &self,
        region: &str,
        name: &str,
    ) -> Option<SimPartnerAttachment> {
        self.partners
            .get(&(region.to_owned(), name.to_owned()))
            .map(|p| p.att.clone())
    }

    pub(crate) fn operations(&self) -> Vec<SimOperation> {
        let now = self.cfg.clock.now();
        let mut all: Vec<_> = self.ops.values().map(|o| o.snapshot(now)).collect();
        all.sort_by_key(|o| o.insert_time);
        all
    }

    // ----- time -----

    pub(crate) fn advance(&mut self, now: Instant) {
        let mut due: Vec<(Instant, String)> = self
            .ops
            .values()
            .filter(|op| !op.done && op.ready_at <= now)
            .map(|op| (op.ready_at, op.name.clone()))
            .collect();
        due.sort();
        for (_, name) in due {
            let Some(op) = self.ops.get_mut(&name) else {
                continue;
            };
            op.done = true;
            op.end_time = Some(self.cfg.clock.utc());
            let op = op.clone();
            self.finish(&op);
        }
    }

    fn finish(&mut self, op: &Operation) {
        let ok = op.failure.is_none();
        match &op.change {
            Change::Insert(p) => self.finish_insert(p, ok),
            Change::Delete if ok => self.finish_delete(&op.region, &op.target),
            Change::Delete => {}
            Change::Patch { bandwidth } if ok => {
                self.finish_patch(&op.region, &op.target, bandwidth);
            }
            Change::Patch { .. } => {}
        }
    }

    fn finish_insert(&mut self, p: &Partner, ok: bool) {
        let (id, ..) = parse_pairing_key(&p.att.pairing_key).unwrap_or_default();
        let customer = self.customers.get_mut(&id);
        if !ok {
            if let Some(c) = customer
                && c.partner_attachment.as_deref() == Some(p.att.name.as_str())
            {
                c.state = "PENDING_PARTNER".to_owned();
                c.partner_attachment = None;
            }
            return;
        }
        let mut p = p.clone();
        p.att.created_at = self.cfg.clock.utc();
        match customer {
            // The customer deleted theirs while the insert ran.
            None => p.att.state = "DEFUNCT".to_owned(),
            Some(c) => {
                let state = if c.admin_enabled {
                    "ACTIVE"
                } else {
                    "PENDING_CUSTOMER"
                };
                c.state = state.to_owned();
                p.att.state = state.to_owned();
                c.partner_attachment = Some(p.att.name.clone());
                c.partner_metadata = Some(p.att.partner_metadata.clone());
                c.vlan_tag8021q = Some(p.att.vlan_tag8021q);
                c.bandwidth = Some(p.att.bandwidth.clone());
                c.cloud_router_ip_address = Some(p.att.cloud_router_ip_address.clone());
                c.customer_router_ip_address = Some(p.att.customer_router_ip_address.clone());
            }
        }
        self.partners
            .insert((p.att.region.clone(), p.att.name.clone()), p);
    }

    fn finish_patch(&mut self, region: &str, name: &str, bandwidth: &str) {
        let Some(p) = self.partners.get_mut(&(region.to_owned(), name.to_owned())) else {
            return;
        };
        p.att.bandwidth = bandwidth.to_owned();
        let (id, ..) = parse_pairing_key(&p.att.pairing_key).unwrap_or_default();
        if let Some(c) = self.customers.get_mut(&id)
            && c.partner_attachment.as_deref() == Some(name)
        {
            c.bandwidth = Some(bandwidth.to_owned());
        }
    }

    fn finish_delete(&mut self, region: &str, name: &str) {
        let Some(p) = self.partners.remove(&(region.to_owned(), name.to_owned())) else {
            return;
        };
        let (id, ..) = parse_pairing_key(&p.att.pairing_key).unwrap_or_default();
        if let Some(c) = self.customers.get_mut(&id)
            && c.partner_attachment.as_deref() == Some(name)
        {
            // Never active: the key can be paired again. Active: the
            // customer's attachment is dead and has to be recreated.
            c.state = if c.state == "ACTIVE" {
                "DEFUNCT"
            } else {
                "PENDING_PARTNER"
            }
            .to_owned();
            c.partner_attachment = None;
            c.partner_metadata = None;
            c.vlan_tag8021q = None;
            c.bandwidth = None;
            c.cloud_router_ip_address = None;
            c.customer_router_ip_address = None;
        }
    }

    // ----- Compute -----

    pub(crate) fn operation(&self, region: &str, name: &str) -> Result<Operation, GoogleError> {
        self.ops
            .get(name)
            .filter(|op| op.region == region)
            .cloned()
            .ok_or_else(|| {
                GoogleError::not_found(&format!(
                    "projects/{}/regions/{region}/operations/{name}",
                    self.cfg.project
                ))
            })
    }

    pub(crate) fn get(
        &self,
        region: &str,
        name: &str,
    ) -> Result<SimPartnerAttachment, GoogleError> {
        self.partner_attachment(region, name)
            .ok_or_else(|| GoogleError::not_found(&self.attachment_path(region, name)))
    }

    pub(crate) fn list(&self, region: &str) -> Vec<SimPartnerAttachment> {
        let mut all: Vec<_> = self
            .partners
            .values()
            .filter(|p| p.att.region == region)
            .map(|p| p.att.clone())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The operation a request id already started, if any.
    fn replay(&self, request_id: Option<&str>) -> Result<Option<Operation>, GoogleError> {
        let Some(rid) = request_id else {
            return Ok(None);
        };
        let parsed = uuid::Uuid::try_parse(rid).ok().filter(|u| !u.is_nil());
        if parsed.is_none() {
            return Err(GoogleError::invalid(format!(
                "Invalid value for field 'requestId': '{rid}'. The request ID must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000)."
            )));
        }
        Ok(self
            .request_ids
            .get(&rid.to_ascii_lowercase())
            .and_then(|name| self.ops.get(name))
            .cloned())
    }

    fn pending(&self) -> impl Iterator<Item = &Operation> {
        self.ops.values().filter(|op| !op.done)
    }

    fn pending_inserts(&self) -> impl Iterator<Item = &Partner> {
        self.pending().filter_map(|op| match &op.change {
            Change::Insert(p) => Some(p.as_ref()),
            Change::Delete | Change::Patch { .. } => None,
        })
    }

    fn new_operation(
        &mut self,
        region: &str,
        target: &str,
        target_id: &str,
        request_id: Option<&str>,
        change: Change,
        now: Instant,
    ) -> Operation {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let name = format!(
            "operation-{}-{}-{}-{}",
            self.cfg.clock.utc().timestamp_millis(),
            &hex[..13],
            &hex[13..21],
            &hex[21..29]
        );
        let t = self.cfg.clock.utc();
        let op = Operation {
            name: name.clone(),
            id: random_id(),
            region: region.to_owned(),
            target: target.to_owned(),
            target_id: target_id.to_owned(),
            request_id: request_id.map(str::to_ascii_lowercase),
            change,
            insert_time: t,
            start_time: t,
            end_time: None,
            running_at: now + self.cfg.op_delay / 4,
            ready_at: now + self.cfg.op_delay,
            failure: self.take_operation_failure(),
            done: false,
        };
        if let Some(rid) = &op.request_id {
            self.request_ids.insert(rid.clone(), name.clone());
        }
        self.ops.insert(name, op.clone());
        op
    }

    /// `interconnectAttachments.insert`.
    pub(crate) fn insert(
        &mut self,
        region: &str,
        request_id: Option<&str>,
        body: &Value,
        now: Instant,
    ) -> Result<Operation, GoogleError> {
        if let Some(op) = self.replay(request_id)? {
            return Ok(op);
        }
        let partner = self.validate_insert(region, body)?;
        let (id, ..) = parse_pairing_key(&partner.att.pairing_key).unwrap_or_default();
        if let Some(c) = self.customers.get_mut(&id) {
            c.state = "PARTNER_REQUEST_RECEIVED".to_owned();
            c.partner_attachment = Some(partner.att.name.clone());
        }
        let (name, target_id) = (partner.att.name.clone(), partner.att.id.clone());
        Ok(self.new_operation(
            region,
            &name,
            &target_id,
            request_id,
            Change::Insert(Box::new(partner)),
            now,
        ))
    }

    /// `interconnectAttachments.delete`.
    pub(crate) fn delete(
        &mut self,
        region: &str,
        name: &str,
        request_id: Option<&str>,
        now: Instant,
    ) -> Result<Operation, GoogleError> {
        if let Some(op) = self.replay(request_id)? {
            return Ok(op);
        }
        let path = self.attachment_path(region, name);
        let busy = self
            .pending()
            .any(|op| op.region == region && op.target == name);
        if busy {
            return Err(GoogleError::not_ready(&path));
        }
        let target_id = self.get(region, name)?.id;
        Ok(self.new_operation(region, name, &target_id, request_id, Change::Delete, now))
    }

    /// `interconnectAttachments.patch` of a partner attachment's
    /// `bandwidth`, the one field the partner changes on a live
    /// attachment; any other field is refused rather than ignored.
    pub(crate) fn patch(
        &mut self,
        region: &str,
        name: &str,
        request_id: Option<&str>,
        body: &Value,
        now: Instant,
    ) -> Result<Operation, GoogleError> {
        if let Some(op) = self.replay(request_id)? {
            return Ok(op);
        }
        let Some(obj) = body.as_object() else {
            return Err(GoogleError::invalid(
                "Invalid JSON payload received. Expected an object.".to_owned(),
            ));
        };
        if let Some(other) = obj.keys().find(|k| k.as_str() != "bandwidth") {
            return Err(GoogleError::invalid(format!(
                "Invalid value for field '{other}': the simulator's partner patch changes bandwidth only."
            )));
        }
        let bandwidth = obj.get("bandwidth").and_then(Value::as_str).unwrap_or("");
        if !BANDWIDTHS.contains(&bandwidth) {
            return Err(GoogleError::invalid(format!(
                "Invalid value for field 'resource.bandwidth': '{bandwidth}'."
            )));
        }
        let path = self.attachment_path(region, name);
        let busy = self
            .pending()
            .any(|op| op.region == region && op.target == name);
        if busy {
            return Err(GoogleError::not_ready(&path));
        }
        let target_id = self.get(region, name)?.id;
        Ok(self.new_operation(
            region,
            name,
            &target_id,
            request_id,
            Change::Patch {
                bandwidth: bandwidth.to_owned(),
            },
            now,
        ))
    }

    fn validate_insert(&self, region: &str, body: &Value) -> Result<Partner, GoogleError> {
        let Some(obj) = body.as_object() else {
            return Err(GoogleError::invalid(
                "Invalid JSON payload received. Expected an object for 'resource'.",
            ));
        };
        if let Some(k) = obj.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
            return Err(GoogleError::invalid(format!(
                "Invalid JSON payload received. Unknown name \"{k}\" at 'resource': Cannot find field."
            )));
        }
        let text = |field: &str| -> Result<Option<&str>, GoogleError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(v) => Err(GoogleError::invalid_field(field, v, "Expected a string.")),
            }
        };
        let required = |field: &str| text(field)?.ok_or_else(|| GoogleError::required(field));

        // name
        let name = required("name")?;
        if !is_rfc1035(name) {
            return Err(GoogleError::invalid_field(
                "name",
                name,
                "Must be a match of regex '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'",
            ));
        }
        let path = self.attachment_path(region, name);
        let key = (region.to_owned(), name.to_owned());
        if self.partners.contains_key(&key)
            || self
                .pending_inserts()
                .any(|p| p.att.region == region && p.att.name == name)
        {
            return Err(GoogleError::new(
                StatusCode::CONFLICT,
                "alreadyExists",
                format!("The resource '{path}' already exists"),
            ));
        }

        // type
        match required("type")? {
            "PARTNER_PROVIDER" => {}
            t @ ("PARTNER" | "DEDICATED") => {
                return Err(GoogleError::invalid_field(
                    "type",
                    t,
                    "A partner project can only create PARTNER_PROVIDER attachments.",
                ));
            }
            t => {
                return Err(GoogleError::invalid_field(
                    "type",
                    t,
                    "Must be one of DEDICATED, PARTNER, PARTNER_PROVIDER.",
                ));
            }
        }
        if text("router")?.is_some() {
            return Err(GoogleError::invalid_field(
                "router",
                text("router")?.unwrap_or_default(),
                "A PARTNER_PROVIDER attachment has no router; the customer's attachment does.",
            ));
        }

        // interconnect
        let ic_ref = required("interconnect")?;
        let Some((ic_project, ic_name)) = interconnect_ref(ic_ref) else {
            return Err(GoogleError::invalid_field(
                "interconnect",
                ic_ref,
                "Expected a URL or 'projects/{project}/global/interconnects/{name}'.",
            ));
        };
        let ic_project = ic_project.unwrap_or(&self.cfg.project);
        let ic = self
            .cfg
            .interconnects
            .iter()
            .find(|i| i.name == ic_name && ic_project == self.cfg.project)
            .cloned()
            .ok_or_else(|| {
                GoogleError::not_found(&format!(
                    "projects/{ic_project}/global/interconnects/{ic_name}"
                ))
            })?;
        if ic.region != region {
            return Err(GoogleError::invalid_field(
                "interconnect",
                ic_ref,
                &format!(
                    "Interconnect '{}' cannot serve region '{region}' (it serves '{}').",
                    ic.name, ic.region
                ),
            ));
        }

        // vlanTag8021q
        let vlan = match obj.get("vlanTag8021q") {
            None | Some(Value::Null) => return Err(GoogleError::required("vlanTag8021q")),
            Some(v) => int_value(v)
                .filter(|n| (2..=4094).contains(n))
                .ok_or_else(|| {
                    GoogleError::invalid_field("vlanTag8021q", v, "Must be between 2 and 4094.")
                })? as u16,
        };
        let vlan_taken = self
            .partners
            .values()
            .chain(self.pending_inserts())
            .any(|p| p.att.interconnect == ic.name && p.att.vlan_tag8021q == vlan);
        if vlan_taken {
            return Err(GoogleError::conflict(format!(
                "VLAN tag {vlan} is already in use on interconnect 'projects/{}/global/interconnects/{}'.",
                self.cfg.project, ic.name
            )));
        }

        // bandwidth
        let bandwidth = required("bandwidth")?;
        if !BANDWIDTHS.contains(&bandwidth) {
            return Err(GoogleError::invalid_field(
                "bandwidth",
                bandwidth,
                &format!("Must be one of {}.", BANDWIDTHS.join(", ")),
            ));
        }

        // partnerMetadata
        let meta = match obj.get("partnerMetadata") {
            None | Some(Value::Null) => return Err(GoogleError::required("partnerMetadata")),
            Some(m) => m,
        };
        let meta_field = |k: &str| -> Result<String, GoogleError> {
            match meta.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                None | Some(Value::Null) => {
                    Err(GoogleError::required(&format!("partnerMetadata.{k}")))
                }
                Some(Value::String(_)) => {
                    Err(GoogleError::required(&format!("partnerMetadata.{k}")))
                }
                Some(v) => Err(GoogleError::invalid_field(
                    &format!("partnerMetadata.{k}"),
                    v,
                    "Expected a string.",
                )),
            }
        };
        let partner_metadata = SimPartnerMetadata {
            partner_name: meta_field("partnerName")?,
            interconnect_name: meta_field("interconnectName")?,
            portal_url: meta_field("portalUrl")?,
        };
        if !partner_metadata.portal_url.starts_with("https://")
            && !partner_metadata.portal_url.starts_with("http://")
        {
            return Err(GoogleError::invalid_field(
                "partnerMetadata.portalUrl",
                &partner_metadata.portal_url,
                "Must be a URL.",
            ));
        }

        // partnerAsn
        let partner_asn = match obj.get("partnerAsn") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                int_value(v)
                    .filter(|n| (1..=4_294_967_294).contains(n))
                    .ok_or_else(|| {
                        GoogleError::invalid_field(
                            "partnerAsn",
                            v,
                            "Must be a 2- or 4-byte ASN (1..4294967294).",
                        )
                    })? as u32,
            ),
        };

        // addressing
        let prefix = match obj.get("subnetLength") {
            None | Some(Value::Null) => 29,
            Some(v) => match int_value(v) {
                Some(29) => 29,
                Some(30) => 30,
                _ => {
                    return Err(GoogleError::invalid_field(
                        "subnetLength",
                        v,
                        "Must be 29 or 30.",
                    ));
                }
            },
        };
        let candidates = match obj.get("candidateSubnets") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let cidr = item
                        .as_str()
                        .and_then(parse_cidr)
                        .filter(|(ip, len)| *len >= 16 && *len <= prefix && ip >> 16 == LINK_LOCAL >> 16)
                        .ok_or_else(|| {
                            GoogleError::invalid_field(
                                "candidateSubnets",
                                item,
                                &format!("Must be a subnet of 169.254.0.0/16 of prefix length at most {prefix}."),
                            )
                        })?;
                    out.push(cidr);
                }
                out
            }
            Some(v) => {
                return Err(GoogleError::invalid_field(
                    "candidateSubnets",
                    v,
                    "Expected a list of CIDR ranges.",
                ));
            }
        };

        // pairingKey
        let pairing_key = required("pairingKey")?;
        let (key_id, key_region, key_domain) = parse_pairing_key(pairing_key).map_err(|why| {
            GoogleError::invalid_field(
                "pairingKey",
                pairing_key,
                &format!("Invalid pairing key: {why}."),
            )
        })?;
        if key_region != region {
            return Err(GoogleError::invalid_field(
                "pairingKey",
                pairing_key,
                &format!(
                    "The pairing key is for region '{key_region}', but the attachment is being created in region '{region}'."
                ),
            ));
        }
        let Some(customer) = self.customers.get(&key_id) else {
            return Err(GoogleError::new(
                StatusCode::NOT_FOUND,
                "notFound",
                format!("The pairing key '{pairing_key}' was not found."),
            ));
        };
        if customer.state == "DEFUNCT" {
            return Err(GoogleError::conflict(format!(
                "The pairing key '{pairing_key}' belongs to a DEFUNCT attachment and cannot be used."
            )));
        }
        if let Some(other) = &customer.partner_attachment {
            return Err(GoogleError::conflict(format!(
                "The pairing key '{pairing_key}' is already paired with attachment '{}'.",
                self.attachment_path(region, other)
            )));
        }
        if ic.edge_availability_domain != key_domain {
            return Err(GoogleError::invalid_field(
                "pairingKey",
                pairing_key,
                &format!(
                    "The pairing key is for edge availability domain {key_domain}, but interconnect '{}' is in domain {}.",
                    ic.name, ic.edge_availability_domain
                ),
            ));
        }

        let block = self.allocate(prefix, &candidates).ok_or_else(|| {
            GoogleError::invalid(
                "No free subnet of the requested length is left in the candidate subnets.",
            )
        })?;
        let description = text("description")?.map(str::to_owned);
        Ok(Partner {
            att: SimPartnerAttachment {
                name: name.to_owned(),
                id: random_id(),
                region: region.to_owned(),
                interconnect: ic.name.clone(),
                pairing_key: customer.pairing_key.clone(),
                vlan_tag8021q: vlan,
                bandwidth: bandwidth.to_owned(),
                partner_metadata,
                partner_asn,
                description,
                state: "PENDING_CUSTOMER".to_owned(),
                edge_availability_domain: domain_name(ic.edge_availability_domain),
                cloud_router_ip_address: block.host(1),
                customer_router_ip_address: block.host(2),
                google_reference_id: random_id(),
                created_at: self.cfg.clock.utc(),
            },
            block,
        })
    }

    /// A free block of `prefix` length: from the candidates in order, or else
    /// from 169.254.0.0/16 spreading over the third octet first
    /// (169.254.1.0, 169.254.2.0, ...; the first and last /24 are reserved).
    fn allocate(&self, prefix: u8, candidates: &[(u32, u8)]) -> Option<Block> {
        let used: Vec<Block> = self
            .partners
            .values()
            .chain(self.pending_inserts())
            .map(|p| p.block)
            .collect();
        let free = |b: Block| !used.iter().any(|u| u.overlaps(b));
        let size = 1u32 << (32 - prefix);
        if candidates.is_empty() {
            for k in 0..(256 / size) {
                for x in 1..=254u32 {
                    let b = Block {
                        base: LINK_LOCAL | (x << 8) | (k * size),
                        prefix,
                    };
                    if free(b) {
                        return Some(b);
                    }
                }
            }
            return None;
        }
        for (net, len) in candidates {
            let count = 1u64 << (prefix - len);
            for i in 0..count {
                let b = Block {
                    base: net + (i as u32) * size,
                    prefix,
                };
                if free(b) {
                    return Some(b);
                }
            }
        }
        None
    }
}

/// `(project, name)` of an interconnect reference: a full URL,
/// `projects/{p}/global/interconnects/{n}` or `global/interconnects/{n}`.
fn interconnect_ref(s: &str) -> Option<(Option<&str>, &str)> {
    let rest = match s.find("projects/") {
        Some(i) => &s[i..],
        None => s,
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts[..] {
        ["projects", p, "global", "interconnects", n] if !p.is_empty() && !n.is_empty() => {
            Some((Some(p), n))
        }
        ["global", "interconnects", n] if !n.is_empty() => Some((None, n)),
        _ => None,
    }
}

/// An integer sent as a JSON number or (proto3 JSON int64 style) a string.
fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A Compute-style numeric id (decimal `uint64`, 19 digits).
fn random_id() -> String {
    let n = (uuid::Uuid::new_v4().as_u128() as u64) % 9_000_000_000_000_000_000
        + 1_000_000_000_000_000_000;
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_keys_are_checked_part_by_part() {
        let ok = parse_pairing_key("2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1").unwrap();
        assert_eq!(
            ok,
            (
                "2dfcdee7-b6f9-41d0-b98f-639151097693".to_owned(),
                "us-west1".to_owned(),
                1
            )
        );
        for (key, why) in [
            ("2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1", "part"),
            ("not-a-uuid/us-west1/1", "not a UUID"),
            ("2dfcdee7-b6f9-41d0-b98f-639151097693/US_WEST/1", "region"),
            ("2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/3", "1 or 2"),
        ] {
            let e = parse_pairing_key(key).unwrap_err();
            assert!(e.contains(why), "{key}: {e}");
        }
    }

    #[test]
    fn blocks_spread_over_the_third_octet_and_respect_candidates() {
        let s = SimState::new(GcpSimConfig::default());
        let b = s.allocate(29, &[]).unwrap();
        assert_eq!(b.host(1), "169.254.1.1/29");
        assert_eq!(b.host(2), "169.254.1.2/29");
        let c = s
            .allocate(30, &[parse_cidr("169.254.200.0/29").unwrap()])
            .unwrap();
        assert_eq!(c.host(1), "169.254.200.1/30");
        assert!(parse_cidr("169.254.200.1/29").is_none());
    }

    #[test]
    fn interconnect_references() {
        assert_eq!(
            interconnect_ref(
                "https://www.googleapis.com/compute/v1/projects/p/global/interconnects/ic1"
            ),
            Some((Some("p"), "ic1"))
        );
        assert_eq!(
            interconnect_ref("projects/p/global/interconnects/ic1"),
            Some((Some("p"), "ic1"))
        );
        assert_eq!(
            interconnect_ref("global/interconnects/ic1"),
            Some((None, "ic1"))
        );
        assert_eq!(interconnect_ref("ic1"), None);
    }
}
