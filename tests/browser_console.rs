//! The ops console end to end, in a real headless Chromium against the real
//! stack (the `onramp` binary as serve + worker, nats, netconfd PEs):
//!
//! 1. an ops user signs in and claims the task of a `ticket-csp` connector
//!    from the queue (an overdue task of another order stands out on top);
//! 2. submits an invalid VLAN and sees the error at the field, the other
//!    values kept;
//! 3. submits valid values;
//! 4. the connector goes on to `active`, and the PE, read back over
//!    NETCONF, carries the provider's VLAN, peer address and ASN.
//!
//! Then a customer who signs in gets the 403 page at /console.
//!
//! And an ops user puts pe1 in maintenance from the PEs page: an order
//! placed meanwhile waits (pe1 read back without its unit), and goes on
//! once the maintenance is ended from the same page.
//!
//! Screenshots (queue, task page before and after, the refusal, the
//! customer's 403) land in `artifacts/browser/console_*` (or
//! `$ONRAMP_ARTIFACTS`). Needs Chromium and ChromeDriver
//! (scripts/install-deps.sh); without them this fails, it does not skip.

mod console_fixture;
mod support;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use console_fixture::{IBM, ORACLE, make_overdue, order, provider};
use onramp_devstack::browser::Browser;
use support::{Db, Stack, artifacts_dir, attachment};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(60);

async fn user(stack: &Stack, tenant: Uuid, role: &str) -> Result<(String, String)> {
    let email = format!("{role}-{}@example.test", Uuid::new_v4().simple());
    let password = format!("pw-{}", Uuid::new_v4().simple());
    onramp_store::users::create_user(
        &stack.db,
        &onramp_store::users::NewUser {
            tenant_id: tenant,
            email: &email,
            name: if role == "ops" {
                "Olga Ops"
            } else {
                "Casey Customer"
            },
            role,
            password: &password,
        },
    )
    .await?;
    Ok((email, password))
}

/// A stack, its tenant, and an ops user's email and password.
async fn stack_with_ops() -> Result<(Stack, Uuid, (String, String))> {
    let stack = Stack::start(Db::Sqlite).await?;
    let tenant = onramp_store::auth::tenant_for_key(&stack.db, &stack.key)
        .await?
        .context("the stack's tenant")?
        .0
        .id;
    let ops = user(&stack, tenant, "ops").await?;
    Ok((stack, tenant, ops))
}

async fn sign_in(b: &Browser, stack: &Stack, email: &str, password: &str) -> Result<()> {
    b.goto(&stack.url("/console")).await?;
    // Not signed in: the sign-in page, which brings us back here.
    b.wait_for("#email", WAIT).await?;
    b.fill("#email", email).await?;
    b.fill("#password", password).await?;
    b.click("#sign-in").await?;
    Ok(())
}

/// Polls the connector's state in the database until it is `want`.
async fn wait_connector_state(
    stack: &Stack,
    id: Uuid,
    want: &str,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let c = onramp_store::connectors::get(&stack.db, id)
            .await?
            .context("connector gone")?;
        if c.state == want {
            return Ok(());
        }
        if c.state == "failed" || Instant::now() >= deadline {
            bail!(
                "connector {id} is {} (last error {:?}), not {want}\n{}",
                c.state,
                c.last_error,
                stack.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The task the worker opens for the connector's first manual step.
async fn wait_task(stack: &Stack, connector: Uuid) -> Result<Uuid> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(t) = onramp_store::tasks::active_for_connector(&stack.db, connector).await? {
            return Ok(t.id);
        }
        if Instant::now() >= deadline {
            bail!("no task opened for {connector}\n{}", stack.logs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ops_user_completes_a_ticket_task_and_the_pe_gets_the_providers_values() -> Result<()> {
    let (stack, tenant, (ops_email, ops_password)) = stack_with_ops().await?;
    let (customer_email, customer_password) = user(&stack, tenant, "customer").await?;

    provider(&stack.db, ORACLE, "Oracle FastConnect").await?;
    provider(&stack.db, IBM, "IBM Direct Link").await?;
    // The customer's order, through the API; the worker opens its task.
    let (status, body) = stack
        .post_json(
            "/v1/connectors",
            &serde_json::json!({"kind": "ticket-csp", "provider": ORACLE,
                    "location": "ORACLE-FASTCONNECT-ASH", "bandwidth": "1Gbps"}),
        )
        .await?;
    assert_eq!(status, 202, "{body}");
    let connector: Uuid = body["id"].as_str().context("connector id")?.parse()?;
    let task = wait_task(&stack, connector).await?;
    // Another order whose task is past its SLA: it leads the queue.
    let (_, late) = order(&stack.db, tenant, IBM).await?;
    make_overdue(&stack.db, late, 5).await?;

    let dir = artifacts_dir("console_ticket_task");
    let b = Browser::start(&dir).await?;

    // 1. Sign in, the queue, claim.
    sign_in(&b, &stack, &ops_email, &ops_password).await?;
    b.wait_for("#queue", WAIT).await?;
    assert!(b.current_url().await?.ends_with("/console"));
    let first = b
        .client()
        .find(onramp_devstack::browser::fantoccini::Locator::Css(
            "#queue tbody tr",
        ))
        .await?;
    assert_eq!(
        first.attr("data-task").await?.as_deref(),
        Some(late.to_string().as_str()),
        "the overdue task leads the queue"
    );
    assert_eq!(first.attr("class").await?.as_deref(), Some("overdue"));
    assert!(first.text().await?.contains("overdue by 5h"));
    b.wait_for_text("#queue-summary", "1 overdue", WAIT).await?;
    let queue_png = b.screenshot("queue").await?;

    b.click(&format!("tr[data-task=\"{task}\"] button.claim"))
        .await?;
    b.wait_for_text("#notice", "You claimed this task", WAIT)
        .await?;
    b.wait_for_text("#ctx-customer", "Acme", WAIT).await?;
    let vlan_before = b.text("#ctx-vlan").await?;
    let subnet = b.text("#ctx-subnet").await?;
    assert!(subnet.ends_with("/30"), "{subnet}");
    b.wait_for_text("#instructions", "Open a ticket", WAIT)
        .await?;
    let task_png = b.screenshot("task").await?;

    // 2. An invalid VLAN: the error at the field, the values kept.
    b.fill("#field-circuit_id", "OCID1.VC.ASH.0042").await?;
    b.fill("#field-provider_vlan", "5000").await?;
    b.fill("#field-provider_peer_ip", "169.254.77.2/30").await?;
    b.fill("#field-provider_asn", "31898").await?;
    b.click("#complete-button").await?;
    let err = b
        .wait_for_text("#field-provider_vlan-error", "not a VLAN id", WAIT)
        .await?;
    assert!(err.contains("5000"), "{err}");
    b.wait_for_text("#task-alert", "Not saved", WAIT).await?;
    let kept = b
        .client()
        .find(onramp_devstack::browser::fantoccini::Locator::Css(
            "#field-circuit_id",
        ))
        .await?
        .prop("value")
        .await?;
    assert_eq!(kept.as_deref(), Some("OCID1.VC.ASH.0042"));
    let active = b.client().active_element().await?;
    assert_eq!(
        active.attr("id").await?.as_deref(),
        Some("field-provider_vlan"),
        "the field at fault has the focus"
    );
    b.screenshot("task-invalid").await?;
    assert_eq!(
        onramp_store::connectors::get(&stack.db, connector)
            .await?
            .unwrap()
            .state,
        "waiting_ops"
    );

    // 3. Valid values.
    b.fill("#field-provider_vlan", "812").await?;
    b.click("#complete-button").await?;
    b.wait_for_text("#notice", "Task completed", WAIT).await?;
    b.wait_for_text("#task-state", "completed", WAIT).await?;
    b.wait_for_text("#ctx-vlan", "812", WAIT).await?;
    assert_ne!(vlan_before, "812");

    // 4. The connector goes on to active, with the provider's values on the PE.
    wait_connector_state(&stack, connector, "active", Duration::from_secs(60)).await?;
    b.goto(&stack.url(&format!("/console/tasks/{task}")))
        .await?;
    b.wait_for_text("#ctx-state", "active", WAIT).await?;
    b.wait_for_text("#audit", "complete", WAIT).await?;
    let audit = b.text("#audit").await?;
    assert!(
        audit.contains(&ops_email) && audit.contains("claim"),
        "{audit}"
    );
    let done_png = b.screenshot("task-completed").await?;

    let running = stack.running("pe1").await?;
    let a = attachment(&running, "ge-0/0/1", 812, "169.254.77.2")
        .with_context(|| format!("no unit 812 on ge-0/0/1 of pe1:\n{running}"))?;
    assert_eq!(a.vlan.as_deref(), Some("812"));
    assert_eq!(a.address.as_deref(), Some("169.254.77.1/30"));
    assert_eq!(a.neighbor_peer_as.as_deref(), Some("31898"));

    // A customer signing in cannot reach the console.
    b.click(".who button").await?;
    b.wait_for("#email", WAIT).await?;
    sign_in(&b, &stack, &customer_email, &customer_password).await?;
    b.goto(&stack.url("/console")).await?;
    b.wait_for_text("main h1", "The ops console is for the operator", WAIT)
        .await?;
    b.wait_for_text("main", "HTTP 403", WAIT).await?;
    b.goto(&stack.url(&format!("/console/tasks/{task}")))
        .await?;
    b.wait_for_text("main", "HTTP 403", WAIT).await?;
    let page = b.text("main").await?;
    assert!(
        !page.contains("OCID1"),
        "the task leaked to a customer: {page}"
    );
    b.screenshot("customer-403").await?;
    b.close().await?;

    for png in [&queue_png, &task_png, &done_png] {
        assert!(std::fs::metadata(png)?.len() > 1000, "{}", png.display());
    }
    println!("screenshots in {}", dir.display());
    Ok(())
}

/// An ops engineer puts pe1 in maintenance from the console's PEs page; an
/// order placed meanwhile waits (its change held, the PE read back without
/// it); the engineer ends the maintenance and the order goes on.
#[tokio::test(flavor = "multi_thread")]
async fn ops_user_holds_a_pe_in_maintenance_from_the_console() -> Result<()> {
    let (stack, _, (ops_email, ops_password)) = stack_with_ops().await?;
    let dir = artifacts_dir("console_pe_maintenance");
    let b = Browser::start(&dir).await?;
    sign_in(&b, &stack, &ops_email, &ops_password).await?;
    b.wait_for_text("main h1", "Ops tasks", WAIT).await?;

    // Nothing typed: the reason is asked for at the field.
    b.goto(&stack.url("/console/pes")).await?;
    b.wait_for("#pe-pe1", WAIT).await?;
    b.click("#start-pe1").await?;
    b.wait_for_text("#reason-pe1-error", "Not started", WAIT)
        .await?;
    b.fill("#reason-pe1", "line card swap, CHG-1234").await?;
    b.click("#start-pe1").await?;
    b.wait_for_text("#notice", "pe1 is in maintenance", WAIT)
        .await?;
    b.wait_for_text("#pe-pe1", "line card swap, CHG-1234", WAIT)
        .await?;

    // An order for pe1 waits for the maintenance.
    let (status, c) = stack.order_vif(serde_json::json!({})).await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().context("connector id")?.to_string();
    let c = stack
        .wait_connector(&id, "held by the maintenance", WAIT, |c| {
            c["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("planned maintenance"))
        })
        .await?;
    let vlan = c["peering"]["vlan"].as_u64().context("VLAN")? as u16;
    b.goto(&stack.url("/console/pes")).await?;
    b.wait_for("#end-pe1", WAIT).await?;
    let held = b.text("#pe-pe1").await?;
    assert!(held.contains("line card swap"), "{held}");
    let held_png = b.screenshot("pe-in-maintenance").await?;
    let running = stack.running("pe1").await?;
    assert!(
        !running.contains(&format!("<id>{vlan}</id>")),
        "pe1 got unit {vlan} during its maintenance:\n{running}"
    );

    // Ended: the order goes on.
    b.click("#end-pe1").await?;
    b.wait_for_text("#notice", "maintenance is over", WAIT)
        .await?;
    b.wait_for("#start-pe1", WAIT).await?;
    b.screenshot("pe-maintenance-ended").await?;
    stack
        .wait_state(&id, "waiting_customer_acceptance", WAIT)
        .await?;
    b.close().await?;
    assert!(std::fs::metadata(&held_png)?.len() > 1000);
    println!("screenshots in {}", dir.display());
    Ok(())
}

/// A teardown the PE keeps refusing is handed to ops; an ops engineer finds
/// it on the console's Stuck changes page, removes the unit by hand on the
/// PE, and marks the change done with a reason: the connector is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn ops_user_finishes_a_stuck_teardown_from_the_console() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    // The bug: the teardown removes the whole port, which the PE refuses
    // while another unit is on it.
    let templates = support::planted_in(tmp.path(), "attachment-delete.xml.j2", |t| {
        t.replace(
            "  <interface>\n    <name>{{ interface }}</name>\n    <unit nc:operation=\"remove\">\n      <id>{{ vlan }}</id>\n    </unit>\n  </interface>",
            "  <interface nc:operation=\"remove\">\n    <name>{{ interface }}</name>\n  </interface>",
        )
    })?;
    let stack = Stack::start_with(
        Db::Sqlite,
        support::StackOptions {
            templates,
            worker_env: vec![("ONRAMP_STUCK_AFTER".into(), "2".into())],
            ..support::StackOptions::default()
        },
    )
    .await?;
    let tenant = onramp_store::auth::tenant_for_key(&stack.db, &stack.key)
        .await?
        .context("the stack's tenant")?
        .0
        .id;
    let (ops_email, ops_password) = user(&stack, tenant, "ops").await?;
    let mut ids = Vec::new();
    let mut views = Vec::new();
    for _ in 0..2 {
        let (status, c) = stack.order_vif(serde_json::json!({})).await?;
        assert_eq!(status, 202, "{c:#}");
        let id = c["id"].as_str().context("connector id")?.to_string();
        views.push(
            stack
                .wait_state(&id, "waiting_customer_acceptance", WAIT)
                .await?,
        );
        ids.push(id);
    }
    let (status, _) = stack.delete(&format!("/v1/connectors/{}", ids[0])).await?;
    assert_eq!(status, 202);
    stack
        .wait_connector(&ids[0], "handed to ops", WAIT, |c| {
            c["waiting_on"] == "ops"
                && c["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("handed to the operator's ops team"))
        })
        .await?;
    let change: i64 = onramp_store::stuck::list(&stack.db)
        .await?
        .first()
        .context("one stuck change")?
        .id;

    let dir = artifacts_dir("console_stuck_teardown");
    let b = Browser::start(&dir).await?;
    sign_in(&b, &stack, &ops_email, &ops_password).await?;
    b.wait_for_text("main h1", "Ops tasks", WAIT).await?;
    b.goto(&stack.url("/console/stuck")).await?;
    let row = format!("#change-{change}");
    b.wait_for(&row, WAIT).await?;
    let text = b.text(&row).await?;
    assert!(text.contains("pe1") && text.contains(&ids[0]), "{text}");
    let stuck_png = b.screenshot("stuck-teardown").await?;

    // No reason: asked for at the field, nothing decided.
    b.click(&format!("#done-{change}")).await?;
    b.wait_for_text(
        &format!("#reason-{change}-error"),
        "A reason is needed",
        WAIT,
    )
    .await?;
    // The engineer removes the unit at the PE, then marks the change done.
    stack.remove_unit_by_hand("pe1", &views[0]).await?;
    b.fill(
        &format!("#reason-{change}"),
        "removed unit by hand, CHG-881",
    )
    .await?;
    b.click(&format!("#done-{change}")).await?;
    b.wait_for_text("#notice", "marked done by hand", WAIT)
        .await?;
    b.wait_for("#no-stuck", WAIT).await?;
    b.screenshot("stuck-teardown-done").await?;
    stack.wait_state(&ids[0], "deleted", WAIT).await?;
    b.close().await?;
    let (_, other) = stack
        .get_json(&format!("/v1/connectors/{}", ids[1]))
        .await?;
    assert_eq!(other["state"], "waiting_customer_acceptance");
    assert!(std::fs::metadata(&stuck_png)?.len() > 1000);
    println!("screenshots in {}", dir.display());
    Ok(())
}
