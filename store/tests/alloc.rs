//! Allocation rules on a real SQLite file: blocks of different sizes from
//! one link-net pool never overlap, and the ASN pools are used in order.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use onramp_store::alloc::{self, Owner};
use onramp_store::entity::{asn_pool, linknet_pool, tenant};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;

async fn db() -> (tempfile::TempDir, onramp_store::DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    let db = onramp_store::connect_and_migrate(&url).await.unwrap();
    (dir, db)
}

/// Allocations need an owner row; a tenant is the lightest one.
async fn owner(db: &onramp_store::DatabaseConnection) -> Owner {
    let id = Uuid::new_v4();
    tenant::ActiveModel {
        id: Set(id),
        name: Set(id.to_string()),
        vrf_name: Set("v".into()),
        route_distinguisher: Set("1:1".into()),
        route_target: Set("target:1:1".into()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    Owner::Tenant(id)
}

#[tokio::test]
async fn mixed_subnet_sizes_never_overlap_and_exhaust_cleanly() {
    let (_dir, db) = db().await;
    let pool = linknet_pool::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("small".into()),
        cidr: Set("169.254.10.0/27".into()),
    }
    .insert(&db)
    .await
    .unwrap();
    let mut taken: HashSet<u32> = HashSet::new();
    // Mixed sizes from a /27 (32 addresses), lowest aligned free block first.
    let mut blocks = Vec::new();
    for len in [31u8, 29, 30, 31, 29, 30, 31] {
        let o = owner(&db).await;
        let net = alloc::subnet(&db, pool.id, &pool.name, &pool.cidr, len, o)
            .await
            .unwrap();
        let size = 1u32 << (32 - len);
        assert_eq!(u32::from(net) % size, 0, "{net}/{len} is aligned");
        for a in u32::from(net)..u32::from(net) + size {
            assert!(taken.insert(a), "{} handed out twice", Ipv4Addr::from(a));
            assert!(
                a >> 5 == u32::from(Ipv4Addr::new(169, 254, 10, 0)) >> 5,
                "inside the pool"
            );
        }
        blocks.push((net, len));
    }
    assert_eq!(taken.len(), 30, "{blocks:?}");
    // 30 of 32 addresses used, in a shape that leaves one /31 but no /30.
    let o = owner(&db).await;
    let err = alloc::subnet(&db, pool.id, &pool.name, &pool.cidr, 30, o)
        .await
        .unwrap_err();
    assert!(
        matches!(err, onramp_store::Error::Exhausted { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("small (169.254.10.0/27)"), "{err}");
    let o = owner(&db).await;
    let last = alloc::subnet(&db, pool.id, &pool.name, &pool.cidr, 31, o)
        .await
        .unwrap();
    assert!(
        !taken.contains(&u32::from(last)),
        "the last /31 is the free one"
    );
    let o = owner(&db).await;
    assert!(
        alloc::subnet(&db, pool.id, &pool.name, &pool.cidr, 31, o)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn asns_come_from_the_16_bit_pool_then_the_32_bit_one() {
    let (_dir, db) = db().await;
    for (name, first, last) in [
        ("two-byte", 65533_i64, 65534_i64),
        ("four-byte", 4_200_000_000, 4_200_000_000),
    ] {
        asn_pool::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(name.into()),
            first: Set(first),
            last: Set(last),
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let o = owner(&db).await;
        got.push(alloc::asn(&db, o).await.unwrap());
    }
    assert_eq!(got, [65533, 65534, 4_200_000_000]);
    let o = owner(&db).await;
    let err = alloc::asn(&db, o).await.unwrap_err();
    assert!(
        err.to_string().contains("two-byte") && err.to_string().contains("four-byte"),
        "{err}"
    );
    assert_eq!(asn_pool::Entity::find().all(&db).await.unwrap().len(), 2);
}
