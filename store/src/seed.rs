//! Seeds an inventory and a tenant: the demo of `onramp-dev up` and the test
//! harnesses. Re-running it updates the PEs' endpoints (they move to new free
//! ports at every dev start) and leaves allocations alone.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::{asn_pool, linknet_pool, nni, pe_port, pe_router, route_target_pool, tenant};
use crate::{Result, alloc, auth};

#[derive(Clone, Debug)]
pub struct SeedPe {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub host_key_fingerprint: Option<String>,
    pub platform: String,
    /// The customer-facing port carrying the CSP interconnect.
    pub port_name: String,
    pub vlan_range: (u16, u16),
    /// `host:port` of its SNMP agent, when the lab runs one.
    pub snmp_target: Option<String>,
}

impl SeedPe {
    /// A lab PE of the reference platform (what the dev stack and the tests
    /// run under netconfd): customer port `ge-0/0/1`, VLANs 100-3999.
    pub fn reference_pe(
        name: &str,
        host: &str,
        port: u16,
        username: &str,
        password: &str,
        host_key_fingerprint: &str,
    ) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            port,
            username: username.into(),
            password: password.into(),
            host_key_fingerprint: Some(host_key_fingerprint.into()),
            platform: "reference-pe".into(),
            port_name: "ge-0/0/1".into(),
            vlan_range: (100, 3999),
            snmp_target: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SeedDx {
    pub location_code: String,
    pub name: String,
    pub region: String,
    pub interconnect_id: String,
    /// Index into the PEs list.
    pub pe: usize,
    pub amazon_side_asn: u32,
    pub capacity_mbps: i32,
}

/// An ExpressRoute port pair: the primary on one PE's port, the secondary on
/// another PE's (anti-affinity).
#[derive(Clone, Debug)]
pub struct SeedEr {
    pub location_code: String,
    pub name: String,
    pub region: String,
    /// Microsoft's name of the primary ExpressRoute port, as cross-connections
    /// report it in `primaryAzurePort`.
    pub primary_azure_port: String,
    /// Indexes into the PEs list.
    pub primary_pe: usize,
    pub secondary_pe: usize,
    /// The port facing Microsoft on each of the two PEs (created if absent).
    pub port_name: String,
    pub capacity_mbps: i32,
}

/// A Google Partner Interconnect on one PE's port, in one region and edge
/// availability domain.
#[derive(Clone, Debug)]
pub struct SeedGcp {
    pub location_code: String,
    pub name: String,
    pub region: String,
    /// The interconnect's name in the partner project.
    pub interconnect: String,
    pub edge_availability_domain: u8,
    /// Index into the PEs list.
    pub pe: usize,
    /// The port facing Google (created if absent).
    pub port_name: String,
    pub capacity_mbps: i32,
}

impl SeedEr {
    /// The lab's ExpressRoute location (the dev stack and the tests): Silicon
    /// Valley, the primary leg on the first PE and the secondary on the
    /// second, both on `ge-0/0/2`.
    pub fn lab() -> Self {
        SeedEr {
            location_code: "SiliconValley".into(),
            name: "ExpressRoute Silicon Valley".into(),
            region: "westus".into(),
            primary_azure_port: Self::LAB_PRIMARY_PORT.into(),
            primary_pe: 0,
            secondary_pe: 1,
            port_name: "ge-0/0/2".into(),
            capacity_mbps: 10_000,
        }
    }

    /// Microsoft's name of the lab's primary port, which the Azure simulator's
    /// circuits must report for onramp to place them here.
    pub const LAB_PRIMARY_PORT: &str = "ONRAMP-SILICONVALLEY-06GMR-CIS-1-PRI-A";
}

impl SeedGcp {
    /// The lab's Partner Interconnects (the dev stack and the tests): San
    /// Jose's two edge availability domains, one on each PE's `ge-0/0/3`.
    pub fn lab_zones() -> Vec<Self> {
        [(1, 0), (2, 1)]
            .into_iter()
            .map(|(zone, pe)| SeedGcp {
                location_code: format!("SJC-Z{zone}"),
                name: format!("Partner Interconnect San Jose, zone {zone}"),
                region: "us-west1".into(),
                interconnect: format!("onramp-sjc-zone{zone}"),
                edge_availability_domain: zone,
                pe,
                port_name: "ge-0/0/3".into(),
                capacity_mbps: 10_000,
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct Seed {
    pub pes: Vec<SeedPe>,
    pub dx: Vec<SeedDx>,
    pub er: Vec<SeedEr>,
    pub gcp: Vec<SeedGcp>,
    pub linknet_cidr: String,
    pub tenant_name: String,
    pub api_key: String,
}

#[derive(Clone, Debug)]
pub struct Seeded {
    pub tenant_id: Uuid,
    pub pe_ids: Vec<Uuid>,
}

/// Seeds `s`; PE passwords are stored sealed with `secrets`.
pub async fn seed(
    db: &DatabaseConnection,
    s: &Seed,
    secrets: &crate::secrets::SecretBox,
) -> Result<Seeded> {
    let pool_id = match linknet_pool::Entity::find()
        .filter(linknet_pool::Column::Name.eq("aws-linknets"))
        .one(db)
        .await?
    {
        Some(p) => p.id,
        None => {
            linknet_pool::ActiveModel {
                id: Set(Uuid::new_v4()),
                name: Set("aws-linknets".into()),
                cidr: Set(s.linknet_cidr.clone()),
            }
            .insert(db)
            .await?
            .id
        }
    };

    ensure_default_pools(db).await?;

    let mut pe_ids = Vec::new();
    let mut port_ids = Vec::new();
    for p in &s.pes {
        let existing = pe_router::Entity::find()
            .filter(pe_router::Column::Name.eq(p.name.clone()))
            .one(db)
            .await?;
        let pe_id = match existing {
            Some(m) => {
                let mut am: pe_router::ActiveModel = m.into();
                am.host = Set(p.host.clone());
                am.port = Set(p.port.into());
                am.username = Set(p.username.clone());
                am.password = Set(secrets.seal(&p.password));
                am.host_key_fingerprint = Set(p.host_key_fingerprint.clone());
                am.snmp_target = Set(p.snmp_target.clone());
                am.update(db).await?.id
            }
            None => {
                pe_router::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    name: Set(p.name.clone()),
                    host: Set(p.host.clone()),
                    port: Set(p.port.into()),
                    username: Set(p.username.clone()),
                    password: Set(secrets.seal(&p.password)),
                    host_key_fingerprint: Set(p.host_key_fingerprint.clone()),
                    platform: Set(p.platform.clone()),
                    lease_until_ms: Set(None),
                    lease_holder: Set(None),
                    created_at: Set(Utc::now()),
                    maintenance_since: Set(None),
                    maintenance_reason: Set(None),
                    snmp_target: Set(p.snmp_target.clone()),
                }
                .insert(db)
                .await?
                .id
            }
        };
        let port_id = match pe_port::Entity::find()
            .filter(pe_port::Column::PeId.eq(pe_id))
            .filter(pe_port::Column::Name.eq(p.port_name.clone()))
            .one(db)
            .await?
        {
            Some(m) => m.id,
            None => {
                pe_port::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    pe_id: Set(pe_id),
                    name: Set(p.port_name.clone()),
                    vlan_min: Set(p.vlan_range.0.into()),
                    vlan_max: Set(p.vlan_range.1.into()),
                }
                .insert(db)
                .await?
                .id
            }
        };
        pe_ids.push(pe_id);
        port_ids.push(port_id);
    }

    for d in &s.dx {
        let found = nni::Entity::find()
            .filter(nni::Column::Csp.eq("aws"))
            .filter(nni::Column::CspRef.eq(d.interconnect_id.clone()))
            .one(db)
            .await?;
        if found.is_none() {
            nni::ActiveModel {
                id: Set(Uuid::new_v4()),
                csp: Set("aws".into()),
                location_code: Set(d.location_code.clone()),
                name: Set(d.name.clone()),
                region: Set(d.region.clone()),
                csp_ref: Set(d.interconnect_id.clone()),
                port_id: Set(port_ids[d.pe]),
                linknet_pool_id: Set(pool_id),
                csp_asn: Set(d.amazon_side_asn.into()),
                capacity_mbps: Set(d.capacity_mbps),
                attributes: Set("{}".into()),
            }
            .insert(db)
            .await?;
        }
    }

    for e in &s.er {
        let found = nni::Entity::find()
            .filter(nni::Column::Csp.eq("azure"))
            .filter(nni::Column::CspRef.eq(e.primary_azure_port.clone()))
            .one(db)
            .await?;
        if found.is_none() {
            let primary_port = ensure_port(db, pe_ids[e.primary_pe], &e.port_name).await?;
            let secondary_port = ensure_port(db, pe_ids[e.secondary_pe], &e.port_name).await?;
            nni::ActiveModel {
                id: Set(Uuid::new_v4()),
                csp: Set("azure".into()),
                location_code: Set(e.location_code.clone()),
                name: Set(e.name.clone()),
                region: Set(e.region.clone()),
                csp_ref: Set(e.primary_azure_port.clone()),
                port_id: Set(primary_port),
                linknet_pool_id: Set(pool_id),
                csp_asn: Set(12076),
                capacity_mbps: Set(e.capacity_mbps),
                attributes: Set(serde_json::json!({
                    "secondary_port_id": secondary_port.to_string()
                })
                .to_string()),
            }
            .insert(db)
            .await?;
        }
    }

    for g in &s.gcp {
        let found = nni::Entity::find()
            .filter(nni::Column::Csp.eq("gcp"))
            .filter(nni::Column::CspRef.eq(g.interconnect.clone()))
            .one(db)
            .await?;
        if found.is_none() {
            let port = ensure_port(db, pe_ids[g.pe], &g.port_name).await?;
            nni::ActiveModel {
                id: Set(Uuid::new_v4()),
                csp: Set("gcp".into()),
                location_code: Set(g.location_code.clone()),
                name: Set(g.name.clone()),
                region: Set(g.region.clone()),
                csp_ref: Set(g.interconnect.clone()),
                port_id: Set(port),
                linknet_pool_id: Set(pool_id),
                csp_asn: Set(16550),
                capacity_mbps: Set(g.capacity_mbps),
                attributes: Set(serde_json::json!({
                    "edge_availability_domain": g.edge_availability_domain
                })
                .to_string()),
            }
            .insert(db)
            .await?;
        }
    }

    let tenant_id = match tenant::Entity::find()
        .filter(tenant::Column::Name.eq(s.tenant_name.clone()))
        .one(db)
        .await?
    {
        Some(t) => t.id,
        None => create_tenant(db, &s.tenant_name).await?.id,
    };
    auth::add_key(db, tenant_id, "seeded", &s.api_key, auth::ROLE_CUSTOMER).await?;
    Ok(Seeded { tenant_id, pe_ids })
}

async fn ensure_port(db: &DatabaseConnection, pe_id: Uuid, name: &str) -> Result<Uuid> {
    if let Some(m) = pe_port::Entity::find()
        .filter(pe_port::Column::PeId.eq(pe_id))
        .filter(pe_port::Column::Name.eq(name))
        .one(db)
        .await?
    {
        return Ok(m.id);
    }
    Ok(pe_port::ActiveModel {
        id: Set(Uuid::new_v4()),
        pe_id: Set(pe_id),
        name: Set(name.into()),
        vlan_min: Set(2),
        vlan_max: Set(4094),
    }
    .insert(db)
    .await?
    .id)
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Private ASNs (RFC 6996, both sizes; 64512 is left out because it is
/// Amazon's default side) and a route-target pool, unless pools exist.
pub async fn ensure_default_pools(db: &DatabaseConnection) -> Result<()> {
    if asn_pool::Entity::find().one(db).await?.is_none() {
        for (name, first, last) in [
            ("private-2byte", 64513_i64, 65534_i64),
            ("private-4byte", 4_200_000_000, 4_294_967_294),
        ] {
            asn_pool::ActiveModel {
                id: Set(Uuid::new_v4()),
                name: Set(name.into()),
                first: Set(first),
                last: Set(last),
            }
            .insert(db)
            .await?;
        }
    }
    if route_target_pool::Entity::find().one(db).await?.is_none() {
        route_target_pool::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set("default".into()),
            admin_asn: Set(65000),
            first: Set(1000),
            last: Set(65535),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Routers take VRF names of 1-63 characters (the reference PE's YANG).
pub const VRF_NAME_MAX: usize = 63;
const VRF_PREFIX: &str = "cust-";
/// The longest tenant name, in characters, whose VRF name still fits.
pub const TENANT_NAME_MAX: usize = VRF_NAME_MAX - VRF_PREFIX.len();

/// The VRF a tenant's connectors live in on the PEs: `cust-` and the name
/// in lower case, with `-` for anything but ASCII letters and digits.
pub fn vrf_name(tenant_name: &str) -> String {
    format!("{VRF_PREFIX}{}", slug(tenant_name))
}

/// Creates a tenant with its own VRF, whose RD/RT come from the route-target
/// pool. A name that is taken, or that makes the same VRF name as another
/// tenant's (`Acme Corp` and `acme-corp`), is a [`crate::Error::Conflict`]
/// on `name`.
pub async fn create_tenant(db: &DatabaseConnection, name: &str) -> Result<tenant::Model> {
    crate::db::retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let t = insert_tenant(&tx, name).await?;
        tx.commit().await?;
        Ok(t)
    })
    .await
}

/// [`create_tenant`] and its first API key, of `role`, in one transaction:
/// there is never a tenant that nobody can use.
pub async fn create_tenant_with_key(
    db: &DatabaseConnection,
    name: &str,
    key_name: &str,
    role: &str,
) -> Result<(tenant::Model, auth::NewKey)> {
    crate::db::retry_contention(|| async {
        let tx = crate::db::begin_write(db).await?;
        let t = insert_tenant(&tx, name).await?;
        let key = auth::create_key(&tx, t.id, key_name, role).await?;
        tx.commit().await?;
        Ok((t, key))
    })
    .await
}

/// Serialises creates of one VRF name until the transaction ends. Nothing
/// in the schema keeps VRF names unique, so two concurrent creates of
/// `Acme Corp` and `acme-corp` could both pass the check below. SQLite has
/// one writer at a time (the loser's write fails busy and is retried);
/// PostgreSQL gets a transaction-scoped advisory lock on the name.
async fn lock_vrf_name(tx: &sea_orm::DatabaseTransaction, vrf: &str) -> Result<()> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use sha2::{Digest, Sha256};
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let digest = Sha256::digest(vrf.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [i64::from_be_bytes(head).into()],
    ))
    .await?;
    Ok(())
}

async fn insert_tenant(tx: &sea_orm::DatabaseTransaction, name: &str) -> Result<tenant::Model> {
    let vrf = vrf_name(name);
    lock_vrf_name(tx, &vrf).await?;
    // The unique key on the name settles a race between two creates: the
    // loser's insert fails, its retry lands here and reports the conflict.
    if tenant::Entity::find()
        .filter(tenant::Column::Name.eq(name))
        .one(tx)
        .await?
        .is_some()
    {
        return Err(crate::Error::Conflict {
            field: "name".into(),
            message: format!("a tenant named `{name}` exists"),
        });
    }
    if let Some(other) = tenant::Entity::find()
        .filter(tenant::Column::VrfName.eq(vrf.clone()))
        .one(tx)
        .await?
    {
        return Err(crate::Error::Conflict {
            field: "name".into(),
            message: format!(
                "`{name}` would get VRF `{vrf}`, which tenant `{}` has; choose a name that differs in letters or digits",
                other.name
            ),
        });
    }
    let id = Uuid::new_v4();
    // The row goes first so the allocation can reference it; the RD/RT
    // are filled in below within the same transaction.
    tenant::ActiveModel {
        id: Set(id),
        name: Set(name.to_string()),
        vrf_name: Set(vrf),
        route_distinguisher: Set(String::new()),
        route_target: Set(String::new()),
        created_at: Set(Utc::now()),
    }
    .insert(tx)
    .await?;
    let (asn, n) = alloc::route_target(tx, alloc::Owner::Tenant(id)).await?;
    Ok(tenant::ActiveModel {
        id: Set(id),
        route_distinguisher: Set(format!("{asn}:{n}")),
        route_target: Set(format!("target:{asn}:{n}")),
        ..Default::default()
    }
    .update(tx)
    .await?)
}

/// Name of the tenant that admin keys belong to.
pub const OPERATOR_TENANT: &str = "operator";

/// Stores `key` as an admin key of the "operator" tenant, creating that
/// tenant if absent (its VRF's RD/RT come from the route-target pool, so
/// call after [`seed`] or [`ensure_default_pools`]).
pub async fn seed_admin_key(db: &DatabaseConnection, key: &str) -> Result<Uuid> {
    let tenant_id = match tenant::Entity::find()
        .filter(tenant::Column::Name.eq(OPERATOR_TENANT))
        .one(db)
        .await?
    {
        Some(t) => t.id,
        None => create_tenant(db, OPERATOR_TENANT).await?.id,
    };
    auth::add_key(db, tenant_id, "admin", key, auth::ROLE_ADMIN).await?;
    Ok(tenant_id)
}

// ===== ticket providers (issue 6) =====

/// A ticket provider's NNI on one PE's port.
#[derive(Clone, Debug)]
pub struct SeedTicketNni {
    pub location_code: String,
    pub name: String,
    pub region: String,
    /// The provider's reference for the cross-connect / port.
    pub reference: String,
    /// Index into the seeded PEs.
    pub pe: usize,
    /// The port facing the provider (created if absent).
    pub port_name: String,
    /// The provider's default BGP ASN (a task may record another).
    pub provider_asn: u32,
    pub capacity_mbps: i32,
}

/// A ticket provider with its runbook and NNIs.
#[derive(Clone, Debug)]
pub struct SeedTicket {
    pub key: String,
    pub name: String,
    pub runbook: onramp_state_machines::ticket_runbook::Runbook,
    pub nnis: Vec<SeedTicketNni>,
}

/// The runbook most ticket providers follow: open the order (record the
/// provider's ticket), then record what the provider assigned.
pub fn two_step_runbook(
    provider: &str,
    portal: &str,
    order_sla_hours: u32,
    assign_sla_hours: u32,
) -> onramp_state_machines::ticket_runbook::Runbook {
    use onramp_state_machines::ticket_runbook::{FieldKind, FieldSpec, ManualStep, Runbook};
    let field = |name: &str, label: &str, kind| FieldSpec {
        name: name.into(),
        label: label.into(),
        kind,
        required: true,
    };
    Runbook {
        steps: vec![
            ManualStep {
                key: "order_cross_connect".into(),
                title: format!("Open the cross-connect order with {provider}"),
                instructions: format!(
                    "1. Sign in to {portal}.\n\
                     2. Open a partner cross-connect order on the NNI shown in the context, for \
                     the connector's bandwidth and the customer named in the context.\n\
                     3. Ask for the VLAN and the /30 shown (onramp's address first usable, the \
                     provider's second); the provider may assign others.\n\
                     4. Record the provider's ticket number here."
                ),
                fields: vec![field(
                    "provider_ticket",
                    &format!("{provider} ticket number"),
                    FieldKind::Text { max_len: 64 },
                )],
                sla_hours: order_sla_hours,
            },
            ManualStep {
                key: "record_assignment".into(),
                title: "Record what the provider assigned".into(),
                instructions: format!(
                    "When {provider} confirms the order, copy from their confirmation: the \
                     VLAN on the NNI, their BGP peer address with its prefix length (e.g. \
                     169.254.0.2/30) and their BGP ASN. onramp configures its PE with these."
                ),
                fields: vec![
                    field("provider_vlan", "Provider VLAN", FieldKind::Vlan),
                    field(
                        "provider_peer_ip",
                        "Provider-side peer IP (address/prefix)",
                        FieldKind::IpInterface,
                    ),
                    field("provider_asn", "Provider BGP ASN", FieldKind::Asn),
                ],
                sla_hours: assign_sla_hours,
            },
        ],
    }
}

/// Oracle FastConnect and IBM Direct Link, with the runbooks of the demo.
/// `pe` indexes the seeded PEs; both providers sit on `port_name`.
pub fn demo_ticket_providers(pe: usize, port_name: &str) -> Vec<SeedTicket> {
    vec![
        SeedTicket {
            key: "oracle-fastconnect".into(),
            name: "Oracle Cloud FastConnect".into(),
            runbook: two_step_runbook(
                "Oracle",
                "the OCI partner portal (FastConnect > Provider connections)",
                24,
                72,
            ),
            nnis: vec![SeedTicketNni {
                location_code: "OCI-ASH".into(),
                name: "FastConnect Ashburn".into(),
                region: "us-ashburn-1".into(),
                reference: "oci-fc-ash-partner-1".into(),
                pe,
                port_name: port_name.into(),
                provider_asn: 31898,
                capacity_mbps: 10_000,
            }],
        },
        SeedTicket {
            key: "ibm-direct-link".into(),
            name: "IBM Cloud Direct Link".into(),
            runbook: two_step_runbook("IBM", "the IBM Cloud Direct Link provider console", 48, 120),
            nnis: vec![SeedTicketNni {
                location_code: "IBM-WDC".into(),
                name: "Direct Link Washington DC".into(),
                region: "us-east".into(),
                reference: "ibm-dl-wdc-nni-1".into(),
                pe,
                port_name: port_name.into(),
                provider_asn: 13884,
                capacity_mbps: 10_000,
            }],
        },
    ]
}

/// Creates the providers and their NNIs unless they exist (by key, and by
/// provider and location), on `pe_ids` from [`seed`], with link-nets from
/// the seeded pool.
pub async fn seed_ticket_providers(
    db: &DatabaseConnection,
    providers: &[SeedTicket],
    pe_ids: &[Uuid],
) -> Result<()> {
    let pool = linknet_pool::Entity::find()
        .filter(linknet_pool::Column::Name.eq("aws-linknets"))
        .one(db)
        .await?
        .ok_or_else(|| crate::Error::Corrupt("seed the inventory first".into()))?;
    for p in providers {
        crate::ticket_providers::ensure(
            db,
            crate::ticket_providers::ProviderSpec {
                key: p.key.clone(),
                name: p.name.clone(),
                runbook: p.runbook.clone(),
            },
        )
        .await
        .map_err(|e| match e {
            crate::admin::AdminError::Store(e) => e,
            other => crate::Error::Corrupt(format!("seeded provider {}: {other}", p.key)),
        })?;
        for n in &p.nnis {
            let found = nni::Entity::find()
                .filter(nni::Column::Csp.eq(p.key.clone()))
                .filter(nni::Column::CspRef.eq(n.reference.clone()))
                .one(db)
                .await?;
            if found.is_none() {
                let port = ensure_port(db, pe_ids[n.pe], &n.port_name).await?;
                nni::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    csp: Set(p.key.clone()),
                    location_code: Set(n.location_code.clone()),
                    name: Set(n.name.clone()),
                    region: Set(n.region.clone()),
                    csp_ref: Set(n.reference.clone()),
                    port_id: Set(port),
                    linknet_pool_id: Set(pool.id),
                    csp_asn: Set(n.provider_asn.into()),
                    capacity_mbps: Set(n.capacity_mbps),
                    attributes: Set("{}".into()),
                }
                .insert(db)
                .await?;
            }
        }
    }
    Ok(())
}
