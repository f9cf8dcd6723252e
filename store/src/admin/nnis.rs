//! NNIs: the network-to-network interfaces with a CSP at one location, each
//! on a PE port and drawing its peering subnets from a link-net pool.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::Value;
use uuid::Uuid;

use super::checks::{check_asn, valid_text};
use super::error::{AdminError, AdminResult, Issues, duplicate, in_use, not_found, or_duplicate};
use super::pes::get_pe;
use super::usage::{counted, list, plural};
use crate::entity::{connector, linknet_pool, nni, pe_port};

/// The CSPs an NNI can face.
pub const CSPS: &[&str] = &["aws", "azure", "gcp"];

/// Connector states after which a connector holds nothing any more (its row
/// stays for the record).
pub const FINISHED_STATES: &[&str] = &["deleted", "failed", "rejected"];

fn attributes_of(n: &nni::Model) -> AdminResult<Value> {
    serde_json::from_str(&n.attributes).map_err(|e| {
        AdminError::Store(crate::Error::Corrupt(format!(
            "attributes of NNI {}: {e}",
            n.name
        )))
    })
}

pub(super) fn nni_label(n: &nni::Model) -> String {
    format!("NNI {} ({} {})", n.location_code, n.csp, n.name)
}

/// NNIs that use `port_id`, as their port or as Azure's secondary port.
pub(super) async fn nnis_on_port<C: ConnectionTrait>(
    db: &C,
    port_id: Uuid,
) -> AdminResult<Vec<String>> {
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

/// One CSP object is one NNI: several NNIs may share a location (a group,
/// which orders fill around a PE in maintenance), but not an interconnect.
async fn nni_ref_taken<C: ConnectionTrait>(
    db: &C,
    csp: &str,
    csp_ref: &str,
    except: Option<Uuid>,
) -> AdminResult<()> {
    let mut q = nni::Entity::find()
        .filter(nni::Column::Csp.eq(csp))
        .filter(nni::Column::CspRef.eq(csp_ref));
    if let Some(id) = except {
        q = q.filter(nni::Column::Id.ne(id));
    }
    if let Some(other) = q.one(db).await? {
        return Err(duplicate(
            "csp_ref",
            format!(
                "{csp}'s {csp_ref} is already NNI {} at {}; one NNI per CSP object",
                other.name, other.location_code
            ),
        ));
    }
    Ok(())
}

fn nni_duplicate_message(csp: &str, csp_ref: &str) -> String {
    format!("{csp}'s {csp_ref} is already an NNI; one NNI per CSP object")
}

pub async fn create_nni(db: &DatabaseConnection, spec: NniSpec) -> AdminResult<nni::Model> {
    spec.validate(db).await?;
    let (csp, reference) = (spec.csp.clone(), spec.csp_ref.clone());
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        nni_ref_taken(&tx, &spec.csp, &spec.csp_ref, None).await?;
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
        .map_err(|e| or_duplicate(e, "csp_ref", || nni_duplicate_message(&csp, &reference)))
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
    let (csp, reference) = (spec.csp.clone(), spec.csp_ref.clone());
    let run = async {
        let tx = crate::db::begin_write(db).await?;
        let current = get_nni(&tx, id).await?;
        nni_ref_taken(&tx, &spec.csp, &spec.csp_ref, Some(id)).await?;
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
        .map_err(|e| or_duplicate(e, "csp_ref", || nni_duplicate_message(&csp, &reference)))
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
        users.push(counted(&labels, "live connector", "live connectors"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_refs() {
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
    fn bandwidths() {
        assert_eq!(bandwidth_mbps("1Gbps"), Some(1_000));
        assert_eq!(bandwidth_mbps("500Mbps"), Some(500));
        assert_eq!(bandwidth_mbps("fast"), None);
    }
}
