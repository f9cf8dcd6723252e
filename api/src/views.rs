//! What the API returns: connectors, their timelines, orderable locations.

use chrono::{DateTime, Utc};
use onramp_state_machines::aws_hosted_vif as vif;
use onramp_store::entity::{connector, connector_event, nni};
use onramp_store::model::{AsnSource, AwsHostedVifParams, Resources};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Order an AWS Direct Connect hosted private VIF on onramp's interconnect.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsHostedVifOrder {
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

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub events: String,
}

/// The peering parameters onramp allocated for the connector.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Peering {
    pub pe: String,
    pub port: String,
    pub vlan: u16,
    /// The link-net, e.g. `169.254.0.0/31`.
    pub subnet: String,
    pub onramp_address: String,
    pub aws_address: String,
    pub customer_asn: u32,
    /// `customer` when the customer brought the ASN, `allocated` when onramp did.
    pub asn_source: String,
    pub amazon_side_asn: u32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Connector {
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
    pub aws_account_id: String,
    pub bandwidth: String,
    /// The hosted VIF's id at AWS, once allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vif_id: Option<String>,
    pub peering: Peering,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub links: Links,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    pub items: Vec<Connector>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Event {
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
pub struct EventList {
    pub items: Vec<Event>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Location {
    pub code: String,
    pub name: String,
    pub region: String,
    pub csp: String,
    pub kinds: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LocationList {
    pub items: Vec<Location>,
}

impl Connector {
    pub fn from_row(
        c: &connector::Model,
        location: &nni::Model,
    ) -> Result<Self, onramp_store::Error> {
        let params = AwsHostedVifParams::from_json(&c.params)?;
        let res = Resources::from_json(&c.resources)?;
        let state: vif::State = serde_json::from_str(&c.machine_state)
            .map_err(|e| onramp_store::Error::Corrupt(format!("machine state of {}: {e}", c.id)))?;
        let links = Links {
            self_: format!("/v1/connectors/{}", c.id),
            events: format!("/v1/connectors/{}/events", c.id),
        };
        Ok(Connector {
            id: c.id,
            kind: c.kind.clone(),
            state: c.state.clone(),
            waiting_on: c.waiting_on.clone(),
            next_step: vif::next_step(&state).to_string(),
            failure_reason: vif::failure_reason(&state).map(str::to_string),
            last_error: c.last_error.clone(),
            location: location.location_code.clone(),
            aws_account_id: params.aws_account_id,
            bandwidth: params.bandwidth,
            vif_id: c.csp_ref.clone(),
            peering: Peering::from_resources(res),
            created_at: c.created_at,
            updated_at: c.updated_at,
            links,
        })
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
pub struct Plan {
    pub dry_run: bool,
    pub kind: String,
    pub location: String,
    /// The resources the order would be given if placed now.
    pub peering: Peering,
    /// The exact router configuration, per PE.
    pub router_changes: Vec<RouterChange>,
    /// The CSP API calls onramp would make.
    pub csp_calls: Vec<CspCall>,
    /// What would happen after the order, in order.
    pub steps: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RouterChange {
    pub pe: String,
    pub platform: String,
    /// `create` or `delete`.
    pub operation: String,
    /// The NETCONF edit-config payload. The BGP key is shown as `********`.
    pub config_xml: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CspCall {
    pub service: String,
    pub operation: String,
    /// Request members as the CSP's API names them.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
}

impl Peering {
    pub fn from_resources(res: Resources) -> Self {
        Peering {
            pe: res.pe_name,
            port: res.port_name,
            vlan: res.vlan,
            subnet: res.subnet,
            onramp_address: res.pe_address,
            aws_address: res.csp_address,
            customer_asn: res.asn,
            asn_source: match res.asn_source {
                AsnSource::Customer => "customer",
                AsnSource::Allocated => "allocated",
            }
            .into(),
            amazon_side_asn: res.csp_asn,
        }
    }
}
