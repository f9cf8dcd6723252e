//! What the API returns: connectors, their timelines, orderable locations.

use chrono::{DateTime, Utc};
use onramp_store::entity::{connector, connector_event, nni};
use onramp_store::model::{
    AsnSource, AzureExpressRouteParams, AzureLeg, AzureResources, ConnectorOptions, PendingChange,
    Resources,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Order an AWS Direct Connect hosted private VIF on onramp's interconnect.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AwsHostedVifOrder {
    /// Always `aws-hosted-vif`.
    #[schema(example = "aws-hosted-vif")]
    pub kind: String,
    /// The customer's 12-digit AWS account id; the VIF is created for it.
    #[schema(example = "123456789012", pattern = "^[0-9]{12}$")]
    pub aws_account_id: String,
    /// A Direct Connect location from `GET /v1/locations`.
    #[schema(example = "EqDC2")]
    pub location: String,
    /// One of 50Mbps, 100Mbps, 200Mbps, 300Mbps, 400Mbps, 500Mbps, 1Gbps, 2Gbps, 5Gbps, 10Gbps, 25Gbps.
    #[schema(example = "1Gbps")]
    pub bandwidth: String,
    /// The customer's BGP ASN (1-4294967294). Omit to get a private ASN from onramp.
    #[schema(example = 65010, minimum = 1, maximum = 4294967294u64)]
    pub customer_asn: Option<i64>,
    /// A specific VLAN (1-4094) on the interconnect. Omit to have one allocated.
    #[schema(minimum = 1, maximum = 4094)]
    pub vlan: Option<i64>,
}

/// Connect an Azure ExpressRoute circuit through onramp. The customer creates
/// the circuit in Azure with onramp's operator as provider and passes its
/// service key; onramp provisions both legs (primary and secondary PE).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AzureExpressRouteOrder {
    /// Always `azure-expressroute`.
    #[schema(example = "azure-expressroute")]
    pub kind: String,
    /// The circuit's service key (a GUID) from the Azure portal.
    #[schema(example = "0d9c4b4e-6f2a-4b1e-9a8f-3c2d1e0f9a8b")]
    pub service_key: String,
    /// The ASN onramp peers with Microsoft as (1-4294967294, not 12076 or
    /// 65515-65520). Omit to get a private ASN from onramp.
    #[schema(example = 65010, minimum = 1, maximum = 4294967294u64)]
    pub peer_asn: Option<i64>,
    /// The private peering's vlanId (the C-tag, 1-4094). Default 100.
    #[schema(minimum = 1, maximum = 4094)]
    pub vlan_id: Option<i64>,
    /// Whether onramp configures the Azure private peering (default true).
    /// With false, the customer configures it with the values onramp shows,
    /// and the order's response carries the shared key, once.
    pub configure_peering: Option<bool>,
}

/// Connect a Google Cloud Partner Interconnect attachment: the customer
/// creates a PARTNER attachment in their project and passes its pairing key.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GcpPartnerInterconnectOrder {
    /// Always `gcp-partner-interconnect`.
    #[schema(example = "gcp-partner-interconnect")]
    pub kind: String,
    /// `<uuid>/<region>/<edge availability domain 1|2>`, from the customer's attachment.
    #[schema(example = "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1")]
    pub pairing_key: String,
    /// One of BPS_50M, BPS_100M, BPS_200M, BPS_300M, BPS_400M, BPS_500M, BPS_1G, BPS_2G, BPS_5G, BPS_10G, BPS_20G, BPS_50G.
    #[schema(example = "BPS_1G")]
    pub bandwidth: String,
    /// The ASN onramp peers with Cloud Router as (not 16550). Omit to get a private ASN.
    #[schema(example = 65010, minimum = 1, maximum = 4294967294u64)]
    pub peer_asn: Option<i64>,
    /// A specific 802.1Q tag (2-4094) on onramp's interconnect. Omit to have one allocated.
    #[schema(minimum = 2, maximum = 4094)]
    pub vlan: Option<i64>,
}

/// Order an AWS Direct Connect hosted connection for the customer's account.
/// The customer accepts it in AWS, creates a private VIF on it and reports
/// the VIF with `PUT /v1/connectors/{id}/vif`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AwsHostedConnectionOrder {
    /// Always `aws-hosted-connection`.
    #[schema(example = "aws-hosted-connection")]
    pub kind: String,
    #[schema(example = "123456789012", pattern = "^[0-9]{12}$")]
    pub aws_account_id: String,
    /// A Direct Connect location from `GET /v1/locations`.
    #[schema(example = "EqDC2")]
    pub location: String,
    /// One of 50Mbps, 100Mbps, 200Mbps, 300Mbps, 400Mbps, 500Mbps, 1Gbps, 2Gbps, 5Gbps, 10Gbps, 25Gbps.
    #[schema(example = "1Gbps")]
    pub bandwidth: String,
    /// A specific VLAN (1-4094) on the interconnect. Omit to have one allocated.
    #[schema(minimum = 1, maximum = 4094)]
    pub vlan: Option<i64>,
}

/// The private VIF the customer created on their hosted connection.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostedVifReport {
    /// The VIF's id (`dxvif-…`), for reference.
    #[schema(example = "dxvif-ffhg0a1b")]
    pub vif_id: Option<String>,
    /// The "customer" (router) peer IP as entered in AWS: onramp's PE side, CIDR.
    #[schema(example = "169.254.10.2/30")]
    pub customer_address: String,
    /// The Amazon peer IP as entered in AWS, CIDR, in the same subnet.
    #[schema(example = "169.254.10.1/30")]
    pub amazon_address: String,
    /// The BGP ASN entered for the VIF: the one onramp's PE speaks.
    #[schema(example = 65010)]
    pub asn: i64,
    /// The BGP authentication key entered for the VIF: 6-80 printable ASCII
    /// characters without spaces or `< > & " '`.
    pub auth_key: String,
    /// Amazon's side ASN (from the customer's gateway); default 64512.
    #[schema(example = 64512)]
    pub amazon_side_asn: Option<i64>,
}

/// Order a connector from a provider provisioned through tickets (e.g.
/// Oracle FastConnect): onramp's ops team follows the provider's runbook
/// (`GET /v1/ticket-providers`), then onramp configures its PE with what
/// the provider assigned.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketCspOrder {
    /// Always `ticket-csp`.
    #[schema(example = "ticket-csp")]
    pub kind: String,
    /// The provider's key, from `GET /v1/ticket-providers`.
    #[schema(example = "oracle-fastconnect")]
    pub provider: String,
    /// One of the provider's locations, from `GET /v1/ticket-providers`.
    #[schema(example = "OCI-ASH")]
    pub location: String,
    /// One of 50Mbps, 100Mbps, 200Mbps, 300Mbps, 400Mbps, 500Mbps, 1Gbps, 2Gbps, 5Gbps, 10Gbps, 25Gbps.
    #[schema(example = "1Gbps")]
    pub bandwidth: String,
    /// The ASN onramp's PE speaks for the customer (1-4294967294). Omit to get a private ASN.
    #[schema(example = 65010, minimum = 1, maximum = 4294967294u64)]
    pub customer_asn: Option<i64>,
}

/// The body of `POST /v1/connectors`: one shape per connector kind, told
/// apart by `kind`.
// Only the OpenAPI document uses this type: the handler reads `kind` first
// and then the kind's own shape, so errors name the right fields.
#[allow(dead_code)]
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ConnectorOrder {
    AwsHostedVif(AwsHostedVifOrder),
    AwsHostedConnection(AwsHostedConnectionOrder),
    AzureExpressRoute(AzureExpressRouteOrder),
    GcpPartnerInterconnect(GcpPartnerInterconnectOrder),
    TicketCsp(TicketCspOrder),
}

/// What a `ticket-csp` connector is made of, and which manual step it
/// waits on.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct TicketDetails {
    pub provider: String,
    pub provider_name: String,
    /// How many manual steps the provider's runbook has.
    pub manual_steps: usize,
    /// The manual step ops are on, while the connector waits on them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on_step: Option<WaitingStep>,
}

/// A manual step in progress.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct WaitingStep {
    /// 1-based.
    pub number: usize,
    pub title: String,
}

/// What a Partner Interconnect connector is made of.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct GcpDetails {
    pub pairing_key: String,
    pub region: String,
    pub edge_availability_domain: u8,
    /// onramp's interconnect the attachment sits on.
    pub interconnect: String,
    /// The partner attachment's name at Google, once created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
}

/// What a hosted connection connector is made of.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct HostedConnectionDetails {
    /// The hosted connection's id at AWS (`dxcon-…`), once allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// The VLAN onramp allocated; the customer's VIF must use it.
    pub vlan: u16,
    /// The VIF the customer reported, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vif_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub events: String,
}

/// The peering parameters onramp allocated for the connector.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Peering {
    pub pe: String,
    pub port: String,
    pub vlan: u16,
    /// The link-net, e.g. `169.254.0.0/31`.
    pub subnet: String,
    pub onramp_address: String,
    /// The CSP's address: AWS's, or Google's Cloud Router's.
    pub csp_address: String,
    /// The CSP's ASN: Amazon's side, or Google's 16550.
    pub csp_asn: u32,
    /// Same as `csp_address` (kept for AWS clients).
    pub aws_address: String,
    /// The ASN onramp's PE speaks for the customer.
    pub customer_asn: u32,
    /// `customer` when the customer brought the ASN, `allocated` when onramp did.
    pub asn_source: String,
    /// Same as `csp_asn` (kept for AWS clients).
    pub amazon_side_asn: u32,
}

/// One leg of an ExpressRoute connector.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct AzureLegView {
    pub pe: String,
    pub port: String,
    /// The leg's /30.
    pub subnet: String,
    pub onramp_address: String,
    pub microsoft_address: String,
}

/// What an ExpressRoute connector is made of.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct AzureDetails {
    pub service_key: String,
    pub peering_location: String,
    pub bandwidth_mbps: u32,
    /// Microsoft's outer VLAN on both legs.
    pub s_tag: u16,
    /// The private peering's vlanId (inner VLAN).
    pub vlan_id: u16,
    /// The ASN onramp peers with Microsoft as.
    pub peer_asn: u32,
    /// `customer` when the customer brought the ASN, `allocated` when onramp did.
    pub asn_source: String,
    pub microsoft_asn: u32,
    /// Whether onramp configures the private peering (else the customer does).
    pub configure_peering: bool,
    pub primary: AzureLegView,
    pub secondary: AzureLegView,
    /// `primary` or `secondary` while that leg's BGP session is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_leg: Option<String>,
}

impl AzureLegView {
    fn from_leg(l: &AzureLeg) -> Self {
        AzureLegView {
            pe: l.pe_name.clone(),
            port: l.port_name.clone(),
            subnet: l.subnet.clone(),
            onramp_address: l.pe_address.clone(),
            microsoft_address: l.csp_address.clone(),
        }
    }
}

impl AzureDetails {
    pub(crate) fn from_parts(
        p: &AzureExpressRouteParams,
        r: &AzureResources,
        degraded_leg: Option<String>,
    ) -> Self {
        AzureDetails {
            service_key: p.service_key.clone(),
            peering_location: p.circuit.peering_location.clone(),
            bandwidth_mbps: p.circuit.bandwidth_mbps,
            s_tag: r.s_tag,
            vlan_id: r.c_tag,
            peer_asn: r.asn,
            asn_source: asn_source(r.asn_source).into(),
            microsoft_asn: r.csp_asn,
            configure_peering: p.configure_peering,
            primary: AzureLegView::from_leg(&r.primary),
            secondary: AzureLegView::from_leg(&r.secondary),
            degraded_leg,
        }
    }
}

fn asn_source(s: AsnSource) -> &'static str {
    match s {
        AsnSource::Customer => "customer",
        AsnSource::Allocated => "allocated",
    }
}

/// Speeds as AWS and the portal write them: 50Mbps, 1Gbps, 10Gbps.
pub(crate) fn bandwidth_label(mbps: u32) -> String {
    if mbps >= 1000 && mbps.is_multiple_of(1000) {
        format!("{}Gbps", mbps / 1000)
    } else {
        format!("{mbps}Mbps")
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Connector {
    pub id: Uuid,
    #[schema(example = "aws-hosted-vif")]
    pub kind: String,
    /// See the state table in ARCHITECTURE.md.
    #[schema(example = "waiting_customer_acceptance")]
    pub state: String,
    /// Who the connector waits on: onramp, customer, csp, ops or nobody.
    #[schema(example = "customer")]
    pub waiting_on: String,
    /// What happens next, in words.
    pub next_step: String,
    /// Why the connector failed or was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The error the current step is retrying after, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub location: String,
    pub bandwidth: String,
    /// The BGP session's options on onramp's PE (change them with PATCH).
    pub bgp: BgpOptions,
    /// The customer's own label for the connector, also on the PE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A settings change on its way to the PEs; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeInFlight>,
    /// `aws-hosted-vif`: the customer's AWS account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    /// `aws-hosted-vif`: the hosted VIF's id at AWS, once allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vif_id: Option<String>,
    /// `aws-hosted-vif`: the peering onramp allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering: Option<Peering>,
    /// `azure-expressroute`: the circuit and both legs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureDetails>,
    /// `gcp-partner-interconnect`: the pairing and the attachment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpDetails>,
    /// `aws-hosted-connection`: the connection and the customer's VIF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted_connection: Option<HostedConnectionDetails>,
    /// `ticket-csp`: the provider and the manual step under way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketDetails>,
    /// The BGP shared key, present only in the response to an
    /// `azure-expressroute` order with `configure_peering: false` (the
    /// customer must enter it in Azure). It is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub links: Links,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ConnectorList {
    pub items: Vec<Connector>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// What happened, e.g. `ordered`, `vif_allocated`, `vif_observed`.
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_state: Option<String>,
    pub to_state: String,
    pub message: String,
    /// Who caused it: customer, onramp, aws or router.
    pub actor: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct EventList {
    pub items: Vec<Event>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Location {
    pub code: String,
    pub name: String,
    pub region: String,
    pub csp: String,
    pub kinds: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct LocationList {
    pub items: Vec<Location>,
}

impl Connector {
    pub(crate) fn from_row(
        c: &connector::Model,
        location: &nni::Model,
    ) -> Result<Self, onramp_store::Error> {
        let links = Links {
            self_: format!("/v1/connectors/{}", c.id),
            events: format!("/v1/connectors/{}/events", c.id),
        };
        let options = ConnectorOptions::from_json(&c.options)?;
        let mut view = Connector {
            id: c.id,
            kind: c.kind.clone(),
            state: c.state.clone(),
            waiting_on: c.waiting_on.clone(),
            next_step: String::new(),
            failure_reason: None,
            last_error: c.last_error.clone(),
            location: location.location_code.clone(),
            bandwidth: String::new(),
            bgp: BgpOptions {
                prefix_limit: options.prefix_limit(),
                bfd: options.bfd,
            },
            description: options.description.clone(),
            change: match &c.pending_change {
                None => None,
                Some(json) => {
                    let p = PendingChange::from_json(json)?;
                    Some(ChangeInFlight {
                        fields: p.fields,
                        requested_by: p.requested_by,
                        requested_at: p.requested_at,
                    })
                }
            },
            aws_account_id: None,
            vif_id: None,
            peering: None,
            azure: None,
            gcp: None,
            hosted_connection: None,
            ticket: None,
            shared_key: None,
            created_at: c.created_at,
            updated_at: c.updated_at,
            links,
        };
        crate::kinds::describe(c, location, &mut view)?;
        Ok(view)
    }
}

impl From<connector_event::Model> for Event {
    fn from(e: connector_event::Model) -> Self {
        Event {
            id: e.id,
            at: e.at,
            event: e.event,
            from_state: e.from_state,
            to_state: e.to_state,
            message: e.message,
            actor: e.actor,
        }
    }
}

/// `POST /v1/connectors?dry_run=true`: what an order would do, without
/// allocating, pushing or calling anything.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Plan {
    pub dry_run: bool,
    pub kind: String,
    pub location: String,
    /// `aws-hosted-vif`: the resources the order would be given if placed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering: Option<Peering>,
    /// `azure-expressroute`: the circuit and both legs as they would be placed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureDetails>,
    /// The exact router configuration, per PE.
    pub router_changes: Vec<RouterChange>,
    /// The CSP API calls onramp would make.
    pub csp_calls: Vec<CspCall>,
    /// What would happen after the order, in order.
    pub steps: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct RouterChange {
    pub pe: String,
    pub platform: String,
    /// `create` or `delete`.
    pub operation: String,
    /// For connectors with two legs: `primary` or `secondary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<String>,
    /// The NETCONF edit-config payload. The BGP key is shown as `********`.
    pub config_xml: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct CspCall {
    pub service: String,
    pub operation: String,
    /// Request members as the CSP's API names them.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
}

impl Peering {
    pub(crate) fn from_resources(res: Resources) -> Self {
        Peering {
            pe: res.pe_name,
            port: res.port_name,
            vlan: res.vlan,
            subnet: res.subnet,
            onramp_address: res.pe_address,
            csp_address: res.csp_address.clone(),
            csp_asn: res.csp_asn,
            aws_address: res.csp_address,
            customer_asn: res.asn,
            asn_source: asn_source(res.asn_source).into(),
            amazon_side_asn: res.csp_asn,
        }
    }
}

/// The BGP session's options on onramp's PE.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct BgpOptions {
    /// Most prefixes accepted from the cloud's side before the PE drops the
    /// session (a leak guard).
    pub prefix_limit: u32,
    /// Bidirectional Forwarding Detection (300 ms × 3) on the session.
    pub bfd: bool,
}

/// A settings change on its way to the PEs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ChangeInFlight {
    /// What it changes: `bandwidth`, `prefix_limit`, `bfd`, `description`.
    pub fields: Vec<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
}

/// `PATCH /v1/connectors/{id}`: the settings to change; absent fields stay
/// as they are.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectorChange {
    /// The new bandwidth, in the kind's own names (`aws-hosted-vif`:
    /// `50Mbps` … `10Gbps`). Kinds whose bandwidth the cloud side sets
    /// refuse it, saying where to change it.
    #[serde(default)]
    pub bandwidth: Option<String>,
    /// 1 to 100000.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000)]
    pub prefix_limit: Option<i64>,
    #[serde(default)]
    pub bfd: Option<bool>,
    /// Up to 100 printable characters; null or "" removes it.
    #[serde(default, deserialize_with = "present_or_null")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub description: Option<Option<String>>,
    /// `true`: a new BGP MD5 key on both sides of the session(s), where
    /// onramp runs both (an ExpressRoute circuit whose private peering
    /// onramp configures: both PEs, then Microsoft through the peering).
    /// Other kinds refuse it, saying who holds the other side.
    #[serde(default)]
    pub rotate_bgp_key: Option<bool>,
}

/// A field given as null is Some(None), an absent one None.
fn present_or_null<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}

/// What `PATCH /v1/connectors/{id}` answers with 200: the plan of a dry
/// run, or the connector as it is when nothing asked for differs.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ChangeAnswer {
    Plan(ChangePlan),
    Unchanged(Box<Connector>),
}

/// The plan of a settings change (`PATCH ...?dry_run=true`): nothing is
/// changed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct ChangePlan {
    pub dry_run: bool,
    /// The fields that change (a field given with its current value is
    /// left out).
    pub fields: Vec<String>,
    /// Per PE, in the order they would be changed (Azure: primary leg
    /// first).
    pub router_changes: Vec<PlannedRouterChange>,
    /// The calls onramp would make to the cloud (none when only onramp's
    /// PE changes).
    pub csp_calls: Vec<CspCall>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct PlannedRouterChange {
    pub pe: String,
    pub platform: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<String>,
    /// The NETCONF edit-config payload (a merge); BGP keys show as `********`.
    pub config_xml: String,
    /// Each fact the change sets or removes against the PE's running
    /// configuration, read now.
    pub facts: Vec<PlannedFact>,
    /// Why `facts` is empty: the PE could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts_unavailable: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct PlannedFact {
    pub path: String,
    /// `replaced`, `added`, `removed` or `unchanged`.
    pub change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}
