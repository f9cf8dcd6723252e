//! The NETCONF adapter against real routers: netconfd 2.13 behind OpenSSH,
//! started by `onramp_devstack::pe` with the reference-pe YANG module. Needs
//! what `scripts/install-deps.sh` sets up (netconfd, openssh-server, the
//! `onramp-pe` user) and root.

use std::time::{Duration, Instant};

use onramp_devstack::pe::{PeEndpoint, PeLab, PeLabConfig};
use onramp_pe_netconf::{
    ApplyOptions, DefaultOperation, Error, PeTarget, Quirks, Rendered, apply, apply_with,
    get_running,
};
use onramp_router_templates::{
    AttachmentIntent, Expectation, NeighborIntent, Operation, Platform, Step, VrfIntent,
    default_templates_root,
};

const NS: &str = "urn:onramp:yang:onramp-pe";

struct Lab {
    lab: PeLab,
    platform: Platform,
    _work: tempfile::TempDir,
}

impl Lab {
    fn start() -> Lab {
        let platform = Platform::load(&default_templates_root(), "reference-pe").unwrap();
        let work = tempfile::tempdir().unwrap();
        let cfg = PeLabConfig::new(&["pe1", "pe2"], platform.yang_dir().unwrap(), work.path());
        let lab = PeLab::start(cfg).unwrap_or_else(|e| panic!("PE lab did not start: {e}"));
        Lab {
            lab,
            platform,
            _work: work,
        }
    }

    fn target(&self, name: &str) -> PeTarget {
        target(self.lab.endpoint(name).unwrap())
    }

    fn render(&self, op: Operation, intent: &AttachmentIntent) -> Rendered {
        self.platform.render(op, intent).unwrap()
    }

    async fn push(&self, pe: &str, op: Operation, intent: &AttachmentIntent) -> Result<(), Error> {
        apply(
            &self.target(pe),
            self.platform.quirks(),
            &self.render(op, intent),
        )
        .await
    }
}

/// A NETCONF session of its own to the PE, outside the adapter's pool: what
/// another client of the router (or a session a test abandons) looks like.
async fn raw_session(pe: &PeTarget) -> rustnetconf::Client {
    use rustnetconf::transport::ssh::HostKeyVerification;
    rustnetconf::Client::connect(&format!("{}:{}", pe.host, pe.port))
        .username(&pe.username)
        .password(&pe.password)
        .host_key_verification(HostKeyVerification::Fingerprint(
            pe.host_key_fingerprint.clone().unwrap(),
        ))
        .gather_facts(false)
        .connect()
        .await
        .unwrap()
}

fn target(ep: &PeEndpoint) -> PeTarget {
    PeTarget {
        name: ep.name.clone(),
        host: ep.host.clone(),
        port: ep.port,
        username: ep.username.clone(),
        password: ep.password.clone(),
        host_key_fingerprint: Some(ep.host_key_fingerprint.clone()),
    }
}

/// Attachment `n` of customer ACME: VLAN 100+n, 169.254.10.(2n+1)/31 on the PE,
/// the peer at .(2n).
fn intent(n: u16) -> AttachmentIntent {
    AttachmentIntent {
        connector_id: format!("conn-{n:04}"),
        interface: "ge-0/0/1".into(),
        vlan: 100 + n,
        inner_vlan: None,
        local_address: format!("169.254.10.{}/31", 2 * n + 1),
        vrf: VrfIntent {
            name: "CUST-ACME".into(),
            route_distinguisher: "65000:1001".into(),
            route_target: "target:65000:1001".into(),
        },
        neighbor: NeighborIntent {
            address: format!("169.254.10.{}", 2 * n),
            peer_as: 64512 + u32::from(n),
            local_as: 65000,
            auth_key: format!("md5-key-{n}"),
            prefix_limit: 100,
            bfd: false,
            description: format!("cloud side of conn-{n:04}"),
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(100)),
    }
}

async fn running(t: &PeTarget) -> String {
    get_running(t).await.unwrap()
}

/// The text of `leaf` under the element reached by `path`, a list of
/// (element, key leaf, key value) steps from the top; `""` as key leaf for a
/// container. `None` when the element or leaf is absent.
fn leaf(running: &str, path: &[(&str, &str, &str)], leaf: &str) -> Option<String> {
    let wrapped = format!("<data>{running}</data>");
    let doc = roxmltree::Document::parse(&wrapped).unwrap();
    let mut nodes = vec![doc.root_element()];
    for (name, key, value) in path {
        nodes = nodes
            .iter()
            .flat_map(roxmltree::Node::children)
            .filter(|c| {
                c.is_element()
                    && c.tag_name().name() == *name
                    && c.tag_name().namespace() == Some(NS)
                    && (key.is_empty()
                        || c.children().any(|k| {
                            k.tag_name().name() == *key && k.text().map(str::trim) == Some(value)
                        }))
            })
            .collect();
    }
    nodes.iter().find_map(|n| {
        if leaf.is_empty() {
            return Some(String::new());
        }
        n.children()
            .find(|c| c.tag_name().name() == leaf)
            .map(|c| c.text().unwrap_or("").trim().to_string())
    })
}

fn unit(vlan: u16) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("interfaces", "", String::new()),
        ("interface", "name", "ge-0/0/1".into()),
        ("unit", "id", vlan.to_string()),
    ]
}

fn vrf() -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("routing-instances", "", String::new()),
        ("instance", "name", "CUST-ACME".into()),
    ]
}

fn neighbor(address: &str) -> Vec<(&'static str, &'static str, String)> {
    let mut p = vrf();
    p.extend([
        ("protocols", "", String::new()),
        ("bgp", "", String::new()),
        ("neighbor", "address", address.to_string()),
    ]);
    p
}

fn at(running: &str, path: &[(&'static str, &'static str, String)], name: &str) -> Option<String> {
    let p: Vec<(&str, &str, &str)> = path.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
    leaf(running, &p, name)
}

fn member(running: &str, vlan: u16) -> bool {
    let wrapped = format!("<data>{running}</data>");
    let doc = roxmltree::Document::parse(&wrapped).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((NS, "instance")))
        .flat_map(|i| i.children().filter(|c| c.has_tag_name((NS, "interface"))))
        .any(|m| {
            let get = |k: &str| {
                m.children()
                    .find(|c| c.has_tag_name((NS, k)))
                    .and_then(|c| c.text())
                    .map(str::trim)
            };
            get("name") == Some("ge-0/0/1") && get("unit") == Some(vlan.to_string().as_str())
        })
}

#[tokio::test]
async fn create_is_idempotent_coexists_and_delete_removes_exactly_one_attachment() {
    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    let (a, b) = (intent(1), intent(2));

    lab.push("pe1", Operation::Create, &a).await.unwrap();
    let after_a = running(&pe1).await;
    assert_eq!(at(&after_a, &unit(101), "vlan-id").as_deref(), Some("101"));
    assert_eq!(
        at(&after_a, &unit(101), "description").as_deref(),
        Some("onramp conn-0001")
    );
    let mut inet = unit(101);
    inet.extend([("family", "", String::new()), ("inet", "", String::new())]);
    assert_eq!(
        at(&after_a, &inet, "address").as_deref(),
        Some("169.254.10.3/31")
    );
    // The connector's bandwidth (100 Mbps) is enforced on the unit.
    let mut policer = unit(101);
    policer.push(("policer", "", String::new()));
    assert_eq!(
        at(&after_a, &policer, "bandwidth-limit").as_deref(),
        Some("100000000")
    );
    assert_eq!(
        at(&after_a, &policer, "burst-size-limit").as_deref(),
        Some("62500")
    );
    assert_eq!(
        at(&after_a, &vrf(), "route-distinguisher").as_deref(),
        Some("65000:1001")
    );
    assert!(member(&after_a, 101), "VRF membership missing:\n{after_a}");
    let n = neighbor("169.254.10.2");
    assert_eq!(at(&after_a, &n, "peer-as").as_deref(), Some("64513"));
    assert_eq!(at(&after_a, &n, "local-as").as_deref(), Some("65000"));
    assert_eq!(
        at(&after_a, &n, "authentication-key").as_deref(),
        Some("md5-key-1")
    );
    assert_eq!(at(&after_a, &n, "prefix-limit").as_deref(), Some("100"));
    // The other PE is untouched.
    assert_eq!(at(&running(&lab.target("pe2")).await, &unit(101), ""), None);

    // The same create again: a merge that changes nothing.
    lab.push("pe1", Operation::Create, &a).await.unwrap();
    assert_eq!(running(&pe1).await, after_a);

    // A second attachment on another VLAN, same VRF.
    lab.push("pe1", Operation::Create, &b).await.unwrap();
    let both = running(&pe1).await;
    assert_eq!(at(&both, &unit(101), "vlan-id").as_deref(), Some("101"));
    assert_eq!(at(&both, &unit(102), "vlan-id").as_deref(), Some("102"));
    assert!(member(&both, 101) && member(&both, 102));
    assert_eq!(
        at(&both, &neighbor("169.254.10.4"), "peer-as").as_deref(),
        Some("64514")
    );

    // Delete the first: its unit, membership and neighbor go; the second and
    // the VRF stay.
    lab.push("pe1", Operation::Delete, &a).await.unwrap();
    let after_delete = running(&pe1).await;
    assert_eq!(at(&after_delete, &unit(101), ""), None, "{after_delete}");
    assert!(!member(&after_delete, 101));
    assert_eq!(at(&after_delete, &neighbor("169.254.10.2"), ""), None);
    assert_eq!(
        at(&after_delete, &unit(102), "vlan-id").as_deref(),
        Some("102")
    );
    assert!(member(&after_delete, 102));
    assert_eq!(
        at(&after_delete, &neighbor("169.254.10.4"), "peer-as").as_deref(),
        Some("64514")
    );
    assert_eq!(
        at(&after_delete, &vrf(), "route-distinguisher").as_deref(),
        Some("65000:1001")
    );
    let mut rt = vrf();
    rt.push(("vrf-target", "", String::new()));
    assert_eq!(
        at(&after_delete, &rt, "import").as_deref(),
        Some("target:65000:1001")
    );

    // A redelivered delete is a no-op.
    lab.push("pe1", Operation::Delete, &a).await.unwrap();
    assert_eq!(running(&pe1).await, after_delete);

    // So is deleting an attachment a PE never had (no port entry, no VRF):
    // the router refuses the edit as data-missing, running shows it absent.
    let pe2 = lab.target("pe2");
    let pe2_before = running(&pe2).await;
    lab.push("pe2", Operation::Delete, &a).await.unwrap();
    assert_eq!(running(&pe2).await, pe2_before);
}

#[tokio::test]
async fn out_of_range_vlan_is_refused_by_the_router_and_running_is_unchanged() {
    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    lab.push("pe1", Operation::Create, &intent(1))
        .await
        .unwrap();
    let before = running(&pe1).await;

    // Hand-written, past every Rust-side check.
    let bad = Rendered {
        config_xml: format!(
            "<interfaces xmlns=\"{NS}\"><interface><name>ge-0/0/1</name>\
             <unit><id>300</id><vlan-id>5000</vlan-id></unit></interface></interfaces>"
        ),
        default_operation: DefaultOperation::Merge,
        ..Rendered::default()
    };
    let err = apply(&pe1, lab.platform.quirks(), &bad).await.unwrap_err();
    match &err {
        Error::Rpc {
            step, tag, path, ..
        } => {
            assert_eq!(*step, "edit-config");
            assert_eq!(tag, "invalid-value");
            let path = path.as_deref().unwrap_or_default();
            assert!(
                path.contains("unit[ope:id='300']") && path.ends_with("vlan-id"),
                "{path}"
            );
        }
        other => panic!("expected an rpc-error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("invalid-value"), "{err}");
    assert_eq!(running(&pe1).await, before);

    // The failed push released the lock and left no candidate behind.
    lab.push("pe1", Operation::Create, &intent(2))
        .await
        .unwrap();
    assert_eq!(at(&running(&pe1).await, &unit(300), ""), None);
}

/// The router itself refuses a policer it cannot apply (here: under its
/// 64 kbit/s floor), names the leaf, and keeps running as it was.
#[tokio::test]
async fn a_policer_the_router_cannot_apply_is_refused_and_running_is_unchanged() {
    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    let before = running(&pe1).await;
    let mut slow = intent(1);
    slow.policer = Some(onramp_router_templates::Policer {
        bandwidth_limit_bps: 1_000,
        burst_size_limit_bytes: 1_518,
    });
    let err = lab.push("pe1", Operation::Create, &slow).await.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("bandwidth-limit"), "{err}");
    assert_eq!(running(&pe1).await, before);
}

#[tokio::test]
async fn a_wrong_or_missing_host_key_fails_closed() {
    let lab = Lab::start();
    let pe1_fp = lab
        .lab
        .endpoint("pe1")
        .unwrap()
        .host_key_fingerprint
        .clone();
    let pe2_fp = lab
        .lab
        .endpoint("pe2")
        .unwrap()
        .host_key_fingerprint
        .clone();
    assert_ne!(pe1_fp, pe2_fp);
    let change = lab.render(Operation::Create, &intent(1));

    let mut wrong = lab.target("pe1");
    wrong.host_key_fingerprint = Some(pe2_fp.clone());
    let err = apply(&wrong, lab.platform.quirks(), &change)
        .await
        .unwrap_err();
    match &err {
        Error::HostKeyMismatch { expected, got, .. } => {
            assert_eq!(expected, &pe2_fp);
            assert_eq!(got, &pe1_fp);
        }
        other => panic!("expected HostKeyMismatch, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(matches!(
        get_running(&wrong).await,
        Err(Error::HostKeyMismatch { .. })
    ));

    let mut unpinned = lab.target("pe1");
    unpinned.host_key_fingerprint = None;
    match apply(&unpinned, lab.platform.quirks(), &change).await {
        Err(Error::HostKeyNotPinned { got, .. }) => assert_eq!(got, pe1_fp),
        other => panic!("expected HostKeyNotPinned, got {other:?}"),
    }

    // Nothing reached the router.
    assert_eq!(at(&running(&lab.target("pe1")).await, &unit(101), ""), None);
}

#[tokio::test]
async fn a_failed_verification_rolls_the_commit_back() {
    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    lab.push("pe1", Operation::Create, &intent(2))
        .await
        .unwrap();
    let before = running(&pe1).await;

    let mut change = lab.render(Operation::Create, &intent(1));
    change.expectations.push(Expectation::Leaf {
        path: vec![
            Step::new(NS, "interfaces"),
            Step::new(NS, "interface").key("name", "ge-0/0/1"),
            Step::new(NS, "unit").key("id", "101"),
            Step::new(NS, "vlan-id"),
        ],
        value: "999".into(),
        secret: false,
    });
    let err = apply(&pe1, lab.platform.quirks(), &change)
        .await
        .unwrap_err();
    match &err {
        Error::Verify {
            expectation,
            running_excerpt,
        } => {
            assert!(
                expectation.contains(r#"unit[id="101"]/vlan-id = "999""#),
                "{expectation}"
            );
            // The excerpt shows what running held, secrets redacted.
            assert!(
                running_excerpt.contains("<vlan-id>101</vlan-id>"),
                "{running_excerpt}"
            );
        }
        other => panic!("expected Verify, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(
        running(&pe1).await,
        before,
        "the confirmed commit was not rolled back"
    );

    // Lock released, candidate clean: the real change goes through.
    let real = lab.render(Operation::Create, &intent(1));
    apply(&pe1, lab.platform.quirks(), &real).await.unwrap();
    assert_eq!(
        at(&running(&pe1).await, &unit(101), "vlan-id").as_deref(),
        Some("101")
    );
}

/// netconfd 2.13: `<validate>` then `<commit>` answers `<ok/>` and applies
/// nothing. Without the platform quirk, the read-back must catch it and roll
/// back. (If this starts failing because the push succeeds, netconfd fixed
/// the bug and the quirk can go.)
#[tokio::test]
async fn the_validate_then_commit_no_op_is_caught_by_the_read_back() {
    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    let before = running(&pe1).await;
    let change = lab.render(Operation::Create, &intent(1));

    let no_quirk = Quirks {
        skip_explicit_validate: false,
    };
    let err = apply(&pe1, &no_quirk, &change).await.unwrap_err();
    assert!(matches!(err, Error::Verify { .. }), "{err:?}");
    assert_eq!(running(&pe1).await, before);

    assert!(lab.platform.quirks().skip_explicit_validate);
    apply(&pe1, lab.platform.quirks(), &change).await.unwrap();
}

/// A confirmed commit left unconfirmed (its session died: the worker that
/// sent it was killed) rolls the PE back to ITS OWN configuration, even
/// after another PE of the machine committed meanwhile. netconfd keeps the
/// rollback copy in `backup-cfg.xml` on a search path that starts in the
/// user's home: with one home for every netconfd, the cancelled PE restored
/// its neighbour's configuration (seen in the killed-workers test as units
/// of pe2's connectors appearing on pe1). The lab gives each PE its own.
#[tokio::test]
async fn a_cancelled_confirmed_commit_restores_that_pe_and_not_its_neighbour() {
    use rustnetconf::Datastore;

    let lab = Lab::start();
    let (pe1, pe2) = (lab.target("pe1"), lab.target("pe2"));
    lab.push("pe1", Operation::Create, &intent(1))
        .await
        .unwrap();
    lab.push("pe2", Operation::Create, &intent(2))
        .await
        .unwrap();
    let pe1_before = running(&pe1).await;

    // pe1: a confirmed commit of unit 103, left pending.
    let mut session = raw_session(&pe1).await;
    session.lock(Datastore::Candidate).await.unwrap();
    session
        .edit_config(Datastore::Candidate)
        .config(&lab.render(Operation::Create, &intent(3)).config_xml)
        .send()
        .await
        .unwrap();
    session
        .rpc("<commit><confirmed/><confirm-timeout>120</confirm-timeout></commit>")
        .await
        .unwrap();
    assert!(
        member(&running(&pe1).await, 103),
        "the confirmed commit is live"
    );

    // pe2 commits (confirmed, then confirming) meanwhile.
    lab.push("pe2", Operation::Create, &intent(4))
        .await
        .unwrap();

    // pe1's session is cancelled; pe1 must be back where it was.
    session.cancel_commit(None).await.unwrap();
    let _ = session.close_session().await;
    let pe1_after = running(&pe1).await;
    assert!(
        !member(&pe1_after, 102) && !member(&pe1_after, 104),
        "pe1 restored pe2's configuration:\n{pe1_after}"
    );
    assert_eq!(pe1_after, pe1_before);
    let pe2_now = running(&pe2).await;
    assert!(member(&pe2_now, 102) && member(&pe2_now, 104) && !member(&pe2_now, 101));
}

#[tokio::test]
async fn concurrent_pushes_to_one_pe_both_land() {
    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    let changes: Vec<Rendered> = (1..=4)
        .map(|n| lab.render(Operation::Create, &intent(n)))
        .collect();
    let quirks = lab.platform.quirks();
    let results = futures::future::join_all(changes.iter().map(|c| apply(&pe1, quirks, c))).await;
    for r in results {
        r.unwrap();
    }
    let now = running(&pe1).await;
    for n in 1..=4 {
        assert_eq!(
            at(&now, &unit(100 + n), "vlan-id"),
            Some((100 + n).to_string())
        );
        assert!(member(&now, 100 + n));
    }

    // Two spawned tasks, as two jobs of one worker would be.
    let (t1, t2) = (pe1.clone(), pe1.clone());
    let (c1, c2) = (
        lab.render(Operation::Delete, &intent(1)),
        lab.render(Operation::Delete, &intent(2)),
    );
    let (q1, q2) = (quirks.clone(), quirks.clone());
    let h1 = tokio::spawn(async move { apply(&t1, &q1, &c1).await });
    let h2 = tokio::spawn(async move { apply(&t2, &q2, &c2).await });
    h1.await.unwrap().unwrap();
    h2.await.unwrap().unwrap();
    let now = running(&pe1).await;
    assert!(!member(&now, 101) && !member(&now, 102) && member(&now, 103) && member(&now, 104));
}

#[tokio::test]
async fn a_lock_held_by_another_session_is_retryable() {
    use rustnetconf::Datastore;

    let lab = Lab::start();
    let pe1 = lab.target("pe1");
    let mut other = raw_session(&pe1).await;
    other.lock(Datastore::Candidate).await.unwrap();

    let opts = ApplyOptions {
        lock_wait: Duration::from_millis(300),
        ..ApplyOptions::default()
    };
    let change = lab.render(Operation::Create, &intent(1));
    let started = Instant::now();
    let err = apply_with(&pe1, lab.platform.quirks(), &change, &opts)
        .await
        .unwrap_err();
    assert_eq!(err.rpc_tag(), Some("lock-denied"), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "gave up without waiting"
    );

    other.unlock(Datastore::Candidate).await.unwrap();
    let _ = other.close_session().await;
    apply_with(&pe1, lab.platform.quirks(), &change, &opts)
        .await
        .unwrap();
}

#[tokio::test]
async fn unreachable_and_refusing_pes() {
    // Nothing listens there.
    let nowhere = PeTarget {
        name: "pe-gone".into(),
        host: "127.0.0.1".into(),
        port: onramp_devstack::free_port(),
        username: "onramp-pe".into(),
        password: "x".into(),
        host_key_fingerprint: Some("SHA256:AAAA".into()),
    };
    let err = get_running(&nowhere).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());

    let lab = Lab::start();
    let mut bad_password = lab.target("pe1");
    bad_password.password = "not-the-password".into();
    let err = get_running(&bad_password).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(!format!("{bad_password:?}").contains("not-the-password"));
}

#[test]
fn a_missing_pe_user_names_the_install_script() {
    let platform = Platform::load(&default_templates_root(), "reference-pe").unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut cfg = PeLabConfig::new(&["pe1"], platform.yang_dir().unwrap(), work.path());
    cfg.username = "onramp-no-such-user".into();
    let err = PeLab::start(cfg).unwrap_err();
    assert!(
        matches!(err, onramp_devstack::Error::Missing { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("onramp-no-such-user") && msg.contains("scripts/install-deps.sh"),
        "{msg}"
    );
}

/// Prints the per-change latency (run with `--nocapture` to see it): each
/// change is lock, discard, edit-config, confirmed commit, filtered
/// get-config, confirming commit, unlock, over the PE's pooled session
/// (opened by the first change). `benches/push.rs` measures this properly.
#[tokio::test]
async fn per_change_latency() {
    let lab = Lab::start();
    let quirks = lab.platform.quirks();
    let pe1 = lab.target("pe1");
    let rounds: u16 = 10;
    let mut times = Vec::new();
    for n in 1..=rounds {
        for op in [Operation::Create, Operation::Delete] {
            let change = lab.render(op, &intent(n));
            let t = Instant::now();
            apply(&pe1, quirks, &change).await.unwrap();
            times.push(t.elapsed());
        }
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "per-change latency over {} changes: mean {:?}, median {:?}, max {:?}",
        times.len(),
        mean,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert!(mean < Duration::from_secs(2), "mean {mean:?}");
}
