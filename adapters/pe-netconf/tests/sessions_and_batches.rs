//! Pooled sessions, batches and a session cut mid confirmed commit, against
//! real routers: netconfd 2.13 behind OpenSSH (`onramp_devstack::pe`, the
//! reference-pe YANG module). Needs root and what `scripts/install-deps.sh`
//! sets up. What the router really did is read from its running datastore
//! over a session of the test's own (plain rustnetconf), and from
//! netconfd's log (sessions created, transactions on running).

use std::collections::BTreeSet;
use std::time::Duration;

use onramp_devstack::pe::{PeEndpoint, PeLab, PeLabConfig};
use onramp_pe_netconf::{
    ApplyOptions, DefaultOperation, Error, FaultPoint, PeTarget, Rendered, apply, apply_batch,
    apply_batch_with, apply_with, get_running, session_stats,
};
use onramp_router_templates::{
    AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent, default_templates_root,
};
use rustnetconf::transport::ssh::HostKeyVerification;
use rustnetconf::{Client, Datastore};

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
        let cfg = PeLabConfig::new(&["pe1"], platform.yang_dir().unwrap(), work.path());
        let lab = PeLab::start(cfg).unwrap_or_else(|e| panic!("PE lab did not start: {e}"));
        Lab {
            lab,
            platform,
            _work: work,
        }
    }

    fn endpoint(&self) -> &PeEndpoint {
        self.lab.endpoint("pe1").unwrap()
    }

    fn target(&self) -> PeTarget {
        let ep = self.endpoint();
        PeTarget {
            name: ep.name.clone(),
            host: ep.host.clone(),
            port: ep.port,
            username: ep.username.clone(),
            password: ep.password.clone(),
            host_key_fingerprint: Some(ep.host_key_fingerprint.clone()),
        }
    }

    fn create(&self, n: u16) -> Rendered {
        self.platform.render(Operation::Create, &intent(n)).unwrap()
    }

    fn delete(&self, n: u16) -> Rendered {
        self.platform.render(Operation::Delete, &intent(n)).unwrap()
    }

    /// netconfd's log so far: its length, to read what comes after.
    fn log_mark(&self) -> usize {
        self.log().len()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.lab.log_dir("pe1").join("netconfd.log")).unwrap_or_default()
    }

    fn log_since(&self, mark: usize) -> String {
        self.log().get(mark..).unwrap_or_default().to_string()
    }

    /// NETCONF sessions netconfd opened since `mark`.
    fn sessions_since(&self, mark: usize) -> usize {
        self.log_since(mark)
            .lines()
            .filter(|l| l.starts_with("New session ") && l.ends_with("created OK"))
            .count()
    }

    /// The ids of netconfd's transactions on running since `mark`: one per
    /// commit that changed running.
    fn running_transactions_since(&self, mark: usize) -> BTreeSet<u64> {
        let log = self.log_since(mark);
        let mut ids = BTreeSet::new();
        let mut current = None;
        for line in log.lines() {
            if let Some(rest) = line.strip_prefix("edit-transaction ") {
                current = rest.split(':').next().and_then(|n| n.parse::<u64>().ok());
            } else if line.contains("on target 'running'")
                && let Some(id) = current
            {
                ids.insert(id);
            }
        }
        ids
    }

    /// Processes serving this PE's SSH connections (sshd's per-connection
    /// processes and the netconf-subsystem under them), which the lab
    /// started: their pids.
    fn connection_processes(&self) -> Vec<u32> {
        let main = self.sshd_pid();
        let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| {
                let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let after = &stat[stat.rfind(')')? + 2..];
                let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
                Some((pid, ppid))
            })
            .collect();
        let mut found = vec![main];
        let mut i = 0;
        while i < found.len() {
            let p = found[i];
            found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
        found.remove(0);
        found
    }

    fn sshd_pid(&self) -> u32 {
        std::fs::read_to_string(self.lab.log_dir("pe1").join("sshd.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

fn kill(pids: &[u32]) {
    for pid in pids {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Attachment `n`: VLAN/unit 100+n on ge-0/0/1 in VRF CUST-ACME, neighbor
/// 169.254.10.(2n).
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

/// Which parts of attachment `n` running holds: its unit (with its VLAN),
/// its VRF membership, its BGP neighbor.
fn parts(running: &str, n: u16) -> [bool; 3] {
    let wrapped = format!("<data>{running}</data>");
    let doc = roxmltree::Document::parse(&wrapped).unwrap();
    let vlan = (100 + n).to_string();
    let text = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children()
            .find(|c| c.has_tag_name((NS, name)))
            .and_then(|c| c.text())
            .map(str::trim)
            .map(str::to_string)
    };
    let unit = doc
        .descendants()
        .filter(|x| {
            x.has_tag_name((NS, "unit"))
                && x.parent()
                    .is_some_and(|p| p.has_tag_name((NS, "interface")))
        })
        .any(|u| {
            text(u, "id").as_deref() == Some(&vlan) && text(u, "vlan-id").as_deref() == Some(&vlan)
        });
    let member = doc
        .descendants()
        .filter(|x| x.has_tag_name((NS, "instance")))
        .flat_map(|i| i.children().filter(|c| c.has_tag_name((NS, "interface"))))
        .any(|m| text(m, "unit").as_deref() == Some(&vlan));
    let address = format!("169.254.10.{}", 2 * n);
    let neighbor = doc
        .descendants()
        .filter(|x| x.has_tag_name((NS, "neighbor")))
        .any(|nb| text(nb, "address").as_deref() == Some(&address));
    [unit, member, neighbor]
}

fn holds(running: &str, n: u16) -> bool {
    parts(running, n) == [true; 3]
}

fn lacks(running: &str, n: u16) -> bool {
    parts(running, n) == [false; 3]
}

/// Running, read over a new session of the test's own (not the adapter's
/// pool).
async fn fresh_running(ep: &PeEndpoint) -> String {
    let mut c = Client::connect(&format!("{}:{}", ep.host, ep.port))
        .username(&ep.username)
        .password(&ep.password)
        .host_key_verification(HostKeyVerification::Fingerprint(
            ep.host_key_fingerprint.clone(),
        ))
        .gather_facts(false)
        .rpc_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    // netconfd's hello race (see the adapter): probe until answered.
    for _ in 0..20 {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(300), c.get(Some(""))).await {
            break;
        }
    }
    let running = c.get_config(Datastore::Running).await.unwrap();
    let _ = c.close_session().await;
    running
}

/// Waits (up to 30 s, generous for a busy machine) for netconfd's log to
/// satisfy `ok`.
async fn eventually(mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok()
}

// ===== sessions =====

#[tokio::test]
async fn pushes_and_reads_reuse_one_session() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let before = session_stats(&pe1);
    let mark = lab.log_mark();

    apply(&pe1, lab.platform.quirks(), &lab.create(1))
        .await
        .unwrap();
    let first_id = session_stats(&pe1).session_id;
    assert!(first_id.is_some());
    apply(&pe1, lab.platform.quirks(), &lab.create(2))
        .await
        .unwrap();
    let running = get_running(&pe1).await.unwrap();
    assert!(holds(&running, 1) && holds(&running, 2), "{running}");

    let after = session_stats(&pe1);
    assert_eq!(after.connects - before.connects, 1, "{after:?}");
    assert_eq!(after.reuses - before.reuses, 2, "{after:?}");
    assert_eq!(after.session_id, first_id);
    // The router agrees: one NETCONF session for two pushes and a read.
    assert!(eventually(|| lab.sessions_since(mark) >= 1).await);
    assert_eq!(lab.sessions_since(mark), 1, "{}", lab.log_since(mark));

    // Another identity does not ride on it: a wrong password is refused.
    let mut wrong = pe1.clone();
    wrong.password = "not-the-password".into();
    let err = get_running(&wrong).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    // ... and the pooled session is still there for the right one.
    apply(&pe1, lab.platform.quirks(), &lab.create(3))
        .await
        .unwrap();
    assert_eq!(session_stats(&pe1).session_id, first_id);
}

#[tokio::test]
async fn a_session_killed_on_the_pe_is_replaced_transparently_once() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let quirks = lab.platform.quirks();
    apply(&pe1, quirks, &lab.create(1)).await.unwrap();
    let s0 = session_stats(&pe1);

    // 1. netconfd kills the session (an operator's <kill-session>).
    let ep = lab.endpoint();
    let mut admin = Client::connect(&format!("{}:{}", ep.host, ep.port))
        .username(&ep.username)
        .password(&ep.password)
        .host_key_verification(HostKeyVerification::Fingerprint(
            ep.host_key_fingerprint.clone(),
        ))
        .gather_facts(false)
        .rpc_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    for _ in 0..20 {
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(300), admin.get(Some(""))).await
        {
            break;
        }
    }
    admin.kill_session(s0.session_id.unwrap()).await.unwrap();
    let _ = admin.close_session().await;

    apply(&pe1, quirks, &lab.create(2)).await.unwrap();
    let s1 = session_stats(&pe1);
    assert_eq!(s1.connects - s0.connects, 1, "{s1:?}");
    assert_eq!(s1.reconnects - s0.reconnects, 1, "{s1:?}");
    assert_ne!(s1.session_id, s0.session_id);

    // 2. The SSH side dies (sshd's connection processes killed: the TCP
    // connection and the subsystem go).
    let procs = lab.connection_processes();
    assert!(!procs.is_empty(), "no sshd connection process found");
    kill(&procs);
    apply(&pe1, quirks, &lab.create(3)).await.unwrap();
    let s2 = session_stats(&pe1);
    assert_eq!(s2.connects - s1.connects, 1, "{s2:?}");
    assert_eq!(s2.reconnects - s1.reconnects, 1, "{s2:?}");
    let running = fresh_running(lab.endpoint()).await;
    assert!(
        holds(&running, 1) && holds(&running, 2) && holds(&running, 3),
        "{running}"
    );

    // 3. Reconnect once, then the error as before: with sshd gone for good
    // the push fails as unreachable (retryable), after one connect attempt.
    let procs = lab.connection_processes();
    kill(&procs);
    kill(&[lab.sshd_pid()]);
    let err = apply(&pe1, quirks, &lab.create(4)).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    let s3 = session_stats(&pe1);
    assert_eq!(s3.connects, s2.connects);
    assert_eq!(s3.session_id, None);
}

// ===== batches =====

#[tokio::test]
async fn an_empty_batch_does_not_touch_the_pe() {
    let nowhere = PeTarget {
        name: "pe-gone".into(),
        host: "127.0.0.1".into(),
        port: onramp_devstack::free_port(),
        username: "onramp-pe".into(),
        password: "x".into(),
        host_key_fingerprint: Some("SHA256:AAAA".into()),
    };
    apply_batch(&nowhere, &Default::default(), &[])
        .await
        .unwrap();
    assert_eq!(session_stats(&nowhere).connects, 0);
}

#[tokio::test]
async fn a_batch_of_three_lands_in_one_commit() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let quirks = lab.platform.quirks();
    apply(&pe1, quirks, &lab.create(9)).await.unwrap();

    let mark = lab.log_mark();
    let batch = [lab.create(1), lab.create(2), lab.create(3)];
    apply_batch(&pe1, quirks, &batch).await.unwrap();
    let running = fresh_running(lab.endpoint()).await;
    for n in [1, 2, 3, 9] {
        assert!(holds(&running, n), "attachment {n} missing:\n{running}");
    }
    assert!(eventually(|| !lab.running_transactions_since(mark).is_empty()).await);
    let txns = lab.running_transactions_since(mark);
    assert_eq!(txns.len(), 1, "one commit changed running: {txns:?}");

    // For contrast: three pushes, three commits.
    let mark = lab.log_mark();
    for n in 4..=6 {
        apply(&pe1, quirks, &lab.create(n)).await.unwrap();
    }
    assert!(eventually(|| lab.running_transactions_since(mark).len() >= 3).await);
    assert_eq!(lab.running_transactions_since(mark).len(), 3);

    // Deletes batch too (default-operation none), and a batch may create
    // and delete the same attachment: only its last word must hold.
    let mark = lab.log_mark();
    let batch = [
        lab.delete(1),
        lab.delete(2),
        lab.create(7),
        lab.delete(7),
        lab.create(8),
    ];
    apply_batch(&pe1, quirks, &batch).await.unwrap();
    let running = fresh_running(lab.endpoint()).await;
    for n in [1, 2, 7] {
        assert!(lacks(&running, n), "attachment {n} still there:\n{running}");
    }
    for n in [3, 4, 5, 6, 8, 9] {
        assert!(holds(&running, n), "attachment {n} missing:\n{running}");
    }
    assert!(eventually(|| !lab.running_transactions_since(mark).is_empty()).await);
    assert_eq!(lab.running_transactions_since(mark).len(), 1);
}

#[tokio::test]
async fn a_batch_with_an_invalid_change_rolls_back_entirely_and_names_it() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let quirks = lab.platform.quirks();
    apply(&pe1, quirks, &lab.create(9)).await.unwrap();
    let before = fresh_running(lab.endpoint()).await;

    // Hand-written, past every Rust-side check: VLAN 5000 is outside the
    // YANG range.
    let bad = Rendered {
        config_xml: format!(
            "<interfaces xmlns=\"{NS}\"><interface><name>ge-0/0/1</name>\
             <unit><id>300</id><vlan-id>5000</vlan-id></unit></interface></interfaces>"
        ),
        default_operation: DefaultOperation::Merge,
        ..Rendered::default()
    };
    let batch = [lab.create(1), bad, lab.create(3)];
    let err = apply_batch(&pe1, quirks, &batch).await.unwrap_err();
    assert_eq!(err.change_index(), Some(1), "{err:?}");
    match &err {
        Error::Change {
            index,
            count,
            source,
        } => {
            assert_eq!((*index, *count), (1, 3));
            match source.as_ref() {
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
                other => panic!("expected the router's rpc-error, got {other:?}"),
            }
        }
        other => panic!("expected Error::Change, got {other:?}"),
    }
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(
        shown.contains("change 1 of a batch of 3") && shown.contains("invalid-value"),
        "{shown}"
    );
    let after = fresh_running(lab.endpoint()).await;
    assert_eq!(after, before, "change 0 or 2 leaked into running");
    assert!(lacks(&after, 1) && lacks(&after, 3));

    // The same through the merged path: a rendered change (with
    // expectations, so it is merged with the others) carrying VLAN 5000.
    // The merged edit is refused, the replay one change per edit names it.
    let mut bad_intent = intent(2);
    bad_intent.vlan = 5000;
    let bad = lab.platform.render(Operation::Create, &bad_intent).unwrap();
    let batch = [lab.create(1), bad, lab.create(3)];
    let err = apply_batch(&pe1, quirks, &batch).await.unwrap_err();
    assert_eq!(err.change_index(), Some(1), "{err:?}");
    assert_eq!(err.rpc_tag(), Some("invalid-value"), "{err:?}");
    match err.innermost() {
        Error::Rpc { step, path, .. } => {
            assert_eq!(*step, "edit-config");
            assert!(
                path.as_deref().unwrap_or_default().ends_with("vlan-id"),
                "{path:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fresh_running(lab.endpoint()).await, before);

    // Lock released, candidate clean: the good changes go through.
    apply_batch(&pe1, quirks, &[lab.create(1), lab.create(3)])
        .await
        .unwrap();
    let running = fresh_running(lab.endpoint()).await;
    assert!(holds(&running, 1) && holds(&running, 3) && holds(&running, 9));
}

#[tokio::test]
async fn a_batch_whose_expectations_fail_names_the_change_and_rolls_back() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let quirks = lab.platform.quirks();
    let before = fresh_running(lab.endpoint()).await;
    let mut lying = lab.create(2);
    // It claims a description the payload does not set.
    lying
        .expectations
        .push(onramp_router_templates::Expectation::Leaf {
            path: vec![
                onramp_router_templates::Step::new(NS, "interfaces"),
                onramp_router_templates::Step::new(NS, "interface").key("name", "ge-0/0/1"),
                onramp_router_templates::Step::new(NS, "unit").key("id", "102"),
                onramp_router_templates::Step::new(NS, "description"),
            ],
            value: "something else".into(),
            secret: false,
        });
    let err = apply_batch(&pe1, quirks, &[lab.create(1), lying, lab.create(3)])
        .await
        .unwrap_err();
    assert_eq!(err.change_index(), Some(1), "{err:?}");
    assert!(
        matches!(err.innermost(), Error::Verify { expectation, .. } if expectation.contains("something else")),
        "{err:?}"
    );
    assert_eq!(fresh_running(lab.endpoint()).await, before);
}

#[tokio::test]
async fn a_batch_of_deletes_skips_the_ones_already_gone() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let quirks = lab.platform.quirks();
    apply_batch(&pe1, quirks, &[lab.create(1), lab.create(2)])
        .await
        .unwrap();
    // Attachment 5 lives in a VRF this PE never had: removing it is refused
    // as data-missing, which makes the merged edit fail; the replay finds it
    // already absent and carries on.
    let mut elsewhere = intent(5);
    elsewhere.vrf.name = "CUST-NONE".into();
    let gone = lab.platform.render(Operation::Delete, &elsewhere).unwrap();
    apply_batch(&pe1, quirks, &[lab.delete(1), gone.clone()])
        .await
        .unwrap();
    let running = fresh_running(lab.endpoint()).await;
    assert!(lacks(&running, 1) && holds(&running, 2), "{running}");
    // Only already-absent removals: nothing to commit, Ok.
    apply_batch(&pe1, quirks, &[gone, lab.delete(1)])
        .await
        .unwrap();
    assert_eq!(fresh_running(lab.endpoint()).await, running);
}

// ===== session cut mid confirmed commit =====

/// RFC 6241 8.4: a confirmed commit whose session ends before the
/// confirming commit is rolled back. Checked here with the session cut (the
/// SSH connection dropped, no `<close-session>`) at the two points of the
/// window, for a batch of three: afterwards running, read over a new
/// session, holds either all of the batch or none of it. netconfd 2.13
/// rolls back at once when the session ends (checked: running holds the
/// change while the confirmed commit is pending, and lacks it right after
/// the cut), so here it must be none, then and after the confirm timeout.
#[tokio::test]
async fn a_session_cut_mid_confirmed_commit_leaves_all_or_nothing() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let quirks = lab.platform.quirks();
    apply(&pe1, quirks, &lab.create(9)).await.unwrap();
    let before = fresh_running(lab.endpoint()).await;

    for (fault, step) in [
        (FaultPoint::CutAfterConfirmedCommitSent, "commit-confirmed"),
        (FaultPoint::CutBeforeConfirmingCommit, "commit-confirming"),
    ] {
        let opts = ApplyOptions {
            confirm_timeout_secs: 3,
            fault: Some(fault),
            ..ApplyOptions::default()
        };
        let batch = [lab.create(1), lab.create(2), lab.create(3)];
        let s0 = session_stats(&pe1);
        let err = apply_batch_with(&pe1, quirks, &batch, &opts)
            .await
            .unwrap_err();
        // CutBeforeConfirmingCommit fails at the confirming commit, so the
        // confirmed commit had landed and running was verified to hold all
        // three: the rollback below is the router's doing.
        match &err {
            Error::Session { step: s, .. } => assert_eq!(*s, step, "{fault:?}: {err}"),
            other => panic!("{fault:?}: expected a lost session, got {other:?}"),
        }
        assert!(err.is_retryable());

        let all_or_none = |running: &str| {
            let held: Vec<[bool; 3]> = (1..=3).map(|n| parts(running, n)).collect();
            assert!(
                held.iter().all(|p| *p == [true; 3]) || held.iter().all(|p| *p == [false; 3]),
                "{fault:?}: partial batch in running: {held:?}\n{running}"
            );
            held[0][0]
        };
        let right_after = fresh_running(lab.endpoint()).await;
        let kept = all_or_none(&right_after);
        assert!(!kept, "{fault:?}: netconfd kept an unconfirmed commit");
        assert_eq!(right_after, before, "{fault:?}");
        // Nothing comes back once the confirm timeout has passed either.
        // netconfd's confirm timer runs on its own clock, which no test can
        // move; this sleep outlasts it. Running must equal `before` both
        // before and after the timer fires, so a busy machine can make this
        // check weaker, never red.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let later = fresh_running(lab.endpoint()).await;
        all_or_none(&later);
        assert_eq!(later, before, "{fault:?}");

        // The pool notices the cut and the next push opens a new session
        // (the router released the dead session's lock).
        apply_batch(&pe1, quirks, &batch).await.unwrap();
        let s1 = session_stats(&pe1);
        assert_eq!(s1.connects - s0.connects, 1, "{fault:?}: {s1:?}");
        let landed = fresh_running(lab.endpoint()).await;
        assert!(all_or_none(&landed), "{fault:?}: {landed}");
        apply_batch(&pe1, quirks, &[lab.delete(1), lab.delete(2), lab.delete(3)])
            .await
            .unwrap();
        assert_eq!(fresh_running(lab.endpoint()).await, before);
    }
}

#[tokio::test]
async fn the_fault_hook_is_inert_unless_set() {
    let lab = Lab::start();
    let pe1 = lab.target();
    let opts = ApplyOptions::default();
    assert_eq!(opts.fault, None);
    let s0 = session_stats(&pe1);
    apply_with(&pe1, lab.platform.quirks(), &lab.create(1), &opts)
        .await
        .unwrap();
    apply_with(&pe1, lab.platform.quirks(), &lab.create(2), &opts)
        .await
        .unwrap();
    let s = session_stats(&pe1);
    assert_eq!(
        (s.connects - s0.connects, s.reconnects - s0.reconnects),
        (1, 0),
        "{s:?}"
    );
    let running = fresh_running(lab.endpoint()).await;
    assert!(holds(&running, 1) && holds(&running, 2), "{running}");
}
