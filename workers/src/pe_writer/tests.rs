//! The writer against a real PE (netconfd behind sshd) and a real SQLite
//! queue: a batch is validated as a whole.

use std::time::Duration;

use chrono::Utc;
use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_router_templates::{AttachmentIntent, NeighborIntent, VrfIntent};
use onramp_state_machines::aws_hosted_vif as vif;
use onramp_store::entity::{connector, nni, pe_change, pe_router};
use onramp_store::seed::{Seed, SeedDx, SeedPe};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;

use onramp_store::pe_changes::DONE;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    _lab: PeLab,
    db: DatabaseConnection,
    writer: PeWriter,
    pe: pe_router::Model,
    target: PeTarget,
    tenant: Uuid,
    nni: Uuid,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let templates = onramp_router_templates::default_templates_root();
    let lab = PeLab::start(PeLabConfig::new(
        &["pe1"],
        templates.join("reference-pe").join("yang"),
        dir.path().join("pes"),
    ))
    .unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display());
    let db = onramp_store::connect_and_migrate(&url).await.unwrap();
    let secrets = SecretBox::from_base64_key(&SecretBox::generate_base64_key()).unwrap();
    let e = &lab.endpoints()[0];
    let seeded = onramp_store::seed::seed(
        &db,
        &Seed {
            pes: vec![SeedPe::reference_pe(
                &e.name,
                &e.host,
                e.port,
                &e.username,
                &e.password,
                &e.host_key_fingerprint,
            )],
            dx: vec![SeedDx {
                location_code: "EqDC2".into(),
                name: "Equinix DC2".into(),
                region: "us-east-1".into(),
                interconnect_id: "dxcon-onramp01".into(),
                pe: 0,
                amazon_side_asn: 64512,
                capacity_mbps: 10_000,
            }],
            er: vec![],
            gcp: vec![],
            linknet_cidr: "169.254.0.0/16".into(),
            tenant_name: "Acme".into(),
            api_key: onramp_store::auth::generate_key(),
        },
        &secrets,
    )
    .await
    .unwrap();
    let pe = pe_router::Entity::find_by_id(seeded.pe_ids[0])
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let nni = nni::Entity::find().one(&db).await.unwrap().unwrap().id;
    let writer = PeWriter::new(
        db.clone(),
        secrets,
        templates,
        "test-writer".into(),
        Duration::from_secs(30),
    );
    let target = writer.target(&pe).ok().unwrap();
    Fixture {
        _dir: dir,
        _lab: lab,
        db,
        writer,
        pe,
        target,
        tenant: seeded.tenant_id,
        nni,
    }
}

impl Fixture {
    /// A connector row for the queue to point at (the queue's foreign key).
    async fn connector(&self) -> Uuid {
        let id = Uuid::new_v4();
        connector::ActiveModel {
            id: Set(id),
            tenant_id: Set(self.tenant),
            kind: Set("aws-hosted-vif".into()),
            state: Set("configuring_pe".into()),
            machine_state: Set(serde_json::to_string(&vif::State::ConfiguringPe {}).unwrap()),
            waiting_on: Set("onramp".into()),
            nni_id: Set(self.nni),
            params: Set("{}".into()),
            resources: Set("{}".into()),
            csp_ref: Set(None),
            step: Set(1),
            last_error: Set(None),
            lease_until_ms: Set(None),
            lease_holder: Set(None),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            options: Set("{}".into()),
            pending_change: Set(None),
        }
        .insert(&self.db)
        .await
        .unwrap();
        id
    }

    async fn queue(&self, connector: Uuid, intent: &AttachmentIntent) -> i64 {
        pe_changes::enqueue(
            &self.db,
            self.pe.id,
            connector,
            1,
            "create",
            &self.writer.seal(intent),
        )
        .await
        .unwrap()
        .id
    }

    async fn change(&self, id: i64) -> pe_change::Model {
        pe_change::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .unwrap()
            .unwrap()
    }

    async fn running(&self) -> PeFacts {
        let running = onramp_pe_netconf::get_running(&self.target).await.unwrap();
        let platform = self.writer.platform("reference-pe").unwrap();
        PeFacts::from_running(&platform.platform, &running).unwrap()
    }
}

fn intent(connector: Uuid, vlan: u16) -> AttachmentIntent {
    AttachmentIntent {
        connector_id: connector.to_string(),
        interface: "ge-0/0/1".into(),
        vlan,
        inner_vlan: None,
        local_address: "169.254.50.1/30".into(),
        vrf: VrfIntent {
            name: "CUST-ACME".into(),
            route_distinguisher: "65000:2001".into(),
            route_target: "target:65000:2001".into(),
        },
        neighbor: NeighborIntent {
            address: "169.254.50.2".into(),
            peer_as: 65010,
            local_as: 64512,
            auth_key: "batch-test-key".into(),
            prefix_limit: 100,
            bfd: false,
            description: "aws hosted connection".into(),
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(100)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_changes_that_clash_only_with_each_other_never_share_a_commit() {
    let f = start().await;
    // Two connectors, two units, the same /30 and BGP neighbor in one VRF:
    // each passes against the PE alone.
    let (a, b) = (f.connector().await, f.connector().await);
    let first = f.queue(a, &intent(a, 300)).await;
    let second = f.queue(b, &intent(b, 301)).await;

    assert!(f.writer.drain_if_free(&f.pe).await.ok().unwrap());

    let (first, second) = (f.change(first).await, f.change(second).await);
    assert_eq!(first.status, DONE, "{:?}", first.error);
    assert_eq!(second.status, FAILED);
    let reason = second.error.unwrap_or_default();
    assert!(
        reason.contains("subnet_overlap") && reason.contains("neighbor_in_use"),
        "{reason}"
    );
    assert!(
        reason.contains(&a.to_string()),
        "names the holder: {reason}"
    );
    // The writer settled both connectors in the transaction that recorded
    // the outcomes: no job had to come back for them.
    let get = |id| onramp_store::connectors::get(&f.db, id);
    let ra = get(a).await.unwrap().unwrap();
    let rb = get(b).await.unwrap().unwrap();
    assert_eq!((ra.state.as_str(), ra.step), ("allocating_vif", 2));
    // A refused push rolls the order back (the VIF first).
    assert_eq!((rb.state.as_str(), rb.step), ("deleting_vif", 2));

    // The PE holds exactly the first.
    let held = f.running().await;
    assert_eq!(held.units.len(), 1, "{held:#?}");
    assert_eq!(held.units[0].unit, 300);
    assert_eq!(held.neighbors.len(), 1, "{held:#?}");
    assert!(
        held.neighbors[0]
            .description
            .as_deref()
            .is_some_and(|d| d.contains(&a.to_string())),
        "{held:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_change_put_back_waits_its_delay_and_the_delay_grows() {
    let f = start().await;
    let a = f.connector().await;
    let id = f.queue(a, &intent(a, 300)).await;
    pe_changes::finish(&f.db, id, FAILED, Some("refused".into()))
        .await
        .unwrap();

    pe_changes::requeue(&f.db, &f.change(id).await)
        .await
        .unwrap();
    let ch = f.change(id).await;
    assert_eq!((ch.status.as_str(), ch.attempts), ("pending", 1));
    let first_delay = ch.retry_at_ms.unwrap() - Utc::now().timestamp_millis();
    assert!((0..=1_000).contains(&first_delay), "{first_delay}");
    // Not due yet: the writer does not take it.
    assert!(
        pe_changes::pending(&f.db, f.pe.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Refused again: the next delay is longer. A requeue of a change that
    // is not refused (a second job racing the first) changes nothing.
    pe_changes::finish(&f.db, id, FAILED, Some("refused".into()))
        .await
        .unwrap();
    pe_changes::requeue(&f.db, &f.change(id).await)
        .await
        .unwrap();
    let ch = f.change(id).await;
    pe_changes::requeue(&f.db, &ch).await.unwrap();
    assert_eq!(f.change(id).await.attempts, 2);
    let second_delay = ch.retry_at_ms.unwrap() - Utc::now().timestamp_millis();
    assert!(
        second_delay > first_delay,
        "{second_delay} after {first_delay}"
    );

    // Once due, it is taken again.
    pe_change::Entity::update_many()
        .col_expr(
            pe_change::Column::RetryAtMs,
            sea_orm::sea_query::Expr::value(Some(Utc::now().timestamp_millis() - 1)),
        )
        .exec(&f.db)
        .await
        .unwrap();
    assert_eq!(
        pe_changes::pending(&f.db, f.pe.id, 10).await.unwrap().len(),
        1
    );
}
