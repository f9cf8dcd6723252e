//! The ops console in process, over SQLite, without a browser:
//! - nobody signed in is sent to sign-in; a customer gets the 403 page on
//!   every console page and action, and changes nothing;
//! - a form post without the session's CSRF token, or with another one, is
//!   refused (403) and changes nothing;
//! - claiming: a task claimed by one ops user is refused to another with a
//!   message on the page (409), and the audit names who did what;
//! - completing: invalid values come back (422) with every value kept and
//!   the message next to the field; valid ones close the task and move the
//!   connector on; rejecting needs a reason;
//! - the queue: overdue tasks first and marked, filtered by provider and
//!   state.

mod console_fixture;
mod support;

use anyhow::Result;
use console_fixture::{IBM, ORACLE, audit_actions, make_overdue, order, provider, task_state};
use support::inproc::{Api, Session, start};
use uuid::Uuid;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Console {
    api: Api,
    http: reqwest::Client,
    tenant: Uuid,
}

/// An in-process API with the Oracle provider and `n` tasks for Acme.
async fn console(n: usize) -> Result<(Console, Vec<(Uuid, Uuid)>)> {
    let api = start(false).await?;
    let tenant = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0
        .id;
    provider(&api.db, ORACLE, "Oracle FastConnect").await?;
    let mut orders = Vec::new();
    for _ in 0..n {
        orders.push(order(&api.db, tenant, ORACLE).await?);
    }
    Ok((
        Console {
            api,
            http: no_redirects(),
            tenant,
        },
        orders,
    ))
}

impl Console {
    async fn signed_in(&self, role: &str) -> Result<(String, Session)> {
        let (email, password) = self.api.user(self.tenant, role).await?;
        let s = self.api.sign_in(&email, &password).await?;
        Ok((email, s))
    }

    async fn get(&self, s: Option<&Session>, path: &str) -> Result<(u16, String, String)> {
        let mut req = self.http.get(format!("{}{path}", self.api.base));
        if let Some(s) = s {
            req = req.header("cookie", &s.cookie);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        Ok((status, location, r.text().await?))
    }

    /// Posts a form as `s`; the CSRF token is added unless `pairs` has one.
    async fn post(
        &self,
        s: &Session,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Result<(u16, String, String)> {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "csrf_token") {
            form.push(("csrf_token", &s.csrf));
        }
        let r = self
            .http
            .post(format!("{}{path}", self.api.base))
            .header("cookie", &s.cookie)
            .form(&form)
            .send()
            .await?;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        Ok((status, location, r.text().await?))
    }

    async fn connector_state(&self, id: Uuid) -> Result<String> {
        Ok(onramp_store::connectors::get(&self.api.db, id)
            .await?
            .unwrap()
            .state)
    }
}

const VALID: [(&str, &str); 4] = [
    ("value.circuit_id", "OCID1.VC.ASH.0042"),
    ("value.provider_vlan", "812"),
    ("value.provider_peer_ip", "169.254.77.2/30"),
    ("value.provider_asn", "31898"),
];

#[tokio::test]
async fn customers_and_strangers_cannot_reach_the_console() -> Result<()> {
    let (c, orders) = console(1).await?;
    let (_, task) = orders[0];
    let task_path = format!("/console/tasks/{task}");

    // Nobody signed in: to sign-in, and back here afterwards.
    for path in ["/console", task_path.as_str(), "/console/audit"] {
        let (status, location, _) = c.get(None, path).await?;
        assert_eq!(status, 303, "{path}");
        assert!(
            location.starts_with("/login?next=/console"),
            "{path}: {location}"
        );
    }
    let r = c
        .http
        .post(format!("{}{task_path}/claim", c.api.base))
        .form(&[("csrf_token", "x")])
        .send()
        .await?;
    assert_eq!(r.status(), 303);

    // A customer: the 403 page, on pages and actions alike.
    let (_, customer) = c.signed_in("customer").await?;
    for path in ["/console", task_path.as_str(), "/console/audit"] {
        let (status, _, html) = c.get(Some(&customer), path).await?;
        assert_eq!(status, 403, "{path}");
        assert!(
            html.contains("The ops console is for the operator") && html.contains("portal"),
            "{path}: {html}"
        );
        assert!(
            !html.contains("Order the virtual circuit"),
            "{path} leaked the task"
        );
    }
    for action in ["claim", "complete", "reject", "notes", "unclaim"] {
        let (status, _, _) = c
            .post(
                &customer,
                &format!("{task_path}/{action}"),
                &[("reason", "no"), ("text", "hi"), VALID[1]],
            )
            .await?;
        assert_eq!(status, 403, "{action}");
    }
    let t = task_state(&c.api.db, task).await?;
    assert_eq!(t.state, "open");
    assert_eq!(
        audit_actions(&c.api.db, task).await?,
        vec![("onramp".to_string(), "open".to_string())]
    );
    Ok(())
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_change_nothing() -> Result<()> {
    let (c, orders) = console(1).await?;
    let (connector, task) = orders[0];
    let (_, ops) = c.signed_in("ops").await?;
    let (_, other) = c.signed_in("ops").await?;
    let base = format!("/console/tasks/{task}");
    for (token, why) in [("", "missing"), (other.csrf.as_str(), "another session's")] {
        for (action, mut pairs) in [
            ("claim", vec![]),
            ("complete", VALID.to_vec()),
            ("reject", vec![("reason", "no capacity")]),
            ("notes", vec![("text", "a note")]),
        ] {
            pairs.push(("csrf_token", token));
            let (status, _, html) = c.post(&ops, &format!("{base}/{action}"), &pairs).await?;
            assert_eq!(status, 403, "{action} with a {why} token");
            assert!(html.contains("The form has expired"), "{html}");
        }
    }
    let t = task_state(&c.api.db, task).await?;
    assert_eq!((t.state.as_str(), t.claimed_by), ("open", None));
    assert_eq!(audit_actions(&c.api.db, task).await?.len(), 1);
    assert_eq!(c.connector_state(connector).await?, "waiting_ops");
    Ok(())
}

#[tokio::test]
async fn a_claimed_task_is_refused_to_others_with_a_message() -> Result<()> {
    let (c, orders) = console(1).await?;
    let (_, task) = orders[0];
    let (alice, a) = c.signed_in("ops").await?;
    let (bob, b) = c.signed_in("ops").await?;
    let base = format!("/console/tasks/{task}");

    let (status, location, _) = c.post(&a, &format!("{base}/claim"), &[]).await?;
    assert_eq!(
        (status, location.as_str()),
        (303, format!("{base}?done=claimed").as_str())
    );
    let (status, _, html) = c.get(Some(&a), &location).await?;
    assert_eq!(status, 200);
    assert!(html.contains("You claimed this task"), "{html}");
    assert!(html.contains("id=\"complete-form\""));

    // Bob sees who has it, and neither claiming nor completing works for him.
    let (_, _, html) = c.get(Some(&b), "/console").await?;
    assert!(html.contains(&format!("by {alice}")), "{html}");
    let (_, _, html) = c.get(Some(&b), &base).await?;
    assert!(html.contains("id=\"claimed-by-other\"") && html.contains(&alice));
    assert!(
        !html.contains("id=\"complete-form\""),
        "the form is offered to Bob"
    );
    let (status, _, html) = c.post(&b, &format!("{base}/claim"), &[]).await?;
    assert_eq!(status, 409);
    assert!(
        html.contains("role=\"alert\"") && html.contains(&format!("is claimed by {alice}")),
        "{html}"
    );
    let (status, _, _) = c.post(&b, &format!("{base}/complete"), &VALID).await?;
    assert_eq!(status, 409);
    let (status, _, _) = c
        .post(&b, &format!("{base}/unclaim"), &[("force", "true")])
        .await?;
    assert_eq!(status, 409, "an ops user cannot break a claim");
    assert_eq!(
        task_state(&c.api.db, task).await?.claimed_by,
        Some(format!("user {alice}"))
    );

    // Alice hands it back; Bob takes it.
    let (status, _, _) = c.post(&a, &format!("{base}/unclaim"), &[]).await?;
    assert_eq!(status, 303);
    let (status, _, _) = c.post(&b, &format!("{base}/claim"), &[]).await?;
    assert_eq!(status, 303);

    // The audit names each person, on the task page and the audit page.
    assert_eq!(
        audit_actions(&c.api.db, task).await?,
        vec![
            ("onramp".into(), "open".into()),
            (format!("user {alice}"), "claim".into()),
            (format!("user {alice}"), "unclaim".into()),
            (format!("user {bob}"), "claim".into()),
        ]
    );
    let (_, _, html) = c.get(Some(&a), &base).await?;
    let trail = &html[html.find("id=\"audit\"").unwrap()..];
    assert!(trail.contains(&alice) && trail.contains(&bob) && trail.contains("unclaim"));
    let (_, _, html) = c
        .get(Some(&a), &format!("/console/audit?actor={alice}"))
        .await?;
    assert!(html.contains("unclaim") && !html.contains(&bob), "{html}");
    Ok(())
}

#[tokio::test]
async fn invalid_values_come_back_with_the_error_at_the_field() -> Result<()> {
    let (c, orders) = console(1).await?;
    let (connector, task) = orders[0];
    let (me, s) = c.signed_in("ops").await?;
    let base = format!("/console/tasks/{task}");
    c.post(&s, &format!("{base}/claim"), &[]).await?;

    let bad = [
        ("value.circuit_id", "OCID1.VC.ASH.0042"),
        ("value.provider_vlan", "5000"),
        ("value.provider_peer_ip", "169.254.77.2/30"),
        ("value.provider_asn", ""),
    ];
    let (status, _, html) = c.post(&s, &format!("{base}/complete"), &bad).await?;
    assert_eq!(status, 422);
    // Values kept, each error next to its field, the first bad one focused.
    assert!(html.contains("value=\"OCID1.VC.ASH.0042\"") && html.contains("value=\"5000\""));
    assert!(html.contains("value=\"169.254.77.2&#x2f;30\""));
    assert!(
        html.contains("id=\"field-provider_vlan-error\"") && html.contains("is not a VLAN id"),
        "{html}"
    );
    assert!(html.contains("id=\"field-provider_asn-error\""));
    assert!(!html.contains("id=\"field-circuit_id-error\""));
    let input = &html[html.find("id=\"field-provider_vlan\"").unwrap()..];
    let input = &input[..input.find('>').unwrap()];
    assert!(
        input.contains("aria-invalid=\"true\"") && input.contains("autofocus"),
        "{input}"
    );
    assert_eq!(task_state(&c.api.db, task).await?.state, "claimed");
    assert_eq!(c.connector_state(connector).await?, "waiting_ops");

    // Valid: the task closes and the connector goes on to the PE push.
    let (status, location, html) = c.post(&s, &format!("{base}/complete"), &VALID).await?;
    let field_error = html.find("-error\"").map(|i| &html[i - 40..i + 300]);
    assert_eq!(
        (status, location),
        (303, format!("{base}?done=completed")),
        "{field_error:?}"
    );
    let t = task_state(&c.api.db, task).await?;
    assert_eq!(t.state, "completed");
    assert_eq!(c.connector_state(connector).await?, "configuring_pe");
    let (_, _, html) = c.get(Some(&s), &format!("{base}?done=completed")).await?;
    assert!(html.contains("Task completed."));
    assert!(html.contains("OCID1.VC.ASH.0042") && html.contains("provider vlan: 812"));
    // What the provider assigned is now the connector's.
    assert!(html.contains("id=\"ctx-vlan\">812<"), "{html}");
    assert_eq!(
        audit_actions(&c.api.db, task).await?.last().unwrap(),
        &(format!("user {me}"), "complete".to_string())
    );
    // A closed task takes no more changes.
    let (status, _, html) = c
        .post(&s, &format!("{base}/reject"), &[("reason", "x")])
        .await?;
    assert_eq!(status, 409);
    assert!(html.contains("takes no more changes"));
    Ok(())
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_notes_are_kept() -> Result<()> {
    let (c, orders) = console(1).await?;
    let (connector, task) = orders[0];
    let (me, s) = c.signed_in("ops").await?;
    let base = format!("/console/tasks/{task}");

    let (status, _, html) = c
        .post(&s, &format!("{base}/notes"), &[("text", "  ")])
        .await?;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"note-text-error\""), "{html}");
    let (status, location, _) = c
        .post(
            &s,
            &format!("{base}/notes"),
            &[("text", "Ticket SR 3-1234 opened with Oracle")],
        )
        .await?;
    assert_eq!(status, 303);
    let (_, _, html) = c.get(Some(&s), &location).await?;
    let notes = &html[html.find("id=\"notes\"").unwrap()..];
    assert!(notes.contains("Ticket SR 3-1234 opened with Oracle") && notes.contains(&me));

    let (status, _, html) = c
        .post(&s, &format!("{base}/reject"), &[("reason", "")])
        .await?;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"reject-reason-error\""), "{html}");
    assert_eq!(task_state(&c.api.db, task).await?.state, "open");

    let (status, _, _) = c
        .post(
            &s,
            &format!("{base}/reject"),
            &[("reason", "No capacity at Ashburn")],
        )
        .await?;
    assert_eq!(status, 303);
    let t = task_state(&c.api.db, task).await?;
    assert_eq!(t.state, "rejected");
    assert_eq!(t.reject_reason.as_deref(), Some("No capacity at Ashburn"));
    assert_ne!(c.connector_state(connector).await?, "waiting_ops");
    let (_, _, html) = c.get(Some(&s), &base).await?;
    assert!(html.contains("No capacity at Ashburn") && !html.contains("id=\"complete-form\""));
    Ok(())
}

#[tokio::test]
async fn the_queue_puts_overdue_first_and_filters() -> Result<()> {
    let (c, orders) = console(2).await?;
    provider(&c.api.db, IBM, "IBM Direct Link").await?;
    let (_, ibm_task) = order(&c.api.db, c.tenant, IBM).await?;
    let (_, late) = orders[1];
    make_overdue(&c.api.db, late, 3).await?;
    let (_, s) = c.signed_in("ops").await?;

    let (status, _, html) = c.get(Some(&s), "/console").await?;
    assert_eq!(status, 200);
    assert!(
        html.contains("3 tasks") && html.contains("1 overdue"),
        "{html}"
    );
    let first = html.find("data-task=").unwrap();
    let row = &html[html[..first].rfind("<tr").unwrap()..];
    assert!(
        row.starts_with("<tr class=\"overdue\" data-task=\"") && row.contains(&late.to_string()),
        "the overdue task is not first: {row}"
    );
    assert!(row[..row.find("</tr>").unwrap()].contains("overdue by 3h"));
    assert_eq!(html.matches("<tr class=\"overdue\"").count(), 1);

    let (_, _, html) = c.get(Some(&s), &format!("/console?provider={IBM}")).await?;
    assert!(
        html.contains("1 task.") || html.contains("1 task<"),
        "{html}"
    );
    assert!(html.contains(&ibm_task.to_string()) && !html.contains(&late.to_string()));

    // Claimed ones under "mine"; closed ones leave the default view.
    c.post(&s, &format!("/console/tasks/{ibm_task}/claim"), &[])
        .await?;
    let (_, _, html) = c.get(Some(&s), "/console?state=mine").await?;
    assert!(html.contains(&ibm_task.to_string()) && !html.contains(&late.to_string()));
    // Someone else's claim is theirs, not mine.
    let (_, theirs) = orders[0];
    let (_, s2) = c.signed_in("ops").await?;
    c.post(&s2, &format!("/console/tasks/{theirs}/claim"), &[])
        .await?;
    let (_, _, html) = c.get(Some(&s), "/console?state=mine").await?;
    assert!(html.contains(&ibm_task.to_string()) && !html.contains(&theirs.to_string()));
    let (_, _, html) = c.get(Some(&s2), "/console?state=mine").await?;
    assert!(!html.contains(&ibm_task.to_string()) && html.contains(&theirs.to_string()));
    let (_, _, html) = c.get(Some(&s), "/console?state=open").await?;
    assert!(!html.contains(&ibm_task.to_string()) && html.contains(&late.to_string()));
    c.post(&s, &format!("/console/tasks/{ibm_task}/complete"), &VALID)
        .await?;
    let (_, _, html) = c.get(Some(&s), "/console").await?;
    assert!(!html.contains(&ibm_task.to_string()));
    let (_, _, html) = c.get(Some(&s), "/console?state=closed").await?;
    assert!(html.contains(&ibm_task.to_string()));

    // The task page says so too.
    let (_, _, html) = c.get(Some(&s), &format!("/console/tasks/{late}")).await?;
    assert!(html.contains("id=\"task-overdue\"") && html.contains("overdue by 3h"));
    assert!(html.contains("id=\"ctx-customer\">Acme<"));
    let (status, _, _) = c.get(Some(&s), "/console/tasks/not-a-task").await?;
    assert_eq!(status, 404);
    let (status, _, _) = c
        .get(Some(&s), &format!("/console/tasks/{}", Uuid::new_v4()))
        .await?;
    assert_eq!(status, 404);
    Ok(())
}

/// The PEs page: an ops engineer starts a PE's maintenance with a reason
/// (none: the page again, 422, the message at the field), sees it, and ends
/// it; a customer gets the 403 page; a form without the CSRF token changes
/// nothing.
#[tokio::test]
async fn ops_put_a_pe_in_maintenance_and_take_it_out() -> Result<()> {
    use onramp_store::entity::pe_router;
    use sea_orm::EntityTrait;

    let (c, _) = console(0).await?;
    let pe = pe_router::Entity::find().one(&c.api.db).await?.unwrap();
    let start = format!("/console/pes/{}/maintenance", pe.id);
    let maintenance = || async {
        pe_router::Entity::find_by_id(pe.id)
            .one(&c.api.db)
            .await
            .map(|p| p.unwrap().maintenance_reason)
    };

    let (_, customer) = c.signed_in("customer").await?;
    let (status, _, _) = c.get(Some(&customer), "/console/pes").await?;
    assert_eq!(status, 403);
    let (status, _, _) = c.post(&customer, &start, &[("reason", "x")]).await?;
    assert_eq!(status, 403);

    let (_, ops) = c.signed_in("ops").await?;
    let (status, _, html) = c.get(Some(&ops), "/console/pes").await?;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"id="pe-pe1""#) && html.contains("Start maintenance"),
        "{html}"
    );

    // Refused: no reason; no token.
    let (status, _, html) = c.post(&ops, &start, &[("reason", "  ")]).await?;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains(r#"id="reason-pe1-error""#) && html.contains("Not started"),
        "{html}"
    );
    let (status, _, _) = c
        .post(&ops, &start, &[("reason", "swap"), ("csrf_token", "")])
        .await?;
    assert_eq!(status, 403);
    assert_eq!(maintenance().await?, None);

    // Started, shown, ended.
    let (status, location, _) = c
        .post(&ops, &start, &[("reason", "line card swap")])
        .await?;
    assert_eq!(
        (status, location.as_str()),
        (303, "/console/pes?done=started&pe=pe1")
    );
    assert_eq!(maintenance().await?.as_deref(), Some("line card swap"));
    let (_, _, html) = c.get(Some(&ops), &location).await?;
    assert!(
        html.contains("pe1 is in maintenance") && html.contains(": line card swap"),
        "{html}"
    );
    assert!(html.contains(r#"id="end-pe1""#), "{html}");
    let (status, location, _) = c.post(&ops, &format!("{start}/end"), &[]).await?;
    assert_eq!(
        (status, location.as_str()),
        (303, "/console/pes?done=ended&pe=pe1")
    );
    assert_eq!(maintenance().await?, None);
    Ok(())
}

/// The Stuck changes page: staff only, every decision needs the session's
/// CSRF token, giving up and marking done need a reason (asked for at the
/// field), and a decision that no longer applies says why.
#[tokio::test]
async fn ops_decide_on_a_stuck_change() -> Result<()> {
    use onramp_store::entity::{connector, pe_router};
    use sea_orm::EntityTrait;

    let (c, orders) = console(1).await?;
    let (_, ops) = c.signed_in("ops").await?;
    let (status, _, html) = c.get(Some(&ops), "/console/stuck").await?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"id="no-stuck""#), "{html}");

    // A removal its PE kept refusing, for the fixture's connector.
    let id = orders[0].0;
    let row = connector::Entity::find_by_id(id)
        .one(&c.api.db)
        .await?
        .unwrap();
    let pe = pe_router::Entity::find().one(&c.api.db).await?.unwrap();
    let change =
        onramp_store::pe_changes::enqueue(&c.api.db, pe.id, id, row.step, "delete", "sealed")
            .await?;
    onramp_store::stuck::hand_over(&c.api.db, &change, "PE pe1 refused removing it 8 times")
        .await?;
    let path = |what: &str| format!("/console/stuck/{}/{what}", change.id);

    let (_, customer) = c.signed_in("customer").await?;
    let (status, _, _) = c.get(Some(&customer), "/console/stuck").await?;
    assert_eq!(status, 403);
    let (status, _, _) = c.post(&customer, &path("retry"), &[]).await?;
    assert_eq!(status, 403);

    let (_, _, html) = c.get(Some(&ops), "/console/stuck").await?;
    assert!(
        html.contains(&format!(r#"id="change-{}""#, change.id))
            && html.contains("refused removing it 8 times"),
        "{html}"
    );
    // No token; no reason; no such change.
    let (status, _, _) = c
        .post(
            &ops,
            &path("give-up"),
            &[("reason", "x"), ("csrf_token", "")],
        )
        .await?;
    assert_eq!(status, 403);
    let (status, _, html) = c.post(&ops, &path("give-up"), &[("reason", " ")]).await?;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains(&format!(r#"id="reason-{}-error""#, change.id)),
        "{html}"
    );
    let (status, _, _) = c.post(&ops, "/console/stuck/999999/retry", &[]).await?;
    assert_eq!(status, 404);
    let row = connector::Entity::find_by_id(id)
        .one(&c.api.db)
        .await?
        .unwrap();
    assert_eq!(row.waiting_on, "ops");

    // Given up, then it cannot be retried, but can be marked done.
    let (status, location, _) = c
        .post(
            &ops,
            &path("give-up"),
            &[("reason", "vendor case, CHG-880")],
        )
        .await?;
    assert_eq!(
        (status, location),
        (
            303,
            format!("/console/stuck?done=give_up&change={}", change.id)
        )
    );
    let (status, _, html) = c.post(&ops, &path("retry"), &[]).await?;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Not done"), "{html}");
    let (status, _, _) = c
        .post(
            &ops,
            &path("done"),
            &[("reason", "removed by hand, CHG-881")],
        )
        .await?;
    assert_eq!(status, 303);
    let (_, _, html) = c.get(Some(&ops), "/console/stuck").await?;
    assert!(html.contains(r#"id="no-stuck""#), "{html}");
    Ok(())
}
