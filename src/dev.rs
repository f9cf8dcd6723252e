//! `onramp dev`: the whole stack on one machine, for a demo or a try-out.
//! Everything listens on 127.0.0.1 only.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use onramp_devstack::nats::NatsServer;
use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_simulators::aws_dx::{AwsDxSim, Interconnect, SimConfig};
use onramp_simulators::azure_er::{AzureErSim, AzureSimConfig};
use onramp_simulators::gcp_pi::{GcpPiSim, GcpSimConfig};
use onramp_store::seed::{Seed, SeedDx, SeedEr, SeedGcp, SeedPe};
use onramp_workers::{AzureConfig, DxConfig, GcpConfig, GcpSettings, WorkerConfig};

/// The demo tenant's API key. Only ever valid on a dev stack, on loopback.
pub const DEMO_API_KEY: &str = "onr_demo_local_only_key_0000000000";
/// Sign-ins for the web front ends on a dev stack, printed at start.
pub const DEMO_OPS_EMAIL: &str = "ops@onramp.local";
pub const DEMO_OPS_PASSWORD: &str = "demo-ops-password";
pub const DEMO_CUSTOMER_EMAIL: &str = "casey@demo-customer.local";
pub const DEMO_CUSTOMER_PASSWORD: &str = "demo-customer-password";
/// The operator's admin key on a dev stack (inventory admin API).
pub const DEMO_ADMIN_KEY: &str = "onr_demo_local_only_admin_00000000";

#[derive(Args)]
pub struct DevArgs {
    /// Where the SQLite database and the servers' files live.
    #[arg(long, default_value = ".onramp-dev")]
    dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The AWS simulator's port.
    #[arg(long, default_value_t = 4566)]
    aws_port: u16,
    /// Seconds from the customer's acceptance to the VIF being available, and again to BGP up.
    #[arg(long, default_value_t = 2)]
    aws_delay_secs: u64,
    /// The Azure ExpressRoute simulator's port (ARM and the token endpoint).
    #[arg(long, default_value_t = 4567)]
    azure_port: u16,
    /// The Google Compute simulator's port (Compute and the metadata token endpoint).
    #[arg(long, default_value_t = 4568)]
    gcp_port: u16,
}

pub async fn run(a: DevArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    let dir = std::fs::canonicalize(&a.dir)?;
    let run_dir = dir.join("run");
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir)?;

    eprintln!("starting nats-server (JetStream) ...");
    let nats = NatsServer::start(&run_dir).context("starting nats-server")?;

    eprintln!("starting two netconfd PEs behind sshd ...");
    let templates = onramp_router_templates::default_templates_root();
    let pe_lab = PeLab::start(PeLabConfig::new(
        &["pe1", "pe2"],
        templates.join("reference-pe").join("yang"),
        run_dir.join("pes"),
    ))
    .context("starting the netconfd PEs")?;

    let delay = Duration::from_secs(a.aws_delay_secs);
    let sim_cfg = SimConfig {
        interconnects: vec![
            Interconnect {
                connection_id: "dxcon-onramp01".into(),
                name: "onramp-eqdc2-1".into(),
                location: "EqDC2".into(),
                region: "us-east-1".into(),
                bandwidth: "10Gbps".into(),
            },
            Interconnect {
                connection_id: "dxcon-onramp02".into(),
                name: "onramp-eqse2-1".into(),
                location: "EqSE2".into(),
                region: "us-west-2".into(),
                bandwidth: "10Gbps".into(),
            },
        ],
        available_after: delay,
        bgp_up_after: delay,
        ..SimConfig::default()
    };
    let partner_key = sim_cfg.partner_access_key_id.clone();
    let sim = AwsDxSim::new(sim_cfg)
        .serve(([127, 0, 0, 1], a.aws_port).into())
        .await
        .with_context(|| format!("starting the AWS simulator on port {}", a.aws_port))?;

    let az_cfg = AzureSimConfig {
        lro_delay: Duration::from_secs(1),
        ..AzureSimConfig::default()
    };
    let azure_sim = AzureErSim::new(az_cfg.clone())
        .serve(([127, 0, 0, 1], a.azure_port).into())
        .await
        .with_context(|| format!("starting the Azure simulator on port {}", a.azure_port))?;

    let gcp_cfg = GcpSimConfig {
        op_delay: Duration::from_secs(1),
        ..GcpSimConfig::default()
    };
    let gcp_sim = GcpPiSim::new(gcp_cfg.clone())
        .serve(([127, 0, 0, 1], a.gcp_port).into())
        .await
        .with_context(|| format!("starting the Google simulator on port {}", a.gcp_port))?;

    // The dev stack's own sealing key, kept with its database.
    let key_file = dir.join("secret.key");
    let secret_key = match std::fs::read_to_string(&key_file) {
        Ok(k) => k,
        Err(_) => {
            let k = onramp_store::secrets::SecretBox::generate_base64_key();
            std::fs::write(&key_file, &k)?;
            k
        }
    };
    let secrets = onramp_store::secrets::SecretBox::from_base64_key(&secret_key)
        .with_context(|| format!("{} is not a usable key", key_file.display()))?;

    let db_url = format!("sqlite://{}?mode=rwc", dir.join("onramp.db").display());
    let db = onramp_store::connect_and_migrate(&db_url).await?;
    let pes = pe_lab
        .endpoints()
        .iter()
        .map(|e| {
            SeedPe::reference_pe(
                &e.name,
                &e.host,
                e.port,
                &e.username,
                &e.password,
                &e.host_key_fingerprint,
            )
        })
        .collect();
    let seeded = onramp_store::seed::seed(
        &db,
        &Seed {
            pes,
            dx: vec![
                SeedDx {
                    location_code: "EqDC2".into(),
                    name: "Equinix DC2, Ashburn".into(),
                    region: "us-east-1".into(),
                    interconnect_id: "dxcon-onramp01".into(),
                    pe: 0,
                    amazon_side_asn: 64512,
                    capacity_mbps: 10_000,
                },
                SeedDx {
                    location_code: "EqSE2".into(),
                    name: "Equinix SE2, Seattle".into(),
                    region: "us-west-2".into(),
                    interconnect_id: "dxcon-onramp02".into(),
                    pe: 1,
                    amazon_side_asn: 64512,
                    capacity_mbps: 10_000,
                },
            ],
            er: vec![SeedEr {
                location_code: "SiliconValley".into(),
                name: "ExpressRoute Silicon Valley".into(),
                region: "westus".into(),
                primary_azure_port: "ONRAMP-SILICONVALLEY-06GMR-CIS-1-PRI-A".into(),
                primary_pe: 0,
                secondary_pe: 1,
                port_name: "ge-0/0/2".into(),
                capacity_mbps: 10_000,
            }],
            gcp: vec![
                SeedGcp {
                    location_code: "SJC-Z1".into(),
                    name: "Partner Interconnect San Jose, zone 1".into(),
                    region: "us-west1".into(),
                    interconnect: "onramp-sjc-zone1".into(),
                    edge_availability_domain: 1,
                    pe: 0,
                    port_name: "ge-0/0/3".into(),
                    capacity_mbps: 10_000,
                },
                SeedGcp {
                    location_code: "SJC-Z2".into(),
                    name: "Partner Interconnect San Jose, zone 2".into(),
                    region: "us-west1".into(),
                    interconnect: "onramp-sjc-zone2".into(),
                    edge_availability_domain: 2,
                    pe: 1,
                    port_name: "ge-0/0/3".into(),
                    capacity_mbps: 10_000,
                },
            ],
            linknet_cidr: "169.254.0.0/16".into(),
            tenant_name: "Demo Customer".into(),
            api_key: DEMO_API_KEY.into(),
        },
        &secrets,
    )
    .await?;

    let operator = onramp_store::seed::seed_admin_key(&db, DEMO_ADMIN_KEY).await?;
    // People for the web front ends: one of the operator's ops engineers
    // (console) and one of the demo customer's staff (portal).
    for (tenant_id, email, name, role, password) in [
        (
            operator,
            DEMO_OPS_EMAIL,
            "Olivia Ops",
            "ops",
            DEMO_OPS_PASSWORD,
        ),
        (
            seeded.tenant_id,
            DEMO_CUSTOMER_EMAIL,
            "Casey Customer",
            "customer",
            DEMO_CUSTOMER_PASSWORD,
        ),
    ] {
        onramp_store::users::ensure_user(
            &db,
            &onramp_store::users::NewUser {
                tenant_id,
                email,
                name,
                role,
                password,
            },
        )
        .await?;
    }
    // Ticket-based providers (issue 6): their NNIs on pe2's ge-0/0/4; the
    // admin key can work their ops tasks (ops and admin keys both can).
    onramp_store::seed::seed_ticket_providers(
        &db,
        &onramp_store::seed::demo_ticket_providers(1, "ge-0/0/4"),
        &seeded.pe_ids,
    )
    .await?;

    let mut cfg = WorkerConfig::new(
        nats.url(),
        DxConfig {
            endpoint_url: sim.endpoint_url(),
            region: "us-east-1".into(),
            access_key_id: partner_key,
            secret_access_key: "onramp-dev-secret".into(),
        },
        secrets.clone(),
    );
    cfg.poll_interval = Duration::from_secs(1);
    cfg.ack_wait = Duration::from_secs(20);
    cfg.lease = Duration::from_secs(20);
    cfg.templates_root = templates;
    let azure = AzureConfig::new(
        azure_sim.endpoint_url(),
        azure_sim.endpoint_url(),
        az_cfg.tenant_id.clone(),
        az_cfg.client_id.clone(),
        az_cfg.client_secret.clone(),
        az_cfg.subscription_id.clone(),
    );
    cfg.azure = Some(azure.clone());
    cfg.gcp = Some(GcpSettings {
        api: GcpConfig::new(
            gcp_sim.endpoint_url(),
            gcp_sim.endpoint_url(),
            gcp_cfg.project.clone(),
        ),
        partner_name: gcp_cfg.partner_name.clone(),
        portal_url: format!("http://{}", a.listen),
    });

    let (tx, rx) = tokio::sync::watch::channel(false);
    let js = onramp_workers::connect_jetstream(&cfg.nats_url).await?;
    onramp_workers::ensure_stream_and_consumers(&js, cfg.ack_wait).await?;
    let relay = tokio::spawn(onramp_workers::run_relay(db.clone(), js, rx.clone()));
    let webhooks = tokio::spawn(onramp_workers::run_webhooks(
        db.clone(),
        secrets.clone(),
        onramp_workers::WebhookConfig::new(cfg.worker_id.clone()),
        rx.clone(),
    ));
    let worker = tokio::spawn(onramp_workers::run_worker(db.clone(), cfg, rx.clone()));

    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("binding {} (is another onramp running?)", a.listen))?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut api_rx = rx.clone();
    let api = tokio::spawn(onramp_web::serve(
        listener,
        onramp_api::AppState::new(db, secrets).with_azure(Some(azure)),
        async move {
            let _ = api_rx.changed().await;
        },
    ));

    let pe_lines: Vec<String> = pe_lab
        .endpoints()
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
  API key       {key}   (customer "Demo Customer")
  Admin key     {admin_key}   (inventory: {base}/v1/admin/pes)
  AWS DX sim    {aws}   (state: {aws}/_sim/virtual-interfaces)
  Azure ER sim  {azure}   (state: {azure}/_sim/cross-connections)
  Google sim    {gcp}   (state: {gcp}/_sim/attachments)
  NATS          {nats}
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
  onramp aws-customer --endpoint {aws} --account 123456789012 accept <dxvif-id>
  (or: cargo run -q -- aws-customer --endpoint {aws} --account 123456789012 accept <dxvif-id>)

Azure ExpressRoute: create a circuit as the customer, then order with its key
(both legs: pe1 and pe2, QinQ, two BGP sessions to AS 12076):
  KEY=$(onramp azure-customer --endpoint {azure} create-circuit --peering-location 'Silicon Valley')
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"azure-expressroute","service_key":"'$KEY'"}}'
  Take a leg down to see `degraded`:
  curl -s -X POST {azure}/_sim/cross-connections/$KEY/legs/primary -d '{{"up":false}}' -H 'Content-Type: application/json'

Google Partner Interconnect: create a pairing key as the customer, order with it,
then activate the attachment as the customer would in the Google Cloud console:
  PK=$(onramp gcp-customer --endpoint {gcp} create-pairing-key --region us-west1 --domain 1)
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"gcp-partner-interconnect","pairing_key":"'$PK'","bandwidth":"BPS_1G"}}'
  onramp gcp-customer --endpoint {gcp} activate "$PK"

AWS hosted connection: order, accept it, create your VIF on it, report the VIF:
  curl -s -X POST {base}/v1/connectors \
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
    -d '{{"kind":"aws-hosted-connection","aws_account_id":"123456789012","location":"EqDC2","bandwidth":"500Mbps"}}'
  onramp aws-customer --endpoint {aws} confirm-connection <dxcon-id>
  onramp aws-customer --endpoint {aws} create-vif <dxcon-id> --vlan <vlan from the connector>
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

Ctrl-C stops everything.
"#,
        tenant = seeded.tenant_id,
        key = DEMO_API_KEY,
        admin_key = DEMO_ADMIN_KEY,
        cust_email = DEMO_CUSTOMER_EMAIL,
        cust_password = DEMO_CUSTOMER_PASSWORD,
        ops_email = DEMO_OPS_EMAIL,
        ops_password = DEMO_OPS_PASSWORD,
        aws = sim.endpoint_url(),
        azure = azure_sim.endpoint_url(),
        gcp = gcp_sim.endpoint_url(),
        nats = nats.url(),
        pes = pe_lines.join("\n"),
        run = run_dir.display(),
    );

    crate::shutdown_signal().await;
    eprintln!("stopping ...");
    let _ = tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = api.await;
        let _ = relay.await;
        let _ = worker.await;
        let _ = webhooks.await;
    })
    .await;
    drop(sim);
    drop(azure_sim);
    drop(gcp_sim);
    drop(pe_lab);
    nats.stop();
    Ok(())
}
