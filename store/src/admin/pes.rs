//! PE routers: the provider-edge routers onramp configures over NETCONF.

use std::net::IpAddr;

use chrono::Utc;
use onramp_checks::Coded;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use super::checks::{valid_fingerprint, valid_host, valid_name, valid_printable, valid_text};
use super::error::{AdminError, AdminResult, Issues, duplicate, in_use, not_found, or_duplicate};
use super::nnis::nnis_on_port;
use super::usage::{allocated_count, list, plural};
use crate::alloc;
use crate::entity::{pe_change, pe_port, pe_router};

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
    /// `host:port` of its SNMP agent, which Prometheus scrapes.
    pub snmp_target: Option<String>,
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
    pub snmp_target: Option<Option<String>>,
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
            snmp_target: m.snmp_target.clone(),
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
        if let Some(v) = p.snmp_target {
            self.snmp_target = v;
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
        if !valid_printable(&self.username) {
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
        if let Some(t) = &self.snmp_target
            && let Err(why) = check_snmp_target(t)
        {
            i.add("snmp_target", "invalid_format", why);
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

/// `host:port` with a host a PE may have (as `host`) and a UDP port.
fn check_snmp_target(t: &str) -> Result<(), String> {
    let Some((host, port)) = t.rsplit_once(':') else {
        return Err(format!(
            "`{t}` is not host:port (for example 192.0.2.10:161)"
        ));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !valid_host(host) {
        return Err(format!("`{host}` is neither an IP address nor a hostname"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let refused = match ip {
            IpAddr::V4(v4) => onramp_checks::ipv4::reachable(v4)
                .err()
                .map(|e| e.to_string()),
            IpAddr::V6(v6) => onramp_checks::ipv6::reachable(v6)
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(why) = refused {
            return Err(why);
        }
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("port `{port}` is outside 1-65535")),
    }
}

fn pe_taken(name: &str) -> String {
    format!("a PE named `{name}` already exists")
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
        return Err(duplicate("name", pe_taken(name)));
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
            snmp_target: Set(spec.snmp_target),
            lease_until_ms: Set(None),
            lease_holder: Set(None),
            created_at: Set(Utc::now()),
            maintenance_since: Set(None),
            maintenance_reason: Set(None),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || pe_taken(&name)))
}

pub async fn get_pe<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<pe_router::Model> {
    pe_router::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(format!("PE {id}")))
}

/// Puts the PE in maintenance, or changes the reason of the maintenance
/// under way (its start stays). While it lasts the PE's writer pushes
/// nothing: changes queued for the PE wait, in order, and go out when
/// [`end_maintenance`] ends it. Orders are still taken.
pub async fn start_maintenance(
    db: &DatabaseConnection,
    id: Uuid,
    reason: &str,
) -> AdminResult<pe_router::Model> {
    let mut issues = Issues::default();
    if !valid_text(reason, 200) {
        issues.add(
            "reason",
            "invalid_format",
            "say why, in 1 to 200 characters without control characters",
        );
    }
    issues.into_result()?;
    let current = get_pe(db, id).await?;
    let since = current.maintenance_since.unwrap_or_else(Utc::now);
    let mut am: pe_router::ActiveModel = current.into();
    am.maintenance_since = Set(Some(since));
    am.maintenance_reason = Set(Some(reason.trim().to_string()));
    Ok(am.update(db).await?)
}

/// Ends the PE's maintenance, if one is under way; the writer then pushes
/// what waited.
pub async fn end_maintenance(db: &DatabaseConnection, id: Uuid) -> AdminResult<pe_router::Model> {
    let current = get_pe(db, id).await?;
    if current.maintenance_since.is_none() {
        return Ok(current);
    }
    let mut am: pe_router::ActiveModel = current.into();
    am.maintenance_since = Set(None);
    am.maintenance_reason = Set(None);
    Ok(am.update(db).await?)
}

/// How many changes are queued for the PE and not yet pushed.
pub async fn held_changes<C: ConnectionTrait>(db: &C, id: Uuid) -> AdminResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(pe_change::Entity::find()
        .filter(pe_change::Column::PeId.eq(id))
        .filter(pe_change::Column::Status.eq(crate::pe_changes::PENDING))
        .count(db)
        .await?)
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
        am.snmp_target = Set(spec.snmp_target);
        let m = am.update(&tx).await?;
        tx.commit().await?;
        Ok::<_, AdminError>(m)
    };
    run.await
        .map_err(|e| or_duplicate(e, "name", || pe_taken(&name)))
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
