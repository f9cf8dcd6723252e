//! The dev stack's demo: an inventory on the two simulated PEs, the tenant
//! "Demo Customer", fixed keys and sign-ins. Only ever valid on a dev stack,
//! on loopback; they are fixed so that docs and scripts can name them.

use onramp_devstack::pe::PeEndpoint;
use onramp_store::DatabaseConnection;
use onramp_store::secrets::SecretBox;
use onramp_store::seed::{Seed, SeedDx, SeedEr, SeedGcp, SeedPe, Seeded};

/// The demo tenant's API key (scripts/api-fuzz.sh names it too).
pub(super) const DEMO_API_KEY: &str = "onr_demo_local_only_key_0000000000";
/// The operator's admin key (inventory admin API).
pub(super) const DEMO_ADMIN_KEY: &str = "onr_demo_local_only_admin_00000000";
/// Sign-ins for the web front ends, printed at start.
pub(super) const DEMO_OPS_EMAIL: &str = "ops@onramp.local";
pub(super) const DEMO_OPS_PASSWORD: &str = "demo-ops-password";
pub(super) const DEMO_CUSTOMER_EMAIL: &str = "casey@demo-customer.local";
pub(super) const DEMO_CUSTOMER_PASSWORD: &str = "demo-customer-password";

/// Seeds the inventory, the demo tenant and its people, the operator's admin
/// key and the ticket-based providers. Idempotent: the database is kept
/// across runs.
pub(super) async fn seed(
    db: &DatabaseConnection,
    pes: &[PeEndpoint],
    agents: &onramp_lab_agent::Lab,
    secrets: &SecretBox,
) -> anyhow::Result<Seeded> {
    let seeded = onramp_store::seed::seed(db, &inventory(pes, agents), secrets).await?;
    let operator = onramp_store::seed::seed_admin_key(db, DEMO_ADMIN_KEY).await?;
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
            db,
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
        db,
        &onramp_store::seed::demo_ticket_providers(1, "ge-0/0/4"),
        &seeded.pe_ids,
    )
    .await?;
    Ok(seeded)
}

/// Two PEs; DX interconnects at EqDC2 (pe1) and EqSE2 (pe2), as the AWS
/// simulator is configured; an ExpressRoute port pair across both PEs; a
/// Partner Interconnect in each of us-west1's two domains.
fn inventory(pes: &[PeEndpoint], agents: &onramp_lab_agent::Lab) -> Seed {
    Seed {
        pes: pes
            .iter()
            .map(|e| SeedPe {
                // Each PE's SNMP agent, which Prometheus scrapes.
                snmp_target: agents.agent(&e.name).map(|a| a.snmp_addr.to_string()),
                ..SeedPe::reference_pe(
                    &e.name,
                    &e.host,
                    e.port,
                    &e.username,
                    &e.password,
                    &e.host_key_fingerprint,
                )
            })
            .collect(),
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
        er: vec![SeedEr::lab()],
        gcp: SeedGcp::lab_zones(),
        linknet_cidr: "169.254.0.0/16".into(),
        tenant_name: "Demo Customer".into(),
        api_key: DEMO_API_KEY.into(),
    }
}
