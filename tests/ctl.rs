//! `onramp ctl` run as a process against a live stack: what an operator
//! types, what it prints, its exit codes.

mod support;

use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::{Db, Stack, bin};

const T: Duration = Duration::from_secs(60);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `onramp ctl <args>` against `api` with `key` (none: no key at all).
async fn ctl(api: &str, key: Option<&str>, args: &[&str]) -> Result<Run> {
    let mut cmd = Command::new(bin());
    cmd.arg("ctl")
        .args(args)
        .env("ONRAMP_API_URL", api)
        .env_remove("ONRAMP_API_KEY")
        .env_remove("RUST_LOG");
    if let Some(k) = key {
        cmd.env("ONRAMP_API_KEY", k);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
    Ok(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_drives_pes_and_reads_connectors_from_the_shell() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let api = stack.url("");
    let admin = Some(admin.as_str());

    let r = ctl(&api, admin, &["pes", "list"]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("NAME"), "{}", r.stdout);
    assert!(
        r.stdout.contains("pe1") && r.stdout.contains("pe2"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("2 PEs\n"), "{}", r.stdout);

    // A maintenance, started and read back, in JSON and in text.
    let r = ctl(
        &api,
        admin,
        &[
            "--output",
            "json",
            "pes",
            "maintenance",
            "start",
            "pe1",
            "--reason",
            "fiber work",
        ],
    )
    .await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["reason"], "fiber work");
    assert_eq!(r.json()["held_changes"], 0);
    let r = ctl(&api, admin, &["pes", "list"]).await?;
    assert!(r.stdout.contains(": fiber work"), "{}", r.stdout);

    // An order for pe1 waits; the operator finds it and reads its timeline.
    let (status, c) = stack.order_vif(json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    stack
        .wait_connector(&id, "held by the maintenance", T, |c| {
            c["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("planned maintenance"))
        })
        .await?;
    let r = ctl(
        &api,
        admin,
        &[
            "--output",
            "json",
            "connectors",
            "list",
            "--state",
            "configuring_pe",
        ],
    )
    .await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed = r.json();
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let r = ctl(&api, admin, &["connectors", "list", "--state", "active"]).await?;
    assert!(r.stdout.ends_with("0 connectors\n"), "{}", r.stdout);
    let r = ctl(&api, admin, &["connectors", "show", &id]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("state: configuring_pe"), "{}", r.stdout);
    assert!(r.stdout.contains("planned maintenance"), "{}", r.stdout);
    assert!(r.stdout.contains("timeline:\n  "), "{}", r.stdout);
    let r = ctl(&api, admin, &["pes", "maintenance", "show", "pe1"]).await?;
    assert!(r.stdout.contains("1 change(s) held"), "{}", r.stdout);
    let r = ctl(&api, admin, &["pes", "changes", "pe1"]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&id) && r.stdout.contains("create") && r.stdout.ends_with("1 change\n"),
        "{}",
        r.stdout
    );

    // It ends; the order goes on.
    let r = ctl(&api, admin, &["pes", "maintenance", "end", "pe1"]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "pe1 is out of maintenance; what waited is being pushed\n"
    );
    stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    // The queue is empty again, and the commit that carried it is listed.
    let r = ctl(&api, admin, &["pes", "changes", "pe1"]).await?;
    assert!(r.stdout.ends_with("0 changes\n"), "{}", r.stdout);
    let r = ctl(
        &api,
        admin,
        &["--output", "json", "pes", "commits", "pe1", "--limit", "5"],
    )
    .await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let commits = r.json();
    assert!(
        commits["items"][0]["changes"].as_i64() >= Some(1),
        "{commits:#}"
    );
    let r = ctl(&api, admin, &["pes", "commits", "pe1", "--limit", "0"]).await?;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("\n  limit: "), "{}", r.stderr);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_say_why_and_exit_non_zero() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let api = stack.url("");
    let admin = Some(admin.as_str());

    // The API's problem, with the field at fault; nothing changes.
    let r = ctl(
        &api,
        admin,
        &["pes", "maintenance", "start", "pe1", "--reason", " "],
    )
    .await?;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("HTTP 422") && r.stderr.contains("\n  reason: "),
        "{}",
        r.stderr
    );
    let r = ctl(
        &api,
        admin,
        &["--output", "json", "pes", "maintenance", "show", "pe1"],
    )
    .await?;
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["code"], "not_in_maintenance");

    // A PE that does not exist is named, with those that do.
    let r = ctl(&api, admin, &["pes", "maintenance", "end", "pe9"]).await?;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no PE called pe9; the PEs are: pe1, pe2"),
        "{}",
        r.stderr
    );

    // A connector id that is not one is said so, without asking the API.
    let r = ctl(&api, admin, &["connectors", "show", "../pes"]).await?;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`../pes` is not a connector id"),
        "{}",
        r.stderr
    );

    // A customer's key is not an operator's.
    let r = ctl(&api, Some(&stack.key), &["pes", "list"]).await?;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);

    // No key; no API.
    let r = ctl(&api, None, &["pes", "list"]).await?;
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("ONRAMP_API_KEY"), "{}", r.stderr);
    let nowhere = format!("http://127.0.0.1:{}", onramp_devstack::free_port());
    let r = ctl(&nowhere, admin, &["pes", "list"]).await?;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot reach the API"), "{}", r.stderr);

    // Shell completion, without a key or an API.
    let r = ctl(&nowhere, None, &["completions", "bash"]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("maintenance"), "{}", r.stdout);
    Ok(())
}

/// Day-2 work from the shell: a failed connector retried, a live one
/// planned and changed, one cancelled; stuck changes and ops tasks listed.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_retries_changes_and_cancels_connectors_from_the_shell() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let admin = onramp_store::auth::generate_key();
    onramp_store::seed::seed_admin_key(&stack.db, &admin).await?;
    let api = stack.url("");
    let admin = Some(admin.as_str());
    let customer = Some(stack.key.as_str());

    // AWS refuses the first VIF allocation: the connector fails.
    stack
        .sim
        .sim
        .inject_fault(onramp_simulators::aws_dx::Fault::client(
            "AllocatePrivateVirtualInterface",
            "Exceeded the maximum number of virtual interfaces",
            1,
        ));
    let (_, c) = stack.order_vif(json!({})).await?;
    let id = c["id"].as_str().unwrap().to_string();
    stack.wait_state(&id, "failed", T).await?;
    let r = ctl(&api, admin, &["connectors", "retry", &id]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("state: configuring_pe"), "{}", r.stdout);
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack.accept_vif(c["vif_id"].as_str().unwrap()).await?;
    stack.wait_state(&id, "active", T).await?;
    // Only a failed connector is retried: the API's refusal, exit 1.
    let r = ctl(&api, admin, &["connectors", "retry", &id]).await?;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("only a failed connector"), "{}", r.stderr);

    // The plan of a change, then the change.
    let r = ctl(
        &api,
        customer,
        &[
            "connectors",
            "change",
            &id,
            "--prefix-limit",
            "300",
            "--dry-run",
        ],
    )
    .await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("plan (nothing changed): prefix_limit"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("replaced") && r.stdout.contains("1000 -> 300"),
        "{}",
        r.stdout
    );
    // A hosted VIF's key is not onramp's to rotate: the API's reason, and
    // nothing changes.
    let r = ctl(
        &api,
        customer,
        &["connectors", "change", &id, "--rotate-bgp-key"],
    )
    .await?;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("rotate_bgp_key") && r.stderr.contains("CreateBGPPeer"),
        "{}",
        r.stderr
    );
    let r = ctl(&api, customer, &["connectors", "change", &id]).await?;
    assert_eq!(
        r.code, 2,
        "nothing to change is a usage error: {}",
        r.stdout
    );
    let r = ctl(
        &api,
        customer,
        &[
            "--output",
            "json",
            "connectors",
            "change",
            &id,
            "--prefix-limit",
            "300",
            "--bfd",
            "on",
        ],
    )
    .await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["state"], "changing_pe");
    stack
        .wait_connector(&id, "the change settled", T, |c| {
            c["state"] == "active" && c["bgp"]["prefix_limit"] == 300 && c["bgp"]["bfd"] == true
        })
        .await?;

    // Nothing stuck, no ticket tasks.
    let r = ctl(&api, admin, &["stuck", "list"]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.ends_with("0 stuck changes\n"), "{}", r.stdout);
    let r = ctl(&api, admin, &["tasks", "list"]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.ends_with("0 tasks\n"), "{}", r.stdout);
    let r = ctl(&api, admin, &["stuck", "done", "12345", "--reason", "x"]).await?;
    assert_eq!(r.code, 1, "{}", r.stdout);

    // Cancelled: torn down.
    let r = ctl(&api, customer, &["connectors", "cancel", &id]).await?;
    assert_eq!(r.code, 0, "{}", r.stderr);
    stack.wait_state(&id, "deleted", T).await?;
    Ok(())
}
