//! The simulated partner subscription: tokens, cross-connections, peerings,
//! long-running operations, faults and call counters.
//!
//! Operations complete lazily: every access first calls [`SimState::advance`]
//! with the current instant, so there are no timer tasks.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{
    AzureFault, AzureSimConfig, CreateCircuit, CustomerPeering, SimBgpSession, SimCrossConnection,
    SimLeg, SimPeering,
};

pub(crate) const AZURE_ASN: u32 = 12076;
pub(crate) const PRIVATE_PEERING: &str = "AzurePrivatePeering";
/// What `stateOrPrefixesReceived` reports for an Established session.
const PREFIXES_RECEIVED: u32 = 1;
/// Oldest and newest api-version accepted (inclusive).
const API_VERSIONS: (&str, &str) = ("2024-05-01", "2025-05-01");

/// An ARM error response.
#[derive(Clone, Debug)]
pub(crate) struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub retry_after: Option<u64>,
}

impl ArmError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            target: None,
            retry_after: None,
        }
    }

    fn invalid(target: &str, message: impl Into<String>) -> Self {
        Self {
            target: Some(target.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "InvalidRequestFormat", message)
        }
    }

    pub(crate) fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message, "details": [] });
        if let Some(t) = &self.target {
            error["target"] = json!(t);
        }
        json!({ "error": error })
    }
}

/// A control-plane refusal: HTTP status and message.
pub(crate) type ControlError = (StatusCode, String);

pub(crate) fn not_found(what: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("The Resource '{what}' was not found."),
    )
}

/// Checks the `api-version` query parameter.
pub(crate) fn check_api_version(v: Option<&str>) -> Result<(), ArmError> {
    let Some(v) = v else {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let well_formed = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() && v.len() == 10;
    if !well_formed || v < API_VERSIONS.0 || v > API_VERSIONS.1 {
        return Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are {} to {}.",
                API_VERSIONS.0, API_VERSIONS.1
            ),
        ));
    }
    Ok(())
}

/// What a finished operation does to the resources.
#[derive(Clone, Debug)]
enum Change {
    SetState {
        key: String,
        state: String,
        notes: Option<String>,
    },
    PutPeering {
        key: String,
    },
    DeletePeering {
        key: String,
    },
    /// A `routeTablesSummary` POST answered asynchronously: changes nothing,
    /// its result is computed when the `Location` URL is read.
    RouteSummary {
        key: String,
        leg: SimLeg,
    },
}

impl Change {
    fn key(&self) -> &str {
        match self {
            Change::SetState { key, .. }
            | Change::PutPeering { key }
            | Change::DeletePeering { key }
            | Change::RouteSummary { key, .. } => key,
        }
    }

    /// Whether the operation writes the cross-connection (and so blocks others).
    fn writes(&self) -> bool {
        !matches!(self, Change::RouteSummary { .. })
    }
}

/// What the `Location` URL of an operation answers.
pub(crate) enum OperationResult {
    Running,
    /// Succeeded with a body (route summaries) or without (204).
    Succeeded(Option<Value>),
    Failed(ArmError),
}

#[derive(Clone, Debug)]
struct Operation {
    id: String,
    change: Change,
    started: chrono::DateTime<chrono::Utc>,
    ready_at: Instant,
    /// `(code, message)` when a fault makes it fail.
    failure: Option<(String, String)>,
    /// `Some(succeeded)` once done.
    done: Option<bool>,
    ended: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug)]
pub(crate) struct SimState {
    pub cfg: AzureSimConfig,
    tokens: HashMap<String, Instant>,
    /// Keyed by lower-case service key.
    xcs: BTreeMap<String, SimCrossConnection>,
    ops: HashMap<String, Operation>,
    faults: Vec<AzureFault>,
    stats: BTreeMap<String, u64>,
    next_stag: u32,
}

impl SimState {
    pub(crate) fn new(cfg: AzureSimConfig) -> Self {
        Self {
            cfg,
            tokens: HashMap::new(),
            xcs: BTreeMap::new(),
            ops: HashMap::new(),
            faults: Vec::new(),
            stats: BTreeMap::new(),
            next_stag: 101,
        }
    }

    pub(crate) fn record_call(&mut self, operation: &str) {
        *self.stats.entry(operation.to_owned()).or_default() += 1;
    }

    pub(crate) fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.clone()
    }

    pub(crate) fn issue_token(&mut self, now: Instant) -> String {
        let token = format!(
            "azsim.{}.{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(token.clone(), now + self.cfg.token_ttl);
        token
    }

    pub(crate) fn check_token(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<(), ArmError> {
        let unauth =
            |msg: &str| ArmError::new(StatusCode::UNAUTHORIZED, "AuthenticationFailed", msg);
        let Some(auth) = authorization else {
            return Err(unauth(
                "Authentication failed. The 'Authorization' header is missing.",
            ));
        };
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .ok_or_else(|| {
                unauth("Authentication failed. The 'Authorization' header is not a Bearer token.")
            })?;
        match self.tokens.get(token.trim()) {
            Some(expiry) if now < *expiry => Ok(()),
            Some(_) => Err(ArmError::new(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            )),
            None => Err(unauth(
                "Authentication failed. The access token is invalid.",
            )),
        }
    }

    pub(crate) fn revoke_tokens(&mut self) {
        self.tokens.clear();
    }

    pub(crate) fn faults(&self) -> Vec<AzureFault> {
        self.faults.clone()
    }

    pub(crate) fn add_fault(&mut self, fault: AzureFault) {
        self.faults.push(fault);
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Consumes one throttle, if armed: the call fails with 429.
    pub(crate) fn take_throttle(&mut self) -> Option<ArmError> {
        let idx = self
            .faults
            .iter()
            .position(|f| matches!(f, AzureFault::Throttle { count, .. } if *count > 0))?;
        let AzureFault::Throttle { count, retry_after } = &mut self.faults[idx] else {
            return None;
        };
        *count -= 1;
        let retry_after = *retry_after;
        if *count == 0 {
            self.faults.remove(idx);
        }
        Some(ArmError {
            retry_after: Some(retry_after),
            ..ArmError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!("Too many requests. Please retry after {retry_after} seconds."),
            )
        })
    }

    /// Consumes one `AsyncRouteSummary`, if armed.
    fn take_async_route_summary(&mut self) -> bool {
        let Some(idx) = self
            .faults
            .iter()
            .position(|f| matches!(f, AzureFault::AsyncRouteSummary { count } if *count > 0))
        else {
            return false;
        };
        if let AzureFault::AsyncRouteSummary { count } = &mut self.faults[idx] {
            *count -= 1;
            if *count == 0 {
                self.faults.remove(idx);
            }
        }
        true
    }

    fn take_lro_failure(&mut self) -> Option<(String, String)> {
        let idx = self
            .faults
            .iter()
            .position(|f| matches!(f, AzureFault::LroFailure { count, .. } if *count > 0))?;
        let AzureFault::LroFailure {
            count,
            code,
            message,
        } = &mut self.faults[idx]
        else {
            return None;
        };
        *count -= 1;
        let out = (code.clone(), message.clone());
        if *count == 0 {
            self.faults.remove(idx);
        }
        Some(out)
    }

    // ----- customer side -----

    pub(crate) fn create_circuit(
        &mut self,
        req: CreateCircuit,
    ) -> Result<SimCrossConnection, String> {
        let Some(location) = self
            .cfg
            .peering_locations
            .iter()
            .find(|l| l.eq_ignore_ascii_case(&req.peering_location))
            .cloned()
        else {
            return Err(format!(
                "peering location {:?} is not served by {}; known: {:?}",
                req.peering_location, self.cfg.provider_name, self.cfg.peering_locations
            ));
        };
        if req.bandwidth_in_mbps == 0 {
            return Err("bandwidthInMbps must be positive".to_owned());
        }
        let key = uuid::Uuid::new_v4().to_string();
        let slug: String = location
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        let provider: String = self
            .cfg
            .provider_name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        let s_tag = self.next_stag;
        self.next_stag += 1;
        let rg = format!("CrossConnection-{}", location.replace(' ', ""));
        let circuit_name = req
            .circuit_name
            .unwrap_or_else(|| format!("er-{}", &key[..8]));
        let xc = SimCrossConnection {
            service_key: key.clone(),
            resource_group: rg,
            location: req.location.unwrap_or_else(|| "westus".to_owned()),
            peering_location: location,
            bandwidth_in_mbps: req.bandwidth_in_mbps,
            s_tag,
            primary_azure_port: format!("{provider}-{slug}-06GMR-CIS-1-PRI-A"),
            secondary_azure_port: format!("{provider}-{slug}-06GMR-CIS-2-SEC-A"),
            circuit_id: format!(
                "/subscriptions/{}/resourceGroups/customer-rg/providers/Microsoft.Network/expressRouteCircuits/{circuit_name}",
                uuid::Uuid::new_v4()
            ),
            service_provider_provisioning_state: "NotProvisioned".to_owned(),
            service_provider_notes: None,
            provisioning_state: "Succeeded".to_owned(),
            private_peering: None,
            primary_bgp: SimBgpSession::default(),
            secondary_bgp: SimBgpSession::default(),
            etag: uuid::Uuid::new_v4().to_string(),
            created_at: self.cfg.clock.utc(),
        };
        self.xcs.insert(key, xc.clone());
        Ok(xc)
    }

    pub(crate) fn snapshot(&self) -> Vec<SimCrossConnection> {
        let mut all: Vec<_> = self.xcs.values().cloned().collect();
        all.sort_by_key(|x| x.created_at);
        all
    }

    pub(crate) fn cross_connection(&self, key: &str) -> Option<SimCrossConnection> {
        self.xcs.get(&key.to_ascii_lowercase()).cloned()
    }

    // ----- time -----

    pub(crate) fn advance(&mut self, now: Instant) {
        let mut due: Vec<String> = self
            .ops
            .values()
            .filter(|op| op.done.is_none() && op.ready_at <= now)
            .map(|op| op.id.clone())
            .collect();
        due.sort_by_key(|id| self.ops[id].ready_at);
        for id in due {
            let Some(op) = self.ops.get_mut(&id) else {
                continue;
            };
            let ok = op.failure.is_none();
            op.done = Some(ok);
            op.ended = Some(self.cfg.clock.utc());
            let change = op.change.clone();
            self.finish(change, ok);
        }
        self.refresh_bgp();
    }

    /// Brings every leg's `established`/`since` in line with the resources.
    pub(crate) fn refresh_bgp(&mut self) {
        let now = self.cfg.clock.utc();
        for xc in self.xcs.values_mut() {
            for leg in [SimLeg::Primary, SimLeg::Secondary] {
                let up = session_state(xc, leg).is_ok();
                let session = bgp_mut(xc, leg);
                if session.established != up {
                    session.established = up;
                    session.since = Some(now);
                }
            }
        }
    }

    fn finish(&mut self, change: Change, ok: bool) {
        if !change.writes() {
            return;
        }
        let Some(xc) = self.xcs.get_mut(change.key()) else {
            return;
        };
        xc.etag = uuid::Uuid::new_v4().to_string();
        let result = if ok { "Succeeded" } else { "Failed" };
        match change {
            Change::SetState { state, notes, .. } => {
                if ok {
                    xc.service_provider_provisioning_state = state;
                    if notes.is_some() {
                        xc.service_provider_notes = notes;
                    }
                }
                xc.provisioning_state = result.to_owned();
            }
            Change::PutPeering { .. } => {
                if let Some(p) = xc.private_peering.as_mut() {
                    p.provisioning_state = result.to_owned();
                }
                xc.provisioning_state = "Succeeded".to_owned();
            }
            Change::DeletePeering { .. } => {
                if ok {
                    xc.private_peering = None;
                } else if let Some(p) = xc.private_peering.as_mut() {
                    p.provisioning_state = "Failed".to_owned();
                }
                xc.provisioning_state = "Succeeded".to_owned();
            }
            Change::RouteSummary { .. } => {}
        }
    }

    fn start_op(&mut self, change: Change, now: Instant) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let failure = self.take_lro_failure();
        self.ops.insert(
            id.clone(),
            Operation {
                id: id.clone(),
                change,
                started: self.cfg.clock.utc(),
                ready_at: now + self.cfg.lro_delay,
                failure,
                done: None,
                ended: None,
            },
        );
        id
    }

    fn busy(&self, key: &str) -> bool {
        self.ops
            .values()
            .any(|op| op.done.is_none() && op.change.writes() && op.change.key() == key)
    }

    pub(crate) fn operation_status(&self, id: &str) -> Result<Value, ArmError> {
        let op = self
            .ops
            .get(id)
            .ok_or_else(|| not_found(&format!("azureAsyncOperations/{id}")))?;
        let status = match op.done {
            None => "InProgress",
            Some(true) => "Succeeded",
            Some(false) => "Failed",
        };
        let mut body = json!({
            "id": id, "name": id, "status": status,
            "startTime": op.started.to_rfc3339(),
        });
        if let Some(end) = op.ended {
            body["endTime"] = json!(end.to_rfc3339());
        }
        if let (Some(false), Some((code, message))) = (op.done, &op.failure) {
            body["error"] = json!({ "code": code, "message": message });
        }
        Ok(body)
    }

    /// What the `Location` URL of operation `id` answers now.
    pub(crate) fn operation_result(&self, id: &str) -> Result<OperationResult, ArmError> {
        let op = self
            .ops
            .get(id)
            .ok_or_else(|| not_found(&format!("operationResults/{id}")))?;
        Ok(match (op.done, &op.change) {
            (None, _) => OperationResult::Running,
            (Some(false), _) => {
                let (code, message) = op.failure.clone().unwrap_or_else(|| {
                    (
                        "InternalServerError".to_owned(),
                        "Operation failed.".to_owned(),
                    )
                });
                OperationResult::Failed(ArmError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &code,
                    message,
                ))
            }
            (Some(true), Change::RouteSummary { key, leg }) => {
                let xc = self
                    .xcs
                    .get(key)
                    .ok_or_else(|| not_found(&format!("expressRouteCrossConnections/{key}")))?;
                OperationResult::Succeeded(Some(route_summary_body(
                    xc,
                    *leg,
                    self.cfg.clock.utc(),
                )?))
            }
            (Some(true), _) => OperationResult::Succeeded(None),
        })
    }

    // ----- partner ARM operations -----

    fn xc_in(&self, rg: &str, key: &str) -> Result<&SimCrossConnection, ArmError> {
        self.xcs
            .get(&key.to_ascii_lowercase())
            .filter(|x| x.resource_group.eq_ignore_ascii_case(rg))
            .ok_or_else(|| {
                not_found(&format!(
                    "Microsoft.Network/expressRouteCrossConnections/{key}' under resource group '{rg}"
                ))
            })
    }

    pub(crate) fn check_subscription(&self, sub: &str) -> Result<(), ArmError> {
        if sub.eq_ignore_ascii_case(&self.cfg.subscription_id) {
            Ok(())
        } else {
            Err(ArmError::new(
                StatusCode::NOT_FOUND,
                "SubscriptionNotFound",
                format!("The subscription '{sub}' could not be found."),
            ))
        }
    }

    pub(crate) fn list(&self, filter: Option<&str>) -> Result<Vec<SimCrossConnection>, ArmError> {
        let Some(filter) = filter else {
            return Ok(self.snapshot());
        };
        let name = parse_name_filter(filter).ok_or_else(|| {
            ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidFilterInQueryString",
                format!("The $filter '{filter}' is not supported; use name eq '<serviceKey>'."),
            )
        })?;
        Ok(self.cross_connection(&name).into_iter().collect())
    }

    pub(crate) fn get(&self, rg: &str, key: &str) -> Result<SimCrossConnection, ArmError> {
        self.xc_in(rg, key).cloned()
    }

    /// PUT on a cross-connection: returns the resource and the operation id.
    pub(crate) fn put(
        &mut self,
        rg: &str,
        key: &str,
        body: &Value,
        now: Instant,
    ) -> Result<(SimCrossConnection, String), ArmError> {
        let current = self.xc_in(rg, key)?.clone();
        let props = body
            .get("properties")
            .filter(|p| p.is_object())
            .ok_or_else(|| {
                ArmError::invalid(
                    "properties",
                    "The request body must have a 'properties' object.",
                )
            })?;
        let wanted = match props.get("serviceProviderProvisioningState") {
            None | Some(Value::Null) => current.service_provider_provisioning_state.clone(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(ArmError::invalid(
                    "properties.serviceProviderProvisioningState",
                    "serviceProviderProvisioningState must be a string.",
                ));
            }
        };
        let notes = match props.get("serviceProviderNotes") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ArmError::invalid(
                    "properties.serviceProviderNotes",
                    "serviceProviderNotes must be a string.",
                ));
            }
        };
        let from = current.service_provider_provisioning_state.as_str();
        let allowed = match (from, wanted.as_str()) {
            (_, w) if !matches!(w, "NotProvisioned" | "Provisioned" | "Deprovisioning") => {
                return Err(ArmError::invalid(
                    "properties.serviceProviderProvisioningState",
                    format!(
                        "serviceProviderProvisioningState '{w}' is invalid; use NotProvisioned, Provisioned or Deprovisioning."
                    ),
                ));
            }
            (a, b) if a == b => true,
            ("NotProvisioned", "Provisioned")
            | ("Provisioned", "Deprovisioning" | "NotProvisioned")
            | ("Deprovisioning", "NotProvisioned") => true,
            _ => false,
        };
        if !allowed {
            return Err(ArmError {
                target: Some("properties.serviceProviderProvisioningState".to_owned()),
                ..ArmError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidServiceProviderProvisioningStateTransition",
                    format!(
                        "serviceProviderProvisioningState cannot change from {from} to {wanted}."
                    ),
                )
            });
        }
        if wanted == "NotProvisioned"
            && from != "NotProvisioned"
            && current.private_peering.is_some()
        {
            return Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "CrossConnectionHasPeerings",
                format!(
                    "Cross connection {key} still has peering {PRIVATE_PEERING}; delete it before deprovisioning."
                ),
            ));
        }
        let lkey = current.service_key.clone();
        self.ensure_idle(&lkey)?;
        let id = self.start_op(
            Change::SetState {
                key: lkey.clone(),
                state: wanted,
                notes,
            },
            now,
        );
        let xc = self.xcs.get_mut(&lkey).expect("checked above");
        xc.provisioning_state = "Updating".to_owned();
        Ok((xc.clone(), id))
    }

    fn ensure_idle(&self, key: &str) -> Result<(), ArmError> {
        if self.busy(key) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "AnotherOperationInProgress",
                format!("Another operation on cross connection {key} is in progress; retry later."),
            ));
        }
        Ok(())
    }

    pub(crate) fn get_peering(
        &self,
        rg: &str,
        key: &str,
        name: &str,
    ) -> Result<(SimCrossConnection, SimPeering), ArmError> {
        let xc = self.xc_in(rg, key)?;
        match (
            &xc.private_peering,
            name.eq_ignore_ascii_case(PRIVATE_PEERING),
        ) {
            (Some(p), true) => Ok((xc.clone(), p.clone())),
            _ => Err(peering_not_found(&self.cfg.subscription_id, xc, name)),
        }
    }

    /// `routeTablesSummary` POST: the summary (`Ok(Ok(body))`), or the id of
    /// an operation whose `Location` yields it (`Ok(Err(id))`).
    pub(crate) fn route_tables_summary(
        &mut self,
        rg: &str,
        key: &str,
        name: &str,
        device_path: &str,
        now: Instant,
    ) -> Result<Result<Value, String>, ArmError> {
        let xc = self.xc_in(rg, key)?.clone();
        let leg: SimLeg = device_path.parse().map_err(|msg: String| {
            ArmError::invalid(
                "devicePath",
                format!("{msg}. The device path must be 'primary' or 'secondary'."),
            )
        })?;
        if !name.eq_ignore_ascii_case(PRIVATE_PEERING) || xc.private_peering.is_none() {
            return Err(peering_not_found(&self.cfg.subscription_id, &xc, name));
        }
        if self.take_async_route_summary() {
            let id = self.start_op(
                Change::RouteSummary {
                    key: xc.service_key.clone(),
                    leg,
                },
                now,
            );
            return Ok(Err(id));
        }
        Ok(Ok(route_summary_body(&xc, leg, self.cfg.clock.utc())?))
    }

    /// PUT on a peering: returns the peering, whether it was created, and the operation id.
    pub(crate) fn put_peering(
        &mut self,
        rg: &str,
        key: &str,
        name: &str,
        body: &Value,
        now: Instant,
    ) -> Result<(SimCrossConnection, SimPeering, bool, String), ArmError> {
        let current = self.xc_in(rg, key)?.clone();
        if !name.eq_ignore_ascii_case(PRIVATE_PEERING) {
            return Err(ArmError::invalid(
                "name",
                format!("Peering '{name}' is not supported; only {PRIVATE_PEERING} is."),
            ));
        }
        let peering = parse_peering(body)?;
        if current.service_provider_provisioning_state != "Provisioned" {
            return Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "CrossConnectionNotProvisioned",
                format!(
                    "Cannot create or update {PRIVATE_PEERING} on cross connection {key}: serviceProviderProvisioningState is {}, it must be Provisioned.",
                    current.service_provider_provisioning_state
                ),
            ));
        }
        let lkey = current.service_key.clone();
        self.ensure_idle(&lkey)?;
        let id = self.start_op(Change::PutPeering { key: lkey.clone() }, now);
        let xc = self.xcs.get_mut(&lkey).expect("checked above");
        let created = xc.private_peering.is_none();
        xc.private_peering = Some(peering);
        let p = xc.private_peering.clone().expect("just set");
        Ok((xc.clone(), p, created, id))
    }

    /// DELETE on a peering: `None` when there was nothing to delete.
    pub(crate) fn delete_peering(
        &mut self,
        rg: &str,
        key: &str,
        name: &str,
        now: Instant,
    ) -> Result<Option<String>, ArmError> {
        let current = self.xc_in(rg, key)?.clone();
        if !name.eq_ignore_ascii_case(PRIVATE_PEERING) || current.private_peering.is_none() {
            return Ok(None);
        }
        let lkey = current.service_key.clone();
        self.ensure_idle(&lkey)?;
        let id = self.start_op(Change::DeletePeering { key: lkey.clone() }, now);
        if let Some(p) = self
            .xcs
            .get_mut(&lkey)
            .and_then(|x| x.private_peering.as_mut())
        {
            p.provisioning_state = "Deleting".to_owned();
        }
        Ok(Some(id))
    }

    // ----- control plane -----

    pub(crate) fn set_leg_up(
        &mut self,
        key: &str,
        leg: SimLeg,
        up: bool,
    ) -> Result<SimCrossConnection, ControlError> {
        let xc = self
            .xcs
            .get_mut(&key.to_ascii_lowercase())
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no cross-connection {key}")))?;
        bgp_mut(xc, leg).forced_down = !up;
        self.refresh_bgp();
        Ok(self.cross_connection(key).expect("checked above"))
    }

    /// The circuit's owner changes its bandwidth. Azure upgrades a circuit
    /// in place and refuses a downgrade (the circuit must be recreated).
    pub(crate) fn set_circuit_bandwidth(
        &mut self,
        key: &str,
        mbps: u32,
    ) -> Result<SimCrossConnection, ControlError> {
        const OFFERED: [u32; 8] = [50, 100, 200, 500, 1000, 2000, 5000, 10000];
        if !OFFERED.contains(&mbps) {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("{mbps} Mbps is not an ExpressRoute bandwidth; one of {OFFERED:?}"),
            ));
        }
        let xc = self
            .xcs
            .get_mut(&key.to_ascii_lowercase())
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no cross-connection {key}")))?;
        if mbps < xc.bandwidth_in_mbps {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "a circuit's bandwidth can only go up ({} → {mbps} Mbps is a downgrade)",
                    xc.bandwidth_in_mbps
                ),
            ));
        }
        xc.bandwidth_in_mbps = mbps;
        Ok(self.cross_connection(key).expect("checked above"))
    }

    /// The customer's own peering: `(cross-connection, created)`.
    pub(crate) fn customer_private_peering(
        &mut self,
        key: &str,
        req: &CustomerPeering,
    ) -> Result<(SimCrossConnection, bool), ControlError> {
        let lkey = key.to_ascii_lowercase();
        let xc = self
            .xcs
            .get(&lkey)
            .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no cross-connection {key}")))?;
        if xc.service_provider_provisioning_state != "Provisioned"
            || xc.provisioning_state != "Succeeded"
        {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "cross-connection {key} is {} (provisioningState {}); the provider must provision it before the private peering can be configured",
                    xc.service_provider_provisioning_state, xc.provisioning_state
                ),
            ));
        }
        if self.busy(&lkey) {
            return Err((
                StatusCode::CONFLICT,
                format!("another operation on cross-connection {key} is in progress"),
            ));
        }
        let mut props = json!({
            "peeringType": PRIVATE_PEERING,
            "peerASN": req.peer_asn,
            "primaryPeerAddressPrefix": req.primary_peer_address_prefix,
            "secondaryPeerAddressPrefix": req.secondary_peer_address_prefix,
            "vlanId": req.vlan_id,
        });
        if let Some(k) = &req.shared_key {
            props["sharedKey"] = json!(k);
        }
        let mut peering = parse_peering(&json!({ "properties": props }))
            .map_err(|e| (StatusCode::BAD_REQUEST, e.message))?;
        peering.provisioning_state = "Succeeded".to_owned();
        peering.last_modified_by = "Customer".to_owned();
        let xc = self.xcs.get_mut(&lkey).expect("checked above");
        let created = xc.private_peering.is_none();
        xc.private_peering = Some(peering);
        xc.etag = uuid::Uuid::new_v4().to_string();
        self.refresh_bgp();
        Ok((self.cross_connection(key).expect("checked above"), created))
    }

    pub(crate) fn retry_after_secs(&self) -> u64 {
        let d = self.cfg.lro_delay;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

fn bgp_mut(xc: &mut SimCrossConnection, leg: SimLeg) -> &mut SimBgpSession {
    match leg {
        SimLeg::Primary => &mut xc.primary_bgp,
        SimLeg::Secondary => &mut xc.secondary_bgp,
    }
}

/// `Ok(())` when the leg's session is Established, else the BGP state the
/// MSEE shows.
fn session_state(xc: &SimCrossConnection, leg: SimLeg) -> Result<(), &'static str> {
    let Some(p) = &xc.private_peering else {
        return Err("Idle");
    };
    if p.state != "Enabled" {
        return Err("Idle (Admin)");
    }
    if xc.service_provider_provisioning_state != "Provisioned"
        || xc.provisioning_state != "Succeeded"
        || p.provisioning_state != "Succeeded"
    {
        return Err("Idle");
    }
    let session = match leg {
        SimLeg::Primary => &xc.primary_bgp,
        SimLeg::Secondary => &xc.secondary_bgp,
    };
    if session.forced_down {
        return Err("Active");
    }
    Ok(())
}

/// NRP's answer for a missing child resource (the parent exists).
fn peering_not_found(sub: &str, xc: &SimCrossConnection, name: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "Resource /subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.Network/expressRouteCrossConnections/{}/peerings/{name} not found.",
            xc.resource_group, xc.service_key
        ),
    )
}

/// The `routeTablesSummary` body for one leg of a cross-connection that has
/// a private peering.
fn route_summary_body(
    xc: &SimCrossConnection,
    leg: SimLeg,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, ArmError> {
    let p = xc.private_peering.as_ref().ok_or_else(|| {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "Cross connection {} has no {PRIVATE_PEERING}.",
                xc.service_key
            ),
        )
    })?;
    let prefix = match leg {
        SimLeg::Primary => &p.primary_peer_address_prefix,
        SimLeg::Secondary => &p.secondary_peer_address_prefix,
    };
    let session = match leg {
        SimLeg::Primary => &xc.primary_bgp,
        SimLeg::Secondary => &xc.secondary_bgp,
    };
    let network: Ipv4Addr = prefix
        .split_once('/')
        .and_then(|(a, _)| a.parse().ok())
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let microsoft = Ipv4Addr::from(u32::from(network).wrapping_add(2));
    let state = match session_state(xc, leg) {
        Ok(()) => PREFIXES_RECEIVED.to_string(),
        Err(s) => s.to_owned(),
    };
    let up_down = match session.since {
        None => "never".to_owned(),
        Some(t) => format_up_down(now - t),
    };
    Ok(json!({ "value": [{
        "neighbor": microsoft.to_string(),
        "asn": AZURE_ASN,
        "upDown": up_down,
        "stateOrPrefixesReceived": state,
    }]}))
}

/// `hh:mm:ss` under a day, then `<d>d<hh>h`, as IOS shows it.
fn format_up_down(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    if days > 0 {
        format!("{days}d{:02}h", rem / 3600)
    } else {
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

/// `name eq 'x'` (the only filter ARM supports here).
fn parse_name_filter(filter: &str) -> Option<String> {
    let f = filter.trim();
    let (field, rest) = f.split_once(char::is_whitespace)?;
    if !field.eq_ignore_ascii_case("name") {
        return None;
    }
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace)?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let v = value.trim();
    let v = v.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(v.to_owned())
}

fn parse_peering(body: &Value) -> Result<SimPeering, ArmError> {
    let props = body
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or_else(|| {
            ArmError::invalid(
                "properties",
                "The request body must have a 'properties' object.",
            )
        })?;
    let field = |name: &str| props.get(name).filter(|v| !v.is_null());
    if let Some(t) = field("peeringType")
        && t.as_str() != Some(PRIVATE_PEERING)
    {
        return Err(ArmError::invalid(
            "properties.peeringType",
            format!("peeringType must be {PRIVATE_PEERING}."),
        ));
    }
    if let Some(a) = field("azureASN")
        && a.as_u64() != Some(u64::from(AZURE_ASN))
    {
        return Err(ArmError::invalid(
            "properties.azureASN",
            format!("azureASN is read-only and is always {AZURE_ASN}."),
        ));
    }
    let peer_asn = field("peerASN")
        .and_then(Value::as_u64)
        .filter(|a| (1..=u64::from(u32::MAX)).contains(a))
        .ok_or_else(|| {
            ArmError::invalid(
                "properties.peerASN",
                "peerASN is required and must be between 1 and 4294967295.",
            )
        })?;
    let vlan_id = field("vlanId")
        .and_then(Value::as_u64)
        .filter(|v| (1..=4094).contains(v))
        .ok_or_else(|| {
            ArmError::invalid(
                "properties.vlanId",
                "vlanId is required and must be between 1 and 4094.",
            )
        })?;
    let primary = prefix30(
        field("primaryPeerAddressPrefix"),
        "primaryPeerAddressPrefix",
    )?;
    let secondary = prefix30(
        field("secondaryPeerAddressPrefix"),
        "secondaryPeerAddressPrefix",
    )?;
    if primary == secondary {
        return Err(ArmError::invalid(
            "properties.secondaryPeerAddressPrefix",
            "secondaryPeerAddressPrefix must differ from primaryPeerAddressPrefix.",
        ));
    }
    let shared_key = match field("sharedKey") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 25 => Some(s.clone()),
        Some(_) => {
            return Err(ArmError::invalid(
                "properties.sharedKey",
                "sharedKey must be a string of 1 to 25 characters.",
            ));
        }
    };
    let state = match field("state").map(|s| s.as_str()) {
        None | Some(Some("Enabled")) => "Enabled",
        Some(Some("Disabled")) => "Disabled",
        Some(_) => {
            return Err(ArmError::invalid(
                "properties.state",
                "state must be Enabled or Disabled.",
            ));
        }
    };
    Ok(SimPeering {
        peer_asn: u32::try_from(peer_asn).unwrap_or(u32::MAX),
        primary_peer_address_prefix: primary,
        secondary_peer_address_prefix: secondary,
        vlan_id: u16::try_from(vlan_id).unwrap_or(0),
        shared_key,
        azure_asn: AZURE_ASN,
        state: state.to_owned(),
        provisioning_state: "Updating".to_owned(),
        last_modified_by: "ServiceProvider".to_owned(),
    })
}

/// A valid IPv4 /30 with its host bits clear.
fn prefix30(v: Option<&Value>, name: &str) -> Result<String, ArmError> {
    let target = format!("properties.{name}");
    let bad = || {
        ArmError::invalid(
            &target,
            format!("{name} must be an IPv4 /30 prefix such as 192.168.100.0/30."),
        )
    };
    let s = v.and_then(Value::as_str).ok_or_else(bad)?;
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    if len != "30" {
        return Err(bad());
    }
    if u32::from(addr) & 0b11 != 0 {
        return Err(ArmError::invalid(
            &target,
            format!("{name} {s} is not a network address (host bits set)."),
        ));
    }
    Ok(format!("{addr}/30"))
}
