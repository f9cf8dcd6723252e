//! What `onramp-dev up` prints once the stack is up: where everything is,
//! the demo's keys and sign-ins, and a walk through each kind of order.

use std::path::PathBuf;

use onramp_devstack::pe::PeEndpoint;

use super::demo::{
    DEMO_ADMIN_KEY, DEMO_API_KEY, DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD, DEMO_OPS_EMAIL,
    DEMO_OPS_PASSWORD,
};

/// Where the running stack's parts are.
pub(super) struct Stack<'a> {
    pub tenant_id: String,
    /// The API, web front ends included: `http://host:port`.
    pub base: String,
    /// The worker's signals listener: `http://host:port`.
    pub worker: String,
    pub aws: String,
    pub azure: String,
    pub gcp: String,
    pub nats: String,
    /// Prometheus, which scrapes the PEs' SNMP agents.
    pub prometheus: String,
    /// Each PE's SNMP agent (PE, address).
    pub agents: Vec<(String, String)>,
    pub db_url: String,
    pub pes: &'a [PeEndpoint],
    pub run_dir: PathBuf,
    /// How to run `onramp-dev` again for the customer commands: the path
    /// of this very binary, so that they can be pasted as printed.
    pub dev_bin: String,
}

/// Prints to stdout, the rest of the stack's output being logs on stderr.
pub(super) fn print(s: &Stack) {
    let pes: Vec<String> = s
        .pes
        .iter()
        .map(|e| {
            format!(
                "    {}: netconf over ssh {}@{}:{} (password {})",
                e.name, e.username, e.host, e.port, e.password
            )
        })
        .collect();
    println!(
        r#"
onramp dev stack is up (tenant "Demo Customer", id {tenant}).

  Portal        {base}/portal    sign in as {cust_email} / {cust_password}
  Ops console   {base}/console   sign in as {ops_email} / {ops_password}
  API           {base}/v1
  Swagger UI    {base}/docs
  OpenAPI       {base}/openapi.json
  Health        {base}/healthz  {base}/readyz
  Metrics       {base}/metrics   (Prometheus, with the admin key below; every response has an x-request-id)
  Worker        {worker}/metrics  {worker}/healthz  {worker}/readyz (database and NATS)
  API key       {key}   (customer "Demo Customer")
  Admin key     {admin_key}   (inventory: {base}/v1/admin/pes)
  AWS DX sim    {aws}   (state: {aws}/_sim/virtual-interfaces)
  Azure ER sim  {azure}   (state: {azure}/_sim/cross-connections)
  Google sim    {gcp}   (state: {gcp}/_sim/attachments)
  NATS          {nats}
  Prometheus    {prometheus}/graph   (the PEs' SNMP agents, through the SNMP exporter)
  SNMP agents   {agents}   (v2c, community onramp-lab)
  KPIs          {base}/v1/connectors/<id>/metrics   {base}/v1/links/<id>/metrics
  Database      {db_url}
  PEs
{pes}
  Logs/files    {run}

Order a hosted VIF:
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"aws-hosted-vif","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"1Gbps"}}'

Watch it (state, waiting_on, vif_id):
  curl -s {base}/v1/connectors -H 'Authorization: Bearer {key}'
  curl -s {base}/v1/connectors/<id>/events -H 'Authorization: Bearer {key}'

Plan an order without placing it (resources, router XML, AWS calls):
  curl -s -X POST '{base}/v1/connectors?dry_run=true' \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"aws-hosted-vif","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"1Gbps"}}'

Accept the VIF as the customer would in the AWS console:
  {dev_bin} aws-customer --endpoint {aws} --account 123456789012 accept <dxvif-id>

Azure ExpressRoute: create a circuit as the customer, then order with its key
(both legs: pe1 and pe2, QinQ, two BGP sessions to AS 12076):
  KEY=$({dev_bin} azure-customer --endpoint {azure} create-circuit --peering-location 'Silicon Valley')
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"azure-expressroute","service_key":"'$KEY'"}}'
  Take a leg down to see `degraded`:
  curl -s -X POST {azure}/_sim/cross-connections/$KEY/legs/primary -d '{{"up":false}}' -H 'Content-Type: application/json'

Google Partner Interconnect: create a pairing key as the customer, order with it,
then activate the attachment as the customer would in the Google Cloud console:
  PK=$({dev_bin} gcp-customer --endpoint {gcp} create-pairing-key --region us-west1 --domain 1)
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"gcp-partner-interconnect","pairing_key":"'$PK'","bandwidth":"BPS_1G"}}'
  {dev_bin} gcp-customer --endpoint {gcp} activate "$PK"

AWS hosted connection: order, accept it, create your VIF on it, report the VIF:
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"aws-hosted-connection","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"500Mbps"}}'
  {dev_bin} aws-customer --endpoint {aws} confirm-connection <dxcon-id>
  {dev_bin} aws-customer --endpoint {aws} create-vif <dxcon-id> --vlan <vlan from the connector>
  curl -s -X PUT {base}/v1/connectors/<id>/vif \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"customer_address":"169.254.10.2/30","amazon_address":"169.254.10.1/30","asn":65010,"auth_key":"demo-bgp-key-0001"}}'

Oracle FastConnect (a ticket-based provider): order, then do the ops tasks
as the operator's team would (the admin key works them; GET /v1/ticket-providers):
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"ticket-csp","provider":"oracle-fastconnect","location":"OCI-ASH","bandwidth":"1Gbps"}}'
  curl -s {base}/v1/tasks -H 'Authorization: Bearer {admin_key}'
  curl -s -X POST {base}/v1/tasks/<task id>/claim -H 'Authorization: Bearer {admin_key}'
  curl -s -X POST {base}/v1/tasks/<task id>/complete -H 'Authorization: Bearer {admin_key}' \
    -H 'Content-Type: application/json' -d '{{"values":{{"provider_ticket":"SR-3-1234"}}}}'
  (step 2: {{"values":{{"provider_vlan":"812","provider_peer_ip":"<second address of the /30>/30","provider_asn":"31898"}}}})

Deprovision:
  curl -s -X DELETE {base}/v1/connectors/<id> -H 'Authorization: Bearer {key}'

Get every state change POSTed to you, signed (README: Webhooks):
  curl -s -X POST {base}/v1/webhooks \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"url":"http://127.0.0.1:9000/hook"}}'

Operate it from a shell (README: Operator CLI), e.g. a PE's maintenance:
  export ONRAMP_API_URL={base} ONRAMP_API_KEY={admin_key}
  cargo run -q --bin onramp -- ctl pes maintenance start pe1 --reason 'line card swap'
  cargo run -q --bin onramp -- ctl connectors list --waiting-on router
  cargo run -q --bin onramp -- ctl pes maintenance end pe1

Ctrl-C stops everything.
"#,
        tenant = s.tenant_id,
        base = s.base,
        worker = s.worker,
        key = DEMO_API_KEY,
        admin_key = DEMO_ADMIN_KEY,
        cust_email = DEMO_CUSTOMER_EMAIL,
        cust_password = DEMO_CUSTOMER_PASSWORD,
        ops_email = DEMO_OPS_EMAIL,
        ops_password = DEMO_OPS_PASSWORD,
        aws = s.aws,
        azure = s.azure,
        gcp = s.gcp,
        nats = s.nats,
        prometheus = s.prometheus,
        agents = s
            .agents
            .iter()
            .map(|(pe, addr)| format!("{pe} {addr}"))
            .collect::<Vec<_>>()
            .join(", "),
        db_url = s.db_url,
        pes = pes.join("\n"),
        run = s.run_dir.display(),
        dev_bin = s.dev_bin,
    );
}
