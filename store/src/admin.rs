//! Inventory administration: create, read, update and delete PE routers,
//! their ports, NNIs and the resource pools (link-net, ASN, route-target).
//!
//! Every write validates the whole resulting object first (a PATCH is merged
//! onto the stored row, then validated like a create) and reports every field
//! at fault at once. Writes that would strand something are refused and say
//! what they would strand:
//!
//! - deleting a PE with ports, a port carrying NNIs or allocated VLANs, an
//!   NNI that connectors reference, a pool with allocations or NNIs;
//! - shrinking a port's VLAN range, an ASN or route-target range or a
//!   link-net pool so that an allocated value falls outside;
//! - moving a live NNI to another port, pool, CSP or peer ASN, or lowering
//!   its capacity below a live connector's bandwidth.
//!
//! Names are unique where the schema says so (PE, pool names; port name per
//! PE; one NNI per CSP and location); a clash is a [`AdminError::Conflict`]
//! naming the field, as is a pool that overlaps another one.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use chrono::Utc;
use onramp_checks::Coded;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use serde_json::Value;
use uuid::Uuid;

use crate::alloc::{self, parse_cidr};
use crate::entity::{
    allocation, asn_pool, connector, linknet_pool, nni, pe_change, pe_port, pe_router,
    route_target_pool, tenant,
};

/// The CSPs an NNI can face.
pub const CSPS: &[&str] = &["aws", "azure", "gcp"];

/// RFC 6996 private ASN ranges, the only ones an ASN pool may hand out.
pub const PRIVATE_ASN_RANGES: &[(i64, i64)] = &[(64_512, 65_534), (4_200_000_000, 4_294_967_294)];

/// Link-net pools live inside 169.254.0.0/16 (link-local, what the CSPs peer on).
pub const LINKNET_SUPERNET: (Ipv4Addr, u8) = (Ipv4Addr::new(169, 254, 0, 0), 16);

/// The smallest link-net pool: a /29 (four /31s, or one Google /29).
pub const LINKNET_MAX_PREFIX: u8 = 29;

/// Connector states after which a connector holds nothing any more (its row
/// stays for the record).
pub const FINISHED_STATES: &[&str] = &["deleted", "failed", "rejected"];

/// How many users an in-use message lists before it says "and N more".
const LIST_LIMIT: usize = 8;

// ===== errors =====

/// One field at fault, named as in the API's JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub field: String,
    /// Stable machine-readable reason, e.g. `invalid_format`, `out_of_range`.
    pub code: String,
    pub detail: String,
}

/// Why an inventory write was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{what} not found")]
    NotFound { what: String },
    /// The input is invalid; every field at fault is listed.
    #[error("invalid input: {}", .0.iter().map(|i| format!("{}: {}", i.field, i.detail)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Issue>),
    /// The input collides with another object: a duplicate name, an
    /// overlapping pool.
    #[error("{message}")]
    Conflict { message: String, issues: Vec<Issue> },
    /// The object is used by others (connectors, allocations, NNIs, ports):
    /// `message` names them. `issues` names the fields whose change is refused
    /// (empty for a delete).
    #[error("{message}")]
    InUse { message: String, issues: Vec<Issue> },
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl From<DbErr> for AdminError {
    fn from(e: DbErr) -> Self {
        AdminError::Store(crate::Error::Db(e))
    }
}

pub type AdminResult<T> = std::result::Result<T, AdminError>;

#[derive(Default)]
struct Issues(Vec<Issue>);

impl Issues {
    fn add(&mut self, field: &str, code: &str, detail: impl Into<String>) {
        self.0.push(Issue {
            field: field.into(),
            code: code.into(),
            detail: detail.into(),
        });
    }

    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|i| i.field == field)
    }

    fn into_result(self) -> AdminResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AdminError::Invalid(self.0))
        }
    }
}

fn conflict(field: &str, code: &str, message: String) -> AdminError {
    AdminError::Conflict {
        issues: vec![Issue {
            field: field.into(),
            code: code.into(),
            detail: message.clone(),
        }],
        message,
    }
}

fn duplicate(field: &str, message: String) -> AdminError {
    conflict(field, "duplicate", message)
}

fn in_use(message: String, fields: &[&str]) -> AdminError {
    AdminError::InUse {
        issues: fields
            .iter()
            .map(|f| Issue {
                field: (*f).into(),
                code: "in_use".into(),
                detail: message.clone(),
            })
            .collect(),
        message,
    }
}

fn not_found(what: String) -> AdminError {
    AdminError::NotFound { what }
}

fn is_unique_violation(e: &AdminError) -> bool {
    matches!(e, AdminError::Store(crate::Error::Db(db)) if matches!(db.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
}

/// Maps a unique-key violation that slipped past our pre-check (a concurrent
/// writer) to the same conflict the pre-check would have reported.
fn or_duplicate(e: AdminError, field: &str, message: impl FnOnce() -> String) -> AdminError {
    if is_unique_violation(&e) {
        duplicate(field, message())
    } else {
        e
    }
}

// ===== field checks =====

/// `[a-z0-9-]{1,63}`: PE and pool names.
pub fn valid_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An IP address, or a hostname (RFC 1123 labels; the last label is not all
/// digits, so `10.0.0.256` is refused rather than looked up).
pub fn valid_host(h: &str) -> bool {
    if h.parse::<IpAddr>().is_ok() {
        return true;
    }
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.is_empty() || h.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.iter().all(label_ok)
        && !labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// `SHA256:` and 43 base64 characters (an unpadded SHA-256 digest), as
/// `ssh-keygen -lf` prints it.
pub fn valid_fingerprint(f: &str) -> bool {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let Some(b) = f.strip_prefix("SHA256:") else {
        return false;
    };
    let bytes = b.as_bytes();
    bytes.len() == 43
        && bytes.iter().all(|c| B64.contains(c))
        // 256 bits in 43 sextets leave the last two bits zero.
        && B64
            .iter()
            .position(|c| *c == bytes[42])
            .is_some_and(|i| i % 4 == 0)
}

/// Printable ASCII without spaces, 1..=64 characters: interface names such
/// as `ge-0/0/1` or `HundredGigE0/0/0/1`.
fn valid_port_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

fn valid_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

fn valid_username(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// An ASN that identifies an AS: a peer's, or a route target's
/// administrator.
fn check_asn(issues: &mut Issues, field: &str, asn: i64) {
    if let Err(e) = onramp_checks::asn::usable(asn) {
        issues.add(field, e.code(), e.to_string());
    }
}

fn list<T: AsRef<str>>(items: &[T]) -> String {
    let shown: Vec<&str> = items.iter().take(LIST_LIMIT).map(AsRef::as_ref).collect();
    let mut s = shown.join(", ");
    if items.len() > LIST_LIMIT {
        s.push_str(&format!(" and {} more", items.len() - LIST_LIMIT));
    }
    s
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ===== allocations and who holds them =====

async fn allocations<C: ConnectionTrait>(
    db: &C,
    resource: &str,
    scope: Uuid,
) -> AdminResult<Vec<allocation::Model>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Resource.eq(resource))
        .filter(allocation::Column::Scope.eq(scope.to_string()))
        .order_by_asc(allocation::Column::Value)
        .all(db)
        .await?)
}

/// How many values of `resource` are allocated in `scope` (a port id for
/// VLANs, a pool id otherwise).
pub async fn allocated_count<C: ConnectionTrait>(
    db: &C,
    resource: &str,
    scope: Uuid,
) -> AdminResult<u64> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Resource.eq(resource))
        .filter(allocation::Column::Scope.eq(scope.to_string()))
        .count(db)
        .await?)
}

/// Labels of the holders of `allocs`, by allocation id: `connector <id>
/// (<state>, tenant <name>)` or `tenant <name>`.
async fn holders<C: ConnectionTrait>(
    db: &C,
    allocs: &[allocation::Model],
) -> AdminResult<HashMap<i64, String>> {
    let connector_ids: HashSet<Uuid> = allocs.iter().filter_map(|a| a.connector_id).collect();
    let connectors: HashMap<Uuid, connector::Model> = if connector_ids.is_empty() {
        HashMap::new()
    } else {
        connector::Entity::find()
            .filter(connector::Column::Id.is_in(connector_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let mut tenant_ids: HashSet<Uuid> = allocs.iter().filter_map(|a| a.tenant_id).collect();
    tenant_ids.extend(connectors.values().map(|c| c.tenant_id));
    let tenants: HashMap<Uuid, String> = if tenant_ids.is_empty() {
        HashMap::new()
    } else {
        tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(tenant_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect()
    };
    let tenant_name = |id: &Uuid| tenants.get(id).cloned().unwrap_or_else(|| id.to_string());
    Ok(allocs
        .iter()
        .map(|a| {
            let label = match (a.connector_id, a.tenant_id) {
                (Some(c), _) => match connectors.get(&c) {
                    Some(row) => format!(
                        "connector {c} ({}, tenant {})",
                        row.state,
                        tenant_name(&row.tenant_id)
                    ),
                    None => format!("connector {c}"),
                },
                (None, Some(t)) => format!("tenant {} (its VRF)", tenant_name(&t)),
                (None, None) => "no recorded owner".into(),
            };
            (a.id, label)
        })
        .collect())
}

/// `"<what> → <holder>"` for each allocation, `what` rendered by `show`.
async fn describe<C: ConnectionTrait>(
    db: &C,
    allocs: &[allocation::Model],
    show: impl Fn(i64) -> String,
) -> AdminResult<Vec<String>> {
    let who = holders(db, allocs).await?;
    Ok(allocs
        .iter()
        .map(|a| format!("{} → {}", show(a.value), who[&a.id]))
        .collect())
}

/// Link-net allocations are one row per /31 (an offset from the pool's
/// base); this merges each holder's rows back into the blocks they got.
async fn describe_subnets<C: ConnectionTrait>(
    db: &C,
    allocs: &[allocation::Model],
    base: Ipv4Addr,
) -> AdminResult<Vec<String>> {
    let who = holders(db, allocs).await?;
    let mut sorted: Vec<&allocation::Model> = allocs.iter().collect();
    sorted.sort_by_key(|a| (a.connector_id, a.tenant_id, a.value));
    let mut runs: Vec<(i64, i64, String)> = Vec::new();
    for a in sorted {
        let holder = &who[&a.id];
        match runs.last_mut() {
            Some((start, len, h)) if h == holder && *start + *len == a.value => *len += 1,
            _ => runs.push((a.value, 1, holder.clone())),
        }
    }
    runs.sort_by_key(|r| r.0);
    let addr = |unit: i64| Ipv4Addr::from(u32::from(base).wrapping_add((unit as u32) * 2));
    Ok(runs
        .into_iter()
        .map(|(start, len, holder)| {
            let block = if len.count_ones() == 1 && start % len == 0 {
                format!("{}/{}", addr(start), 31 - len.trailing_zeros())
            } else {
                format!("{}-{}", addr(start), addr(start + len - 1))
            };
            format!("{block} → {holder}")
        })
        .collect())
}

fn attributes_of(n: &nni::Model) -> AdminResult<Value> {
    serde_json::from_str(&n.attributes).map_err(|e| {
        AdminError::Store(crate::Error::Corrupt(format!(
            "attributes of NNI {}: {e}",
            n.name
        )))
    })
}

fn nni_label(n: &nni::Model) -> String {
    format!("NNI {} ({} {})", n.location_code, n.csp, n.name)
}

/// NNIs that use `port_id`, as their port or as Azure's secondary port.
async fn nnis_on_port<C: ConnectionTrait>(db: &C, port_id: Uuid) -> AdminResult<Vec<String>> {
    let mut out: Vec<String> = nni::Entity::find()
        .filter(nni::Column::PortId.eq(port_id))
        .order_by_asc(nni::Column::LocationCode)
        .all(db)
        .await?
        .iter()
        .map(nni_label)
        .collect();
    for n in nni::Entity::find()
        .filter(nni::Column::Csp.eq("azure"))
        .all(db)
        .await?
    {
        let attrs = attributes_of(&n)?;
        if attrs.get("secondary_port_id").and_then(Value::as_str) == Some(&port_id.to_string()) {
            out.push(format!("{} as its secondary port", nni_label(&n)));
        }
    }
    Ok(out)
}

// ===== PE routers =====

/// A PE router as stored. `password` is write-only at the API.
#[derive(Clone, Debug)]
pub struct PeSpec {
    pub name: String,
    pub host: String,
    pub netconf_port: i64,
    pub username: String,
    pub password: String,
    pub host_key_fingerprint: Option<String>,
    pub platform: String,
}

/// A partial update; `None` leaves a field as it is. `host_key_fingerprint:
/// Some(None)` unpins the key.
#[derive(Clone, Debug, Default)]
pub struct PePatch {
    pub name: Option<String>,
    pub host: Option<String>,
    pub netconf_port: Option<i64>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub host_key_fingerprint: Option<Option<String>>,
    pub platform: Option<String>,
}

impl PeSpec {
    fn of(m: &pe_router::Model) -> Self {
        PeSpec {
            name: m.name.clone(),
            host: m.host.clone(),
            netconf_port: m.port.into(),
            username: m.username.clone(),
            password: m.password.clone(),
            host_key_fingerprint: m.host_key_fingerprint.clone(),
            platform: m.platform.clone(),
        }
    }

    fn patch(mut self, p: PePatch) -> Self {
        if let Some(v) = p.name {
            self.name = v;
        }
        if let Some(v) = p.host {
            self.host = v;
        }
        if let Some(v) = p.netconf_port {
            self.netconf_port = v;
        }
        if let Some(v) = p.username {
            self.username = v;
        }
        if let Some(v) = p.password {
            self.password = v;
        }
        if let Some(v) = p.host_key_fingerprint {
            self.host_key_fingerprint = v;
        }
        if let Some(v) = p.platform {
            self.platform = v;
        }
        self
    }

    /// Checks every field; `platforms` are the template folders a PE may use.
    pub fn validate(&self, platforms: &[String]) -> AdminResult<()> {
        let mut i = Issues::default();
        if !valid_name(&self.name) {
            i.add(
                "name",
                "invalid_format",
                format!(
                    "`{}` is not a PE name: use 1-63 of a-z, 0-9 and -",
                    self.name
                ),
            );
        }
        if !valid_host(&self.host) {
            i.add(
                "host",
                "invalid_format",
                format!("`{}` is neither an IP address nor a hostname", self.host),
            );
        } else if let Ok(ip) = self.host.parse::<IpAddr>() {
            let refused = match ip {
                IpAddr::V4(v4) => onramp_checks::ipv4::reachable(v4)
                    .err()
                    .map(|e| (e.code(), e.to_string())),
                IpAddr::V6(v6) => onramp_checks::ipv6::reachable(v6)
                    .err()
                    .map(|e| (e.code(), e.to_string())),
            };
            if let Some((code, detail)) = refused {
                i.add("host", code, detail);
            }
        }
        if !(1..=65_535).contains(&self.netconf_port) {
            i.add(
                "netconf_port",
                "out_of_range",
                format!("port {} is outside 1-65535", self.netconf_port),
            );
        }
        if !valid_username(&self.username) {
            i.add(
                "username",
                "invalid_format",
                "the username must be 1-64 printable characters without spaces",
            );
        }
        if self.password.is_empty() || self.password.len() > 256 {
            i.add(
                "password",
                "invalid_length",
                "the password must be 1-256 bytes",
            );
        }
        if let Some(fp) = &self.host_key_fingerprint
            && !valid_fingerprint(fp)
        {
            i.add(
                "host_key_fingerprint",
                "invalid_format",
                format!(
                    "`{fp}` is not an SSH fingerprint: expected `SHA256:` and 43 base64 characters, as `ssh-keygen -lf` prints it"
                ),
            );
        }
        if !platforms.contains(&self.platform) {
            i.add(
                "platform",
                "unknown_platform",
                format!(
                    "`{}` is not a platform; available: {}",
                    self.platform,
                    platforms.join(", ")
                ),
            );
        }
        i.into_result()
    }
}

async fn pe_name_taken<C: ConnectionTrait>(
    db: &C,
    name: &str,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let mut q = pe_router::Entity::find().filter(pe_router::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(pe_router::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(duplicate(
            "name",
            format!("a PE named `{name}` already exists"),
        ));
    }
    Ok(())
}

/// Creates a PE; its password is stored sealed with `secrets`.
pub async fn create_pe(
    db: &DatabaseConnection,
    spec: PeSpec,
    platforms: &[String],
    secrets: &crate::secrets::SecretBox,
) -> AdminResult<pe_router::Model> {
    spec.validate(platforms)?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        pe_name_taken(&tx, &spec.name, None).await?;
        let m = pe_router::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(spec.name),
            host: Set(spec.host),
            port: Set(spec.netconf_port as i32),
            username: Set(spec.username),
            password: Set(secrets.seal(&spec.password)),
            host_key_fingerprint: Set(spec.host_key_fingerprint),
            platform: Set(spec.platform),
            lease_until_ms: Set(None),
            lease_holder: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || format!("a PE named `{name}` already exists")))
}

pub async fn get_pe<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<pe_router::Model> {
    pe_router::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("PE {id}")))
}

pub async fn list_pes(db: &DatabaseConnection) -> AdminResult<Vec<pe_router::Model>> {
    Ok(pe_router::Entity::find()
        .order_by_asc(pe_router::Column::Name)
        .all(db)
        .await?)
}

/// Updates a PE; a new password is sealed with `secrets`, an absent one
/// keeps the stored (sealed) value.
pub async fn update_pe(
    db: &DatabaseConnection,
    id: Uuid,
    patch: PePatch,
    platforms: &[String],
    secrets: &crate::secrets::SecretBox,
) -> AdminResult<pe_router::Model> {
    let new_password = patch.password.clone();
    let current = get_pe(db, id).await?;
    let spec = PeSpec::of(&current).patch(patch);
    spec.validate(platforms)?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_pe(&tx, id).await?;
        pe_name_taken(&tx, &spec.name, Some(id)).await?;
        let mut am: pe_router::ActiveModel = current.into();
        am.name = Set(spec.name);
        am.host = Set(spec.host);
        am.port = Set(spec.netconf_port as i32);
        am.username = Set(spec.username);
        if let Some(p) = &new_password {
            am.password = Set(secrets.seal(p));
        }
        am.host_key_fingerprint = Set(spec.host_key_fingerprint);
        am.platform = Set(spec.platform);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || format!("a PE named `{name}` already exists")))
}

/// Refused while the PE has ports or recorded router changes.
pub async fn delete_pe(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let pe = get_pe(&tx, id).await?;
    let ports = pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(id))
        .order_by_asc(pe_port::Column::Name)
        .all(&tx)
        .await?;
    let mut users = Vec::new();
    if !ports.is_empty() {
        let mut names = Vec::new();
        for p in &ports {
            let nnis = nnis_on_port(&tx, p.id).await?;
            let vlans = allocated_count(&tx, alloc::VLAN, p.id).await?;
            let mut what = Vec::new();
            if !nnis.is_empty() {
                what.push(nnis.join(", "));
            }
            if vlans > 0 {
                what.push(plural(vlans as usize, "allocated VLAN", "allocated VLANs"));
            }
            names.push(if what.is_empty() {
                p.name.clone()
            } else {
                format!("{} (carrying {})", p.name, what.join(" and "))
            });
        }
        users.push(format!(
            "{}: {}",
            plural(ports.len(), "port", "ports"),
            list(&names)
        ));
    }
    let changes = pe_change::Entity::find()
        .filter(pe_change::Column::PeId.eq(id))
        .all(&tx)
        .await?;
    if !changes.is_empty() {
        let pending = changes.iter().filter(|c| c.status == "pending").count();
        users.push(format!(
            "{} in its history ({pending} pending)",
            plural(changes.len(), "router change", "router changes")
        ));
    }
    if !users.is_empty() {
        return Err(in_use(
            format!(
                "PE {} is in use: it has {}; delete its ports first",
                pe.name,
                users.join(" and ")
            ),
            &[],
        ));
    }
    pe_router::Entity::delete_by_id(id).exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}

// ===== ports =====

#[derive(Clone, Debug)]
pub struct PortSpec {
    pub name: String,
    pub vlan_min: i64,
    pub vlan_max: i64,
}

#[derive(Clone, Debug, Default)]
pub struct PortPatch {
    pub name: Option<String>,
    pub vlan_min: Option<i64>,
    pub vlan_max: Option<i64>,
}

impl PortSpec {
    fn of(m: &pe_port::Model) -> Self {
        PortSpec {
            name: m.name.clone(),
            vlan_min: m.vlan_min.into(),
            vlan_max: m.vlan_max.into(),
        }
    }

    fn patch(mut self, p: PortPatch) -> Self {
        if let Some(v) = p.name {
            self.name = v;
        }
        if let Some(v) = p.vlan_min {
            self.vlan_min = v;
        }
        if let Some(v) = p.vlan_max {
            self.vlan_max = v;
        }
        self
    }

    pub fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        if !valid_port_name(&self.name) {
            i.add(
                "name",
                "invalid_format",
                "the port name must be 1-64 printable characters without spaces, e.g. ge-0/0/1",
            );
        }
        for (field, v) in [("vlan_min", self.vlan_min), ("vlan_max", self.vlan_max)] {
            if let Err(e) = onramp_checks::vlan::id(v) {
                i.add(field, e.code(), e.to_string());
            }
        }
        if !i.has("vlan_min") && !i.has("vlan_max") && self.vlan_min > self.vlan_max {
            i.add(
                "vlan_max",
                "less_than_min",
                format!(
                    "vlan_max {} is below vlan_min {}",
                    self.vlan_max, self.vlan_min
                ),
            );
        }
        i.into_result()
    }
}

async fn port_name_taken<C: ConnectionTrait>(
    db: &C,
    pe: &pe_router::Model,
    name: &str,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let mut q = pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(pe.id))
        .filter(pe_port::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(pe_port::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(duplicate(
            "name",
            format!("PE {} already has a port named `{name}`", pe.name),
        ));
    }
    Ok(())
}

pub async fn create_port(
    db: &DatabaseConnection,
    pe_id: Uuid,
    spec: PortSpec,
) -> AdminResult<pe_port::Model> {
    let pe = get_pe(db, pe_id).await?;
    spec.validate()?;
    let (pe_name, name) = (pe.name.clone(), spec.name.clone());
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        port_name_taken(&tx, &pe, &spec.name, None).await?;
        let m = pe_port::ActiveModel {
            id: Set(Uuid::new_v4()),
            pe_id: Set(pe.id),
            name: Set(spec.name),
            vlan_min: Set(spec.vlan_min as i32),
            vlan_max: Set(spec.vlan_max as i32),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await.map_err(|e| {
        or_duplicate(e, "name", || {
            format!("PE {pe_name} already has a port named `{name}`")
        })
    })
}

pub async fn get_port<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<pe_port::Model> {
    pe_port::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("port {id}")))
}

/// The ports of one PE, by name; not found if the PE is unknown.
pub async fn list_ports(db: &DatabaseConnection, pe_id: Uuid) -> AdminResult<Vec<pe_port::Model>> {
    get_pe(db, pe_id).await?;
    Ok(pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(pe_id))
        .order_by_asc(pe_port::Column::Name)
        .all(db)
        .await?)
}

/// Refused when the new VLAN range would leave an allocated VLAN outside.
pub async fn update_port(
    db: &DatabaseConnection,
    id: Uuid,
    patch: PortPatch,
) -> AdminResult<pe_port::Model> {
    let current = get_port(db, id).await?;
    let spec = PortSpec::of(&current).patch(patch);
    spec.validate()?;
    let name = spec.name.clone();
    let pe = get_pe(db, current.pe_id).await?;
    let pe_name = pe.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_port(&tx, id).await?;
        port_name_taken(&tx, &pe, &spec.name, Some(id)).await?;
        let allocs = allocations(&tx, alloc::VLAN, id).await?;
        let below: Vec<allocation::Model> = allocs
            .iter()
            .filter(|a| a.value < spec.vlan_min)
            .cloned()
            .collect();
        let above: Vec<allocation::Model> = allocs
            .iter()
            .filter(|a| a.value > spec.vlan_max)
            .cloned()
            .collect();
        if !below.is_empty() || !above.is_empty() {
            let mut outside = below.clone();
            outside.extend(above.iter().cloned());
            let items = describe(&tx, &outside, |v| format!("VLAN {v}")).await?;
            let mut fields = Vec::new();
            if !below.is_empty() {
                fields.push("vlan_min");
            }
            if !above.is_empty() {
                fields.push("vlan_max");
            }
            return Err(in_use(
                format!(
                    "port {} on {} cannot shrink to VLANs {}-{}: {} would fall outside ({}); release them first",
                    current.name,
                    pe.name,
                    spec.vlan_min,
                    spec.vlan_max,
                    plural(outside.len(), "allocated VLAN", "allocated VLANs"),
                    list(&items)
                ),
                &fields,
            ));
        }
        let mut am: pe_port::ActiveModel = current.into();
        am.name = Set(spec.name);
        am.vlan_min = Set(spec.vlan_min as i32);
        am.vlan_max = Set(spec.vlan_max as i32);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await.map_err(|e| {
        or_duplicate(e, "name", || {
            format!("PE {pe_name} already has a port named `{name}`")
        })
    })
}

/// Refused while NNIs sit on the port or VLANs are allocated on it.
pub async fn delete_port(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let port = get_port(&tx, id).await?;
    let pe = get_pe(&tx, port.pe_id).await?;
    let mut users = Vec::new();
    let allocs = allocations(&tx, alloc::VLAN, id).await?;
    if !allocs.is_empty() {
        let items = describe(&tx, &allocs, |v| format!("VLAN {v}")).await?;
        users.push(format!(
            "{} ({})",
            plural(allocs.len(), "allocated VLAN", "allocated VLANs"),
            list(&items)
        ));
    }
    let nnis = nnis_on_port(&tx, id).await?;
    if !nnis.is_empty() {
        users.push(list(&nnis));
    }
    if !users.is_empty() {
        return Err(in_use(
            format!(
                "port {} on {} is in use: it carries {}",
                port.name,
                pe.name,
                users.join(" and ")
            ),
            &[],
        ));
    }
    pe_port::Entity::delete_by_id(id).exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}

// ===== NNIs =====

#[derive(Clone, Debug)]
pub struct NniSpec {
    pub csp: String,
    pub location_code: String,
    pub name: String,
    pub region: String,
    pub csp_ref: String,
    pub port_id: Uuid,
    pub linknet_pool_id: Uuid,
    pub csp_asn: i64,
    pub capacity_mbps: i64,
    /// CSP-specific facts; replaced as a whole by a patch.
    pub attributes: Value,
}

#[derive(Clone, Debug, Default)]
pub struct NniPatch {
    pub csp: Option<String>,
    pub location_code: Option<String>,
    pub name: Option<String>,
    pub region: Option<String>,
    pub csp_ref: Option<String>,
    pub port_id: Option<Uuid>,
    pub linknet_pool_id: Option<Uuid>,
    pub csp_asn: Option<i64>,
    pub capacity_mbps: Option<i64>,
    pub attributes: Option<Value>,
}

impl NniSpec {
    fn of(m: &nni::Model) -> AdminResult<Self> {
        Ok(NniSpec {
            csp: m.csp.clone(),
            location_code: m.location_code.clone(),
            name: m.name.clone(),
            region: m.region.clone(),
            csp_ref: m.csp_ref.clone(),
            port_id: m.port_id,
            linknet_pool_id: m.linknet_pool_id,
            csp_asn: m.csp_asn,
            capacity_mbps: m.capacity_mbps.into(),
            attributes: attributes_of(m)?,
        })
    }

    fn patch(mut self, p: NniPatch) -> Self {
        if let Some(v) = p.csp {
            self.csp = v;
        }
        if let Some(v) = p.location_code {
            self.location_code = v;
        }
        if let Some(v) = p.name {
            self.name = v;
        }
        if let Some(v) = p.region {
            self.region = v;
        }
        if let Some(v) = p.csp_ref {
            self.csp_ref = v;
        }
        if let Some(v) = p.port_id {
            self.port_id = v;
        }
        if let Some(v) = p.linknet_pool_id {
            self.linknet_pool_id = v;
        }
        if let Some(v) = p.csp_asn {
            self.csp_asn = v;
        }
        if let Some(v) = p.capacity_mbps {
            self.capacity_mbps = v;
        }
        if let Some(v) = p.attributes {
            self.attributes = v;
        }
        self
    }

    /// Checks the fields, then the references (port, pool, Azure's secondary
    /// port) against the database.
    async fn validate<C: ConnectionTrait>(&self, db: &C) -> AdminResult<()> {
        let mut i = Issues::default();
        let csp = self.csp.as_str();
        let known_csp = CSPS.contains(&csp);
        // A ticket provider's key is a CSP too: its NNIs carry its
        // connectors (issue 6). Their region and reference are free text.
        let ticket = !known_csp && crate::ticket_providers::by_key(db, csp).await?.is_some();
        if !known_csp && !ticket {
            i.add(
                "csp",
                "unknown_csp",
                format!(
                    "`{csp}` is not a CSP; use one of {}, or a ticket provider's key",
                    CSPS.join(", ")
                ),
            );
        }
        if ticket {
            if !(1..=40).contains(&self.region.len())
                || !self
                    .region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                i.add(
                    "region",
                    "invalid_format",
                    "a ticket provider's region is 1-40 lowercase letters, digits or `-`, e.g. us-ashburn-1",
                );
            }
            if !valid_text(&self.csp_ref, 100) {
                i.add(
                    "csp_ref",
                    "invalid_format",
                    "the provider's port or cross-connect reference: 1-100 characters, no control characters",
                );
            }
        }
        let code_ok = (1..=32).contains(&self.location_code.len())
            && self
                .location_code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !code_ok {
            i.add(
                "location_code",
                "invalid_format",
                format!(
                    "`{}` is not a location code: use 1-32 letters, digits, `-`, `_` or `.`, e.g. EqDC2",
                    self.location_code
                ),
            );
        }
        if !valid_text(&self.name, 100) {
            i.add(
                "name",
                "invalid_format",
                "the name must be 1-100 characters, not blank, without control characters",
            );
        }
        if known_csp && !valid_region(csp, &self.region) {
            let (cloud, example) = match csp {
                "aws" => ("an AWS", "us-east-1"),
                "azure" => ("an Azure", "eastus2"),
                _ => ("a Google Cloud", "us-east4"),
            };
            i.add(
                "region",
                "invalid_format",
                format!(
                    "`{}` is not {cloud} region name, e.g. {example}",
                    self.region
                ),
            );
        }
        if known_csp && !valid_csp_ref(csp, &self.csp_ref) {
            let what = match csp {
                "aws" => "an interconnect or LAG id, e.g. dxcon-fgq5f0tz or dxlag-ffrz71kw",
                "azure" => "the ExpressRoute port (or port pair) name or resource id",
                _ => {
                    "the interconnect name: lowercase letters, digits and -, starting with a letter, up to 63"
                }
            };
            i.add(
                "csp_ref",
                "invalid_format",
                format!("`{}` is not {what}", self.csp_ref),
            );
        }
        check_asn(&mut i, "csp_asn", self.csp_asn);
        if !(1..=i64::from(i32::MAX)).contains(&self.capacity_mbps) {
            i.add(
                "capacity_mbps",
                "out_of_range",
                format!(
                    "capacity {} Mbps must be above 0 (and at most {})",
                    self.capacity_mbps,
                    i32::MAX
                ),
            );
        }
        let port = pe_port::Entity::find_by_id(self.port_id).one(db).await?;
        if port.is_none() {
            i.add(
                "port_id",
                "not_found",
                format!("there is no port {}", self.port_id),
            );
        }
        if linknet_pool::Entity::find_by_id(self.linknet_pool_id)
            .one(db)
            .await?
            .is_none()
        {
            i.add(
                "linknet_pool_id",
                "not_found",
                format!("there is no link-net pool {}", self.linknet_pool_id),
            );
        }
        match self.attributes.as_object() {
            None => i.add(
                "attributes",
                "invalid_type",
                "attributes must be a JSON object",
            ),
            Some(attrs) if known_csp || ticket => {
                self.validate_attributes(db, attrs, port.as_ref(), &mut i)
                    .await?
            }
            Some(_) => {}
        }
        i.into_result()
    }

    async fn validate_attributes<C: ConnectionTrait>(
        &self,
        db: &C,
        attrs: &serde_json::Map<String, Value>,
        port: Option<&pe_port::Model>,
        i: &mut Issues,
    ) -> AdminResult<()> {
        let known: &[&str] = match self.csp.as_str() {
            "azure" => &["secondary_port_id"],
            "gcp" => &["edge_availability_domain"],
            _ => &[],
        };
        for key in attrs.keys() {
            if !known.contains(&key.as_str()) {
                let hint = if key == "region" {
                    "; the region is the NNI's top-level `region` field".to_string()
                } else if known.is_empty() {
                    format!("; {} NNIs take no attributes", self.csp)
                } else {
                    format!("; {} NNIs take {}", self.csp, known.join(", "))
                };
                i.add(
                    &format!("attributes.{key}"),
                    "unknown_field",
                    format!("unknown attribute `{key}`{hint}"),
                );
            }
        }
        match self.csp.as_str() {
            "gcp" => match attrs.get("edge_availability_domain") {
                None => i.add(
                    "attributes.edge_availability_domain",
                    "required",
                    "a Google interconnect needs its edge availability domain, 1 or 2",
                ),
                Some(v) if v.as_i64() == Some(1) || v.as_i64() == Some(2) => {}
                Some(v) => i.add(
                    "attributes.edge_availability_domain",
                    "invalid_value",
                    format!("edge availability domain {v} is not 1 or 2"),
                ),
            },
            "azure" => {
                let field = "attributes.secondary_port_id";
                match attrs.get("secondary_port_id") {
                    None | Some(Value::Null) => {}
                    Some(v) => match v.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                        None => i.add(
                            field,
                            "invalid_format",
                            format!("{v} is not a port id (UUID)"),
                        ),
                        Some(sid) if sid == self.port_id => i.add(
                            field,
                            "anti_affinity",
                            "the secondary port must not be the primary port",
                        ),
                        Some(sid) => match pe_port::Entity::find_by_id(sid).one(db).await? {
                            None => i.add(field, "not_found", format!("there is no port {sid}")),
                            Some(second) => {
                                if let Some(primary) = port
                                    && primary.pe_id == second.pe_id
                                {
                                    let pe = get_pe(db, primary.pe_id).await?;
                                    i.add(
                                        field,
                                        "anti_affinity",
                                        format!(
                                            "the secondary port {} is on {}, the primary's PE; the pair must sit on two PEs",
                                            second.name, pe.name
                                        ),
                                    );
                                }
                            }
                        },
                    },
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn valid_region(csp: &str, r: &str) -> bool {
    let lower_digit_dash = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if r.is_empty() || r.len() > 40 || !lower_digit_dash(r) {
        return false;
    }
    let parts: Vec<&str> = r.split('-').collect();
    match csp {
        // us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5
        "aws" => {
            parts.len() >= 3
                && parts[0].len() == 2
                && parts[0].bytes().all(|b| b.is_ascii_lowercase())
                && parts[1..parts.len() - 1]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
                && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
                && !parts[parts.len() - 1].is_empty()
        }
        // eastus2, westeurope, germanywestcentral
        "azure" => parts.len() == 1 && r.as_bytes()[0].is_ascii_lowercase(),
        // us-east4, europe-west3, northamerica-northeast1
        _ => {
            parts.len() == 2
                && !parts[0].is_empty()
                && parts[0].bytes().all(|b| b.is_ascii_lowercase())
                && {
                    let p = parts[1].as_bytes();
                    let letters = p.iter().take_while(|b| b.is_ascii_lowercase()).count();
                    letters > 0 && letters < p.len() && p[letters..].iter().all(u8::is_ascii_digit)
                }
        }
    }
}

fn valid_csp_ref(csp: &str, r: &str) -> bool {
    match csp {
        "aws" => ["dxcon-", "dxlag-"].iter().any(|p| {
            r.strip_prefix(p).is_some_and(|id| {
                (1..=32).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        }),
        "azure" => valid_text(r, 400) && !r.contains(char::is_whitespace),
        _ => {
            (1..=63).contains(&r.len())
                && r.as_bytes()[0].is_ascii_lowercase()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !r.ends_with('-')
        }
    }
}

async fn nni_location_taken<C: ConnectionTrait>(
    db: &C,
    csp: &str,
    location_code: &str,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let mut q = nni::Entity::find()
        .filter(nni::Column::Csp.eq(csp))
        .filter(nni::Column::LocationCode.eq(location_code));
    if let Some(id) = except {
        q = q.filter(nni::Column::Id.ne(id));
    }
    if let Some(other) = q.one(db).await? {
        return Err(duplicate(
            "location_code",
            format!(
                "{csp} already has an NNI at {location_code} ({}); one NNI per CSP and location",
                other.name
            ),
        ));
    }
    Ok(())
}

fn nni_duplicate_message(csp: &str, location_code: &str) -> String {
    format!("{csp} already has an NNI at {location_code}; one NNI per CSP and location")
}

pub async fn create_nni(db: &DatabaseConnection, spec: NniSpec) -> AdminResult<nni::Model> {
    spec.validate(db).await?;
    let (csp, loc) = (spec.csp.clone(), spec.location_code.clone());
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        nni_location_taken(&tx, &spec.csp, &spec.location_code, None).await?;
        let m = nni::ActiveModel {
            id: Set(Uuid::new_v4()),
            csp: Set(spec.csp),
            location_code: Set(spec.location_code),
            name: Set(spec.name),
            region: Set(spec.region),
            csp_ref: Set(spec.csp_ref),
            port_id: Set(spec.port_id),
            linknet_pool_id: Set(spec.linknet_pool_id),
            csp_asn: Set(spec.csp_asn),
            capacity_mbps: Set(spec.capacity_mbps as i32),
            attributes: Set(spec.attributes.to_string()),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "location_code", || nni_duplicate_message(&csp, &loc)))
}

pub async fn get_nni<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<nni::Model> {
    nni::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("NNI {id}")))
}

/// NNIs by CSP and location, optionally of one CSP.
pub async fn list_nnis(db: &DatabaseConnection, csp: Option<&str>) -> AdminResult<Vec<nni::Model>> {
    let mut q = nni::Entity::find();
    if let Some(c) = csp {
        q = q.filter(nni::Column::Csp.eq(c));
    }
    Ok(q.order_by_asc(nni::Column::Csp)
        .order_by_asc(nni::Column::LocationCode)
        .all(db)
        .await?)
}

/// The connectors that reference an NNI, live ones first.
async fn connectors_of_nni<C: ConnectionTrait>(
    db: &C,
    nni_id: Uuid,
) -> AdminResult<(Vec<connector::Model>, Vec<connector::Model>)> {
    let all = connector::Entity::find()
        .filter(connector::Column::NniId.eq(nni_id))
        .order_by_asc(connector::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .partition(|c| !FINISHED_STATES.contains(&c.state.as_str())))
}

fn connector_label(c: &connector::Model) -> String {
    format!("connector {} ({})", c.id, c.state)
}

/// `1Gbps`, `500Mbps` → Mbps.
fn bandwidth_mbps(s: &str) -> Option<i64> {
    if let Some(n) = s.strip_suffix("Gbps") {
        return n.parse::<i64>().ok().map(|g| g * 1_000);
    }
    s.strip_suffix("Mbps").and_then(|n| n.parse().ok())
}

/// Refused when a live connector would be stranded: it may not move to
/// another port, pool, CSP or peer ASN, nor drop below a connector's
/// bandwidth.
pub async fn update_nni(
    db: &DatabaseConnection,
    id: Uuid,
    patch: NniPatch,
) -> AdminResult<nni::Model> {
    let current = get_nni(db, id).await?;
    let spec = NniSpec::of(&current)?.patch(patch);
    spec.validate(db).await?;
    let (csp, loc) = (spec.csp.clone(), spec.location_code.clone());
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_nni(&tx, id).await?;
        nni_location_taken(&tx, &spec.csp, &spec.location_code, Some(id)).await?;
        let (live, _) = connectors_of_nni(&tx, id).await?;
        if !live.is_empty() {
            let mut moved = Vec::new();
            if spec.port_id != current.port_id {
                moved.push("port_id");
            }
            if spec.linknet_pool_id != current.linknet_pool_id {
                moved.push("linknet_pool_id");
            }
            if spec.csp != current.csp {
                moved.push("csp");
            }
            if spec.csp_asn != current.csp_asn {
                moved.push("csp_asn");
            }
            if !moved.is_empty() {
                let labels: Vec<String> = live.iter().map(connector_label).collect();
                return Err(in_use(
                    format!(
                        "{} cannot change {} while {} use it: {}; their VLANs, link-nets and BGP sessions depend on it",
                        nni_label(&current),
                        moved.join(", "),
                        plural(live.len(), "live connector", "live connectors"),
                        list(&labels)
                    ),
                    &moved,
                ));
            }
            let over: Vec<String> = live
                .iter()
                .filter_map(|c| {
                    let params: Value = serde_json::from_str(&c.params).ok()?;
                    let bw = params.get("bandwidth")?.as_str()?.to_string();
                    (bandwidth_mbps(&bw)? > spec.capacity_mbps)
                        .then(|| format!("{} at {bw}", connector_label(c)))
                })
                .collect();
            if !over.is_empty() {
                return Err(in_use(
                    format!(
                        "{} cannot drop to {} Mbps: {} need more ({})",
                        nni_label(&current),
                        spec.capacity_mbps,
                        plural(over.len(), "live connector", "live connectors"),
                        list(&over)
                    ),
                    &["capacity_mbps"],
                ));
            }
        }
        let mut am: nni::ActiveModel = current.into();
        am.csp = Set(spec.csp);
        am.location_code = Set(spec.location_code);
        am.name = Set(spec.name);
        am.region = Set(spec.region);
        am.csp_ref = Set(spec.csp_ref);
        am.port_id = Set(spec.port_id);
        am.linknet_pool_id = Set(spec.linknet_pool_id);
        am.csp_asn = Set(spec.csp_asn);
        am.capacity_mbps = Set(spec.capacity_mbps as i32);
        am.attributes = Set(spec.attributes.to_string());
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "location_code", || nni_duplicate_message(&csp, &loc)))
}

/// Refused while any connector references the NNI: live ones hold resources
/// on it, finished ones keep it in their history.
pub async fn delete_nni(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let n = get_nni(&tx, id).await?;
    let (live, finished) = connectors_of_nni(&tx, id).await?;
    let mut users = Vec::new();
    if !live.is_empty() {
        let labels: Vec<String> = live.iter().map(connector_label).collect();
        users.push(format!(
            "{} ({})",
            plural(live.len(), "live connector", "live connectors"),
            list(&labels)
        ));
    }
    if !finished.is_empty() {
        let labels: Vec<String> = finished.iter().map(connector_label).collect();
        users.push(format!(
            "{} kept for their history ({})",
            plural(finished.len(), "finished connector", "finished connectors"),
            list(&labels)
        ));
    }
    if !users.is_empty() {
        return Err(in_use(
            format!(
                "{} is in use: {} reference it",
                nni_label(&n),
                users.join(" and ")
            ),
            &[],
        ));
    }
    nni::Entity::delete_by_id(id).exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}

// ===== link-net pools =====

#[derive(Clone, Debug)]
pub struct LinknetPoolSpec {
    pub name: String,
    /// e.g. `169.254.0.0/16`
    pub cidr: String,
}

#[derive(Clone, Debug, Default)]
pub struct LinknetPoolPatch {
    pub name: Option<String>,
    pub cidr: Option<String>,
}

fn check_pool_name(i: &mut Issues, name: &str) {
    if !valid_name(name) {
        i.add(
            "name",
            "invalid_format",
            format!("`{name}` is not a pool name: use 1-63 of a-z, 0-9 and -"),
        );
    }
}

fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let range = |(addr, len): (Ipv4Addr, u8)| {
        let start = u64::from(u32::from(addr));
        (start, start + (1u64 << (32 - len)) - 1)
    };
    let (a0, a1) = range(a);
    let (b0, b1) = range(b);
    a0 <= b1 && b0 <= a1
}

impl LinknetPoolSpec {
    pub fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        check_pool_name(&mut i, &self.name);
        match parse_cidr(&self.cidr) {
            None => {
                let detail = match self.cidr.split_once('/') {
                    Some((a, l))
                        if a.parse::<Ipv4Addr>().is_ok()
                            && l.parse::<u8>().is_ok_and(|l| l <= 32) =>
                    {
                        format!(
                            "`{}` has host bits set; give the network address of the block",
                            self.cidr
                        )
                    }
                    _ => format!(
                        "`{}` is not an IPv4 CIDR block like 169.254.0.0/24",
                        self.cidr
                    ),
                };
                i.add("cidr", "invalid_format", detail);
            }
            Some((addr, len)) => {
                if len < LINKNET_SUPERNET.1 || !overlaps((addr, len), LINKNET_SUPERNET) {
                    i.add(
                        "cidr",
                        "outside_link_local",
                        format!("{} is not inside 169.254.0.0/16", self.cidr),
                    );
                } else if len > LINKNET_MAX_PREFIX {
                    i.add(
                        "cidr",
                        "too_small",
                        format!(
                            "{} is smaller than a /{LINKNET_MAX_PREFIX}; a pool needs room for a /{LINKNET_MAX_PREFIX} at least",
                            self.cidr
                        ),
                    );
                }
            }
        }
        i.into_result()
    }
}

async fn pool_name_taken<E, C>(
    db: &C,
    col: E::Column,
    id_col: E::Column,
    what: &str,
    name: &str,
    except: Option<Uuid>,
) -> AdminResult<()>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut q = E::find().filter(col.eq(name));
    if let Some(id) = except {
        q = q.filter(id_col.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(duplicate(
            "name",
            format!("a {what} named `{name}` already exists"),
        ));
    }
    Ok(())
}

async fn linknet_overlap<C: ConnectionTrait>(
    db: &C,
    cidr: &str,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let Some(mine) = parse_cidr(cidr) else {
        return Ok(());
    };
    for other in linknet_pool::Entity::find().all(db).await? {
        if Some(other.id) == except {
            continue;
        }
        if let Some(theirs) = parse_cidr(&other.cidr)
            && overlaps(mine, theirs)
        {
            return Err(conflict(
                "cidr",
                "overlap",
                format!(
                    "{cidr} overlaps link-net pool {} ({}); pools must not share addresses",
                    other.name, other.cidr
                ),
            ));
        }
    }
    Ok(())
}

fn linknet_dup(name: &str) -> String {
    format!("a link-net pool named `{name}` already exists")
}

pub async fn create_linknet_pool(
    db: &DatabaseConnection,
    spec: LinknetPoolSpec,
) -> AdminResult<linknet_pool::Model> {
    spec.validate()?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        pool_name_taken::<linknet_pool::Entity, _>(
            &tx,
            linknet_pool::Column::Name,
            linknet_pool::Column::Id,
            "link-net pool",
            &spec.name,
            None,
        )
        .await?;
        linknet_overlap(&tx, &spec.cidr, None).await?;
        let m = linknet_pool::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(spec.name),
            cidr: Set(spec.cidr),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || linknet_dup(&name)))
}

pub async fn get_linknet_pool<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AdminResult<linknet_pool::Model> {
    linknet_pool::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("link-net pool {id}")))
}

pub async fn list_linknet_pools(db: &DatabaseConnection) -> AdminResult<Vec<linknet_pool::Model>> {
    Ok(linknet_pool::Entity::find()
        .order_by_asc(linknet_pool::Column::Name)
        .all(db)
        .await?)
}

/// A pool's allocations are /31 offsets from its first address, so while it
/// has any the pool may grow or shrink at the same base, never move, and
/// never shrink below an allocated block.
pub async fn update_linknet_pool(
    db: &DatabaseConnection,
    id: Uuid,
    patch: LinknetPoolPatch,
) -> AdminResult<linknet_pool::Model> {
    let current = get_linknet_pool(db, id).await?;
    let spec = LinknetPoolSpec {
        name: patch.name.unwrap_or_else(|| current.name.clone()),
        cidr: patch.cidr.unwrap_or_else(|| current.cidr.clone()),
    };
    spec.validate()?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_linknet_pool(&tx, id).await?;
        pool_name_taken::<linknet_pool::Entity, _>(
            &tx,
            linknet_pool::Column::Name,
            linknet_pool::Column::Id,
            "link-net pool",
            &spec.name,
            Some(id),
        )
        .await?;
        linknet_overlap(&tx, &spec.cidr, Some(id)).await?;
        if spec.cidr != current.cidr {
            let allocs = allocations(&tx, alloc::LINKNET, id).await?;
            if let (false, Some((old_base, _)), Some((new_base, new_len))) = (
                allocs.is_empty(),
                parse_cidr(&current.cidr),
                parse_cidr(&spec.cidr),
            ) {
                if new_base != old_base {
                    let items = describe_subnets(&tx, &allocs, old_base).await?;
                    return Err(in_use(
                        format!(
                            "link-net pool {} cannot move from {} to {} while it has allocated subnets ({}); it may only grow or shrink from {old_base}",
                            current.name,
                            current.cidr,
                            spec.cidr,
                            list(&items)
                        ),
                        &["cidr"],
                    ));
                }
                let units = 1i64 << (31 - new_len);
                let outside: Vec<allocation::Model> =
                    allocs.into_iter().filter(|a| a.value >= units).collect();
                if !outside.is_empty() {
                    let items = describe_subnets(&tx, &outside, old_base).await?;
                    return Err(in_use(
                        format!(
                            "link-net pool {} cannot shrink to {}: allocated subnets would fall outside ({})",
                            current.name,
                            spec.cidr,
                            list(&items)
                        ),
                        &["cidr"],
                    ));
                }
            }
        }
        let mut am: linknet_pool::ActiveModel = current.into();
        am.name = Set(spec.name);
        am.cidr = Set(spec.cidr);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || linknet_dup(&name)))
}

/// Refused while NNIs draw from the pool or subnets are allocated from it.
pub async fn delete_linknet_pool(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let pool = get_linknet_pool(&tx, id).await?;
    let mut users = Vec::new();
    let allocs = allocations(&tx, alloc::LINKNET, id).await?;
    if !allocs.is_empty() {
        let base = parse_cidr(&pool.cidr)
            .map(|(a, _)| a)
            .unwrap_or(LINKNET_SUPERNET.0);
        let items = describe_subnets(&tx, &allocs, base).await?;
        users.push(format!(
            "{} ({})",
            plural(items.len(), "allocated subnet", "allocated subnets"),
            list(&items)
        ));
    }
    let nnis: Vec<String> = nni::Entity::find()
        .filter(nni::Column::LinknetPoolId.eq(id))
        .order_by_asc(nni::Column::LocationCode)
        .all(&tx)
        .await?
        .iter()
        .map(nni_label)
        .collect();
    if !nnis.is_empty() {
        users.push(format!("{} drawing from it", list(&nnis)));
    }
    if !users.is_empty() {
        return Err(in_use(
            format!(
                "link-net pool {} ({}) is in use: {}",
                pool.name,
                pool.cidr,
                users.join(" and ")
            ),
            &[],
        ));
    }
    linknet_pool::Entity::delete_by_id(id).exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}

// ===== ASN pools =====

#[derive(Clone, Debug)]
pub struct AsnPoolSpec {
    pub name: String,
    pub first: i64,
    pub last: i64,
}

#[derive(Clone, Debug, Default)]
pub struct AsnPoolPatch {
    pub name: Option<String>,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

fn private_range_of(asn: i64) -> Option<(i64, i64)> {
    PRIVATE_ASN_RANGES
        .iter()
        .copied()
        .find(|(lo, hi)| (*lo..=*hi).contains(&asn))
}

impl AsnPoolSpec {
    pub fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        check_pool_name(&mut i, &self.name);
        for (field, v) in [("first", self.first), ("last", self.last)] {
            if private_range_of(v).is_none() {
                i.add(
                    field,
                    "not_private",
                    format!(
                        "ASN {v} is not private; use 64512-65534 or 4200000000-4294967294 (RFC 6996)"
                    ),
                );
            }
        }
        if !i.has("first") && !i.has("last") {
            if self.first > self.last {
                i.add(
                    "last",
                    "less_than_first",
                    format!("last {} is below first {}", self.last, self.first),
                );
            } else if private_range_of(self.first) != private_range_of(self.last) {
                i.add(
                    "last",
                    "spans_ranges",
                    format!(
                        "{}-{} spans both private ranges; make one pool per range",
                        self.first, self.last
                    ),
                );
            }
        }
        i.into_result()
    }
}

fn ranges_overlap(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Values of `allocs` outside `first..=last`, as the fields they fall past.
fn outside_range(
    allocs: Vec<allocation::Model>,
    first: i64,
    last: i64,
) -> (Vec<allocation::Model>, Vec<&'static str>) {
    let below = allocs.iter().any(|a| a.value < first);
    let above = allocs.iter().any(|a| a.value > last);
    let outside = allocs
        .into_iter()
        .filter(|a| a.value < first || a.value > last)
        .collect();
    let mut fields = Vec::new();
    if below {
        fields.push("first");
    }
    if above {
        fields.push("last");
    }
    (outside, fields)
}

fn asn_dup(name: &str) -> String {
    format!("an ASN pool named `{name}` already exists")
}

async fn asn_checks<C: ConnectionTrait>(
    db: &C,
    spec: &AsnPoolSpec,
    except: Option<Uuid>,
) -> AdminResult<()> {
    pool_name_taken::<asn_pool::Entity, _>(
        db,
        asn_pool::Column::Name,
        asn_pool::Column::Id,
        "ASN pool",
        &spec.name,
        except,
    )
    .await?;
    for other in asn_pool::Entity::find().all(db).await? {
        if Some(other.id) != except
            && ranges_overlap((spec.first, spec.last), (other.first, other.last))
        {
            let message = format!(
                "ASNs {}-{} overlap ASN pool {} ({}-{}); pools must not share ASNs",
                spec.first, spec.last, other.name, other.first, other.last
            );
            return Err(AdminError::Conflict {
                issues: ["first", "last"]
                    .iter()
                    .map(|f| Issue {
                        field: (*f).into(),
                        code: "overlap".into(),
                        detail: message.clone(),
                    })
                    .collect(),
                message,
            });
        }
    }
    Ok(())
}

pub async fn create_asn_pool(
    db: &DatabaseConnection,
    spec: AsnPoolSpec,
) -> AdminResult<asn_pool::Model> {
    spec.validate()?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        asn_checks(&tx, &spec, None).await?;
        let m = asn_pool::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(spec.name),
            first: Set(spec.first),
            last: Set(spec.last),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || asn_dup(&name)))
}

pub async fn get_asn_pool<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<asn_pool::Model> {
    asn_pool::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("ASN pool {id}")))
}

pub async fn list_asn_pools(db: &DatabaseConnection) -> AdminResult<Vec<asn_pool::Model>> {
    Ok(asn_pool::Entity::find()
        .order_by_asc(asn_pool::Column::First)
        .all(db)
        .await?)
}

/// Refused when an allocated ASN would fall outside the new range.
pub async fn update_asn_pool(
    db: &DatabaseConnection,
    id: Uuid,
    patch: AsnPoolPatch,
) -> AdminResult<asn_pool::Model> {
    let current = get_asn_pool(db, id).await?;
    let spec = AsnPoolSpec {
        name: patch.name.unwrap_or_else(|| current.name.clone()),
        first: patch.first.unwrap_or(current.first),
        last: patch.last.unwrap_or(current.last),
    };
    spec.validate()?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_asn_pool(&tx, id).await?;
        asn_checks(&tx, &spec, Some(id)).await?;
        let allocs = allocations(&tx, alloc::ASN, id).await?;
        let (outside, fields) = outside_range(allocs, spec.first, spec.last);
        if !outside.is_empty() {
            let items = describe(&tx, &outside, |v| format!("ASN {v}")).await?;
            return Err(in_use(
                format!(
                    "ASN pool {} cannot shrink to {}-{}: {} would fall outside ({})",
                    current.name,
                    spec.first,
                    spec.last,
                    plural(outside.len(), "allocated ASN", "allocated ASNs"),
                    list(&items)
                ),
                &fields,
            ));
        }
        let mut am: asn_pool::ActiveModel = current.into();
        am.name = Set(spec.name);
        am.first = Set(spec.first);
        am.last = Set(spec.last);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || asn_dup(&name)))
}

pub async fn delete_asn_pool(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let pool = get_asn_pool(&tx, id).await?;
    let allocs = allocations(&tx, alloc::ASN, id).await?;
    if !allocs.is_empty() {
        let items = describe(&tx, &allocs, |v| format!("ASN {v}")).await?;
        return Err(in_use(
            format!(
                "ASN pool {} ({}-{}) is in use: {} ({})",
                pool.name,
                pool.first,
                pool.last,
                plural(allocs.len(), "allocated ASN", "allocated ASNs"),
                list(&items)
            ),
            &[],
        ));
    }
    asn_pool::Entity::delete_by_id(id).exec(&tx).await?;
    tx.commit().await?;
    Ok(())
}

// ===== route-target pools =====

#[derive(Clone, Debug)]
pub struct RouteTargetPoolSpec {
    pub name: String,
    /// The administrator subfield of `<admin_asn>:<n>`.
    pub admin_asn: i64,
    pub first: i64,
    pub last: i64,
}

#[derive(Clone, Debug, Default)]
pub struct RouteTargetPoolPatch {
    pub name: Option<String>,
    pub admin_asn: Option<i64>,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl RouteTargetPoolSpec {
    /// The largest assigned number: a 2-byte administrator leaves 4 bytes for
    /// it (RFC 4360 type 0), a 4-byte one leaves 2 (type 2).
    pub fn max_number(&self) -> i64 {
        if self.admin_asn > 65_535 {
            65_535
        } else {
            4_294_967_295
        }
    }

    pub fn validate(&self) -> AdminResult<()> {
        let mut i = Issues::default();
        check_pool_name(&mut i, &self.name);
        check_asn(&mut i, "admin_asn", self.admin_asn);
        let max = self.max_number();
        for (field, v) in [("first", self.first), ("last", self.last)] {
            if !(0..=max).contains(&v) {
                i.add(
                    field,
                    "out_of_range",
                    format!(
                        "{v} is outside 0-{max}, the assigned numbers that fit with administrator {}",
                        self.admin_asn
                    ),
                );
            }
        }
        if !i.has("first") && !i.has("last") && self.first > self.last {
            i.add(
                "last",
                "less_than_first",
                format!("last {} is below first {}", self.last, self.first),
            );
        }
        i.into_result()
    }
}

fn rt_dup(name: &str) -> String {
    format!("a route-target pool named `{name}` already exists")
}

async fn rt_checks<C: ConnectionTrait>(
    db: &C,
    spec: &RouteTargetPoolSpec,
    except: Option<Uuid>,
) -> AdminResult<()> {
    pool_name_taken::<route_target_pool::Entity, _>(
        db,
        route_target_pool::Column::Name,
        route_target_pool::Column::Id,
        "route-target pool",
        &spec.name,
        except,
    )
    .await?;
    for other in route_target_pool::Entity::find()
        .filter(route_target_pool::Column::AdminAsn.eq(spec.admin_asn))
        .all(db)
        .await?
    {
        if Some(other.id) != except
            && ranges_overlap((spec.first, spec.last), (other.first, other.last))
        {
            let message = format!(
                "{a}:{}-{a}:{} overlaps route-target pool {} ({a}:{}-{a}:{}); two pools would hand out the same route targets",
                spec.first,
                spec.last,
                other.name,
                other.first,
                other.last,
                a = spec.admin_asn
            );
            return Err(AdminError::Conflict {
                issues: ["first", "last"]
                    .iter()
                    .map(|f| Issue {
                        field: (*f).into(),
                        code: "overlap".into(),
                        detail: message.clone(),
                    })
                    .collect(),
                message,
            });
        }
    }
    Ok(())
}

pub async fn create_route_target_pool(
    db: &DatabaseConnection,
    spec: RouteTargetPoolSpec,
) -> AdminResult<route_target_pool::Model> {
    spec.validate()?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        rt_checks(&tx, &spec, None).await?;
        let m = route_target_pool::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(spec.name),
            admin_asn: Set(spec.admin_asn),
            first: Set(spec.first),
            last: Set(spec.last),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || rt_dup(&name)))
}

pub async fn get_route_target_pool<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> AdminResult<route_target_pool::Model> {
    route_target_pool::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("route-target pool {id}")))
}

pub async fn list_route_target_pools(
    db: &DatabaseConnection,
) -> AdminResult<Vec<route_target_pool::Model>> {
    Ok(route_target_pool::Entity::find()
        .order_by_asc(route_target_pool::Column::Name)
        .all(db)
        .await?)
}

/// Refused when an allocated number would fall outside the new range, or
/// when the administrator changes under allocated RD/RTs.
pub async fn update_route_target_pool(
    db: &DatabaseConnection,
    id: Uuid,
    patch: RouteTargetPoolPatch,
) -> AdminResult<route_target_pool::Model> {
    let current = get_route_target_pool(db, id).await?;
    let spec = RouteTargetPoolSpec {
        name: patch.name.unwrap_or_else(|| current.name.clone()),
        admin_asn: patch.admin_asn.unwrap_or(current.admin_asn),
        first: patch.first.unwrap_or(current.first),
        last: patch.last.unwrap_or(current.last),
    };
    spec.validate()?;
    let name = spec.name.clone();
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_route_target_pool(&tx, id).await?;
        rt_checks(&tx, &spec, Some(id)).await?;
        let allocs = allocations(&tx, alloc::ROUTE_TARGET, id).await?;
        let admin = current.admin_asn;
        if spec.admin_asn != admin && !allocs.is_empty() {
            let items = describe(&tx, &allocs, |v| format!("{admin}:{v}")).await?;
            return Err(in_use(
                format!(
                    "route-target pool {} cannot change its administrator from {admin} to {} while {} carry it ({})",
                    current.name,
                    spec.admin_asn,
                    plural(allocs.len(), "allocated RD/RT", "allocated RD/RTs"),
                    list(&items)
                ),
                &["admin_asn"],
            ));
        }
        let (outside, fields) = outside_range(allocs, spec.first, spec.last);
        if !outside.is_empty() {
            let items = describe(&tx, &outside, |v| format!("{admin}:{v}")).await?;
            return Err(in_use(
                format!(
                    "route-target pool {} cannot shrink to {}-{}: {} would fall outside ({})",
                    current.name,
                    spec.first,
                    spec.last,
                    plural(outside.len(), "allocated RD/RT", "allocated RD/RTs"),
                    list(&items)
                ),
                &fields,
            ));
        }
        let mut am: route_target_pool::ActiveModel = current.into();
        am.name = Set(spec.name);
        am.admin_asn = Set(spec.admin_asn);
        am.first = Set(spec.first);
        am.last = Set(spec.last);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || rt_dup(&name)))
}

pub async fn delete_route_target_pool(db: &DatabaseConnection, id: Uuid) -> AdminResult<()> {
    let tx = crate::db::begin_write(db).await?;
    let pool = get_route_target_pool(&tx, id).await?;
    let allocs = allocations(&tx, alloc::ROUTE_TARGET, id).await?;
    if !allocs.is_empty() {
        let admin = pool.admin_asn;
        let items = describe(&tx, &allocs, |v| format!("{admin}:{v}")).await?;
        return Err(in_use(
            format!(
                "route-target pool {} is in use: {} ({})",
                pool.name,
                plural(allocs.len(), "allocated RD/RT", "allocated RD/RTs"),
                list(&items)
            ),
            &[],
        ));
    }
    route_target_pool::Entity::delete_by_id(id)
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1",
            "::1",
            "2001:db8::1",
            "pe1",
            "pe1.par.example.net",
            "pe1.example.net.",
            "a-b",
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.256",
            "1.2.3",
            "pe 1",
            "-pe",
            "pe-",
            "pe_1",
            "a..b",
            "[::1]",
            "host:830",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn fingerprints() {
        assert!(valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ));
        assert!(!valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2"
        ));
        assert!(!valid_fingerprint(
            "MD5:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ));
        assert!(!valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2="
        ));
        // Its last sextet would carry bits past 256.
        assert!(!valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2t"
        ));
    }

    #[test]
    fn names_and_regions() {
        assert!(valid_name("pe1"));
        assert!(valid_name("private-2byte"));
        assert!(!valid_name("PE1"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(64)));
        assert!(valid_region("aws", "us-east-1"));
        assert!(valid_region("aws", "us-gov-west-1"));
        assert!(!valid_region("aws", "useast1"));
        assert!(valid_region("azure", "eastus2"));
        assert!(!valid_region("azure", "east-us"));
        assert!(valid_region("gcp", "us-east4"));
        assert!(valid_region("gcp", "northamerica-northeast1"));
        assert!(!valid_region("gcp", "us-east"));
        assert!(valid_csp_ref("aws", "dxcon-onramp01"));
        assert!(!valid_csp_ref("aws", "onramp01"));
        assert!(valid_csp_ref("gcp", "onramp-ic-1"));
        assert!(!valid_csp_ref("gcp", "1ic"));
    }

    #[test]
    fn cidr_overlap() {
        let p = |s| parse_cidr(s).unwrap();
        assert!(overlaps(p("169.254.0.0/16"), p("169.254.10.0/24")));
        assert!(!overlaps(p("169.254.0.0/24"), p("169.254.1.0/24")));
        assert!(overlaps(p("169.254.1.0/24"), p("169.254.1.8/29")));
    }

    #[test]
    fn bandwidths() {
        assert_eq!(bandwidth_mbps("1Gbps"), Some(1_000));
        assert_eq!(bandwidth_mbps("500Mbps"), Some(500));
        assert_eq!(bandwidth_mbps("fast"), None);
    }
}
