//! The customer portal in a real headless Chromium (chromedriver), against
//! the real stack or the API in process:
//! - a customer signs in, orders an AWS hosted VIF (first meeting a
//!   validation error as they type), reviews the plan, confirms, sees the
//!   connector wait for them with the VIF to accept, accepts it through the
//!   AWS simulator (their "AWS console"), and sees the page turn `active`
//!   live, from the event stream, without the page reloading;
//! - a customer of another tenant sees none of it: not in their list, and
//!   a not-found page at its URL;
//! - a ticket-based provider is ordered from the same form, and its page
//!   names the manual step onramp's engineers are on.
//!
//! Screenshots: `artifacts/browser/portal_*/` (or `$ONRAMP_ARTIFACTS`).

mod support;

use std::time::Duration;

use anyhow::Result;
use onramp_devstack::browser::Browser;
use serde_json::Value;
use support::{CUSTOMER_ACCOUNT, Db, Stack, artifacts_dir};

const WAIT: Duration = Duration::from_secs(60);
const PROVISION: Duration = Duration::from_secs(90);

async fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) -> Result<()> {
    browser.goto(&format!("{base}/login")).await?;
    browser.wait_for("#email", WAIT).await?;
    browser.fill("#email", email).await?;
    browser.fill("#password", password).await?;
    browser.click("#sign-in").await?;
    browser
        .wait_for("#portal-page[data-page=connectors][data-ready=true]", WAIT)
        .await?;
    Ok(())
}

async fn exists(browser: &Browser, css: &str) -> Result<bool> {
    let found = browser
        .client()
        .execute(
            "return document.querySelector(arguments[0]) !== null;",
            vec![Value::String(css.into())],
        )
        .await?;
    Ok(found == Value::Bool(true))
}

async fn marker(browser: &Browser) -> Result<Value> {
    Ok(browser
        .client()
        .execute("return window.portalLoadMarker || null;", vec![])
        .await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_orders_a_hosted_vif_and_sees_it_turn_active_live() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let acme = onramp_store::auth::tenant_for_key(&stack.db, &stack.key)
        .await?
        .unwrap()
        .0;
    let email = "casey@acme.example";
    let password = "a-long-enough-password";
    onramp_store::users::create_user(
        &stack.db,
        &onramp_store::users::NewUser {
            tenant_id: acme.id,
            email,
            name: "Casey",
            role: "customer",
            password,
        },
    )
    .await?;
    let browser = Browser::start(&artifacts_dir("portal_order_aws_hosted_vif")).await?;
    sign_in(&browser, &stack.base, email, password).await?;

    // The order form: a bad account id is caught as it is typed, with the
    // API's own rule and words.
    browser.click("a[href='/portal/connectors/new']").await?;
    browser
        .wait_for("#portal-page[data-page=order][data-ready=true]", WAIT)
        .await?;
    browser
        .wait_for("#f-location option[value=EqDC2]", WAIT)
        .await?;
    browser.fill("#f-aws_account_id", "12345").await?;
    let error = browser
        .wait_for_text("#f-aws_account_id-error", "12-digit AWS account id", WAIT)
        .await?;
    assert!(error.contains("12345"), "{error}");
    browser
        .wait_for("#f-aws_account_id[aria-invalid=true]", WAIT)
        .await?;
    let shot = browser.screenshot("order-form-validation-error").await?;
    eprintln!("screenshot: {}", shot.display());

    // Fixed, reviewed: the plan shows what the order gets and what follows.
    browser.fill("#f-aws_account_id", CUSTOMER_ACCOUNT).await?;
    browser
        .wait_for_text("#check-status", "The order is valid.", WAIT)
        .await?;
    assert!(
        !exists(&browser, "#f-aws_account_id-error").await?,
        "the error stays after the fix"
    );
    browser.click("#review").await?;
    let steps = browser
        .wait_for_text("#plan-steps", "accept the VIF", WAIT)
        .await?;
    assert!(steps.contains("AWS console"), "{steps}");
    let resources = browser.text("#plan-resources").await?;
    assert!(
        resources.contains("169.254.") && resources.contains("64512"),
        "{resources}"
    );
    browser.screenshot("order-plan").await?;
    // Nothing was ordered by checking and reviewing.
    let (_, list) = stack.get_json("/v1/connectors").await?;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list:#}");

    browser.click("#confirm").await?;
    browser
        .wait_for("#portal-page[data-page=connector][data-ready=true]", WAIT)
        .await?;
    let url = browser.current_url().await?;
    let id = url.rsplit('/').next().unwrap().to_string();
    assert!(url.contains("/portal/connectors/"), "{url}");

    // It waits for the customer, and says exactly what to do.
    browser
        .wait_for_text("#state", "waiting customer acceptance", PROVISION)
        .await?;
    let action = browser
        .wait_for_text("#action", "Accept VIF dxvif-", WAIT)
        .await?;
    assert!(action.contains("AWS console"), "{action}");
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    let vif_id = c["vif_id"].as_str().unwrap().to_string();
    assert!(action.contains(&vif_id), "{action}");
    let values = browser.text("#values").await?;
    let vlan = c["peering"]["vlan"].to_string();
    assert!(values.contains(&vlan), "{values}");
    assert!(
        values.contains(c["peering"]["onramp_address"].as_str().unwrap()),
        "{values}"
    );
    let loaded = marker(&browser).await?;
    assert!(loaded.is_string(), "no load marker: {loaded}");
    browser
        .screenshot("connector-waiting-for-acceptance")
        .await?;

    // The customer accepts in "their AWS console" (the simulator).
    stack.accept_vif(&vif_id).await?;

    // The page follows the event stream: active, with no reload.
    browser
        .wait_for("#state[data-state=active]", PROVISION)
        .await?;
    browser
        .wait_for("#timeline li[data-state=active]", WAIT)
        .await?;
    assert_eq!(marker(&browser).await?, loaded, "the page was reloaded");
    let next = browser.text("#next-step").await?;
    assert!(next.contains("Nothing to do"), "{next}");
    assert_eq!(browser.text("#action").await?, "");
    let shot = browser.screenshot("connector-active").await?;
    eprintln!("screenshot: {}", shot.display());

    // The BGP key, on purpose, then hidden again.
    browser.click("#reveal").await?;
    browser.wait_for("#hide-key:not([hidden])", WAIT).await?;
    let key = browser.text("#key-text").await?;
    assert_eq!(key.len(), 24, "{key}");
    browser.click("#hide-key").await?;

    // The list shows it, active, with its kind and location.
    browser.goto(&format!("{}/portal", stack.base)).await?;
    let row = browser
        .wait_for_text(&format!("#connectors tr[data-id='{id}']"), "active", WAIT)
        .await?;
    assert!(
        row.contains("AWS Direct Connect hosted VIF") && row.contains("EqDC2"),
        "{row}"
    );
    let shot = browser.screenshot("connector-list").await?;
    eprintln!("screenshot: {}", shot.display());

    // Filters narrow it, through the API's own filter.
    browser
        .goto(&format!("{}/portal?state=failed", stack.base))
        .await?;
    browser
        .wait_for_text("#list-status", "No connectors match", WAIT)
        .await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_does_not_see_another_tenant_s_connectors() -> Result<()> {
    let api = support::inproc::start(false).await?;
    let a_conn = api.order_vif_as(&api.key).await?;
    let (beta, _) = api.tenant_with_key("Beta", "customer").await?;
    let (email, password) = api.user(beta, "customer").await?;
    // A's own user sees it: the control for B's empty list.
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let (a_email, a_password) = api.user(acme.id, "customer").await?;

    let browser = Browser::start(&artifacts_dir("portal_tenant_isolation")).await?;
    sign_in(&browser, &api.base, &a_email, &a_password).await?;
    browser
        .wait_for(&format!("#connectors tr[data-id='{a_conn}']"), WAIT)
        .await?;
    browser.click("form[action='/logout'] button").await?;
    browser.wait_for("#email", WAIT).await?;

    sign_in(&browser, &api.base, &email, &password).await?;
    browser
        .wait_for_text("#list-status", "No connectors yet", WAIT)
        .await?;
    let table = browser.text("#connectors").await?;
    assert!(!table.contains(&a_conn.to_string()[..8]), "{table}");
    browser.screenshot("other-tenant-list").await?;

    browser
        .goto(&format!("{}/portal/connectors/{a_conn}", api.base))
        .await?;
    let h1 = browser
        .wait_for_text("h1", "No such connector", WAIT)
        .await?;
    assert!(!h1.contains(&a_conn.to_string()));
    assert!(
        !exists(&browser, "#portal-page").await?,
        "the connector page was served"
    );
    browser.screenshot("other-tenant-connector").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_manages_api_keys_and_links() -> Result<()> {
    let api = support::inproc::start(false).await?;
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    // Two active connectors: no worker runs here, so the store says so.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = api.order_vif_as(&api.key).await?;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        onramp_store::entity::connector::Entity::update_many()
            .col_expr(
                onramp_store::entity::connector::Column::State,
                sea_orm::sea_query::Expr::value("active"),
            )
            .filter(onramp_store::entity::connector::Column::Id.eq(id))
            .exec(&api.db)
            .await?;
        ids.push(id);
    }
    let (email, password) = api.user(acme.id, "customer").await?;
    let browser = Browser::start(&artifacts_dir("portal_keys_and_links")).await?;
    sign_in(&browser, &api.base, &email, &password).await?;

    // A key: shown once, then listed by prefix only, then revoked.
    browser.click("a[href='/portal/keys']").await?;
    browser
        .wait_for("#portal-page[data-page=keys][data-ready=true]", WAIT)
        .await?;
    browser.fill("#key-name", "terraform").await?;
    browser.click("#create-key").await?;
    let secret = browser.wait_for_text("#new-key-text", "onr_", WAIT).await?;
    let row = browser
        .wait_for_text("#keys tbody", "terraform", WAIT)
        .await?;
    assert!(!row.contains(&secret), "the list shows the secret: {row}");
    let r = api
        .call("GET", "/v1/connectors", &secret, None, &[])
        .await?;
    assert_eq!(r.status, 200, "the new key works");
    browser.screenshot("api-key-created").await?;
    browser
        .click("button[aria-label='Revoke key terraform']")
        .await?;
    browser.wait_for("#revoke-dialog[open]", WAIT).await?;
    browser.click("#revoke-confirm").await?;
    browser
        .wait_for_text("#keys-status", "revoked", WAIT)
        .await?;
    let r = api
        .call("GET", "/v1/connectors", &secret, None, &[])
        .await?;
    assert_eq!(r.status, 401, "the revoked key still works");

    // A link of the two active connectors.
    browser.click("a[href='/portal/links']").await?;
    browser
        .wait_for("#portal-page[data-page=links][data-ready=true]", WAIT)
        .await?;
    browser.fill("#link-name", "prod").await?;
    for id in &ids {
        browser.click(&format!("#pick-{id}")).await?;
    }
    browser.click("#create-link").await?;
    browser
        .wait_for("#portal-page[data-page=link][data-ready=true]", WAIT)
        .await?;
    browser.wait_for_text("#title", "Link prod", WAIT).await?;
    let members = browser.text("#members").await?;
    assert_eq!(members.matches("joining").count(), 2, "{members}");
    let facts = browser.text("#facts").await?;
    assert!(facts.contains("lnk-"), "{facts}");
    browser.screenshot("link").await?;
    let links = api.call("GET", "/v1/links", &api.key, None, &[]).await?;
    assert_eq!(links.body["items"].as_array().unwrap().len(), 1);

    // Deleting asks first; keeping it changes nothing.
    browser.click("#delete").await?;
    browser.wait_for("#delete-dialog[open]", WAIT).await?;
    browser.click("#delete-confirm").await?;
    browser.wait_for_text("#state", "deleting", WAIT).await?;
    browser.close().await?;
    Ok(())
}

/// The portal's order form grows with the kinds: a ticket-based provider is
/// ordered like any other connector, and its page says which manual step
/// onramp's engineers are on.
#[tokio::test(flavor = "multi_thread")]
async fn a_customer_orders_from_a_ticket_based_provider() -> Result<()> {
    let api = support::inproc::start(false).await?;
    let pe_ids: Vec<uuid::Uuid> = {
        use sea_orm::EntityTrait;
        onramp_store::entity::pe_router::Entity::find()
            .all(&api.db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    onramp_store::seed::seed_ticket_providers(
        &api.db,
        &onramp_store::seed::demo_ticket_providers(0, "ge-0/0/4"),
        &pe_ids,
    )
    .await?;
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = api.user(acme.id, "customer").await?;
    let browser = Browser::start(&artifacts_dir("portal_order_ticket_csp")).await?;
    sign_in(&browser, &api.base, &email, &password).await?;

    browser
        .goto(&format!(
            "{}/portal/connectors/new?kind=ticket-csp",
            api.base
        ))
        .await?;
    browser
        .wait_for("#portal-page[data-page=order][data-ready=true]", WAIT)
        .await?;
    browser
        .wait_for("#f-provider option[value=oracle-fastconnect]", WAIT)
        .await?;
    browser
        .wait_for("#f-location option[value=OCI-ASH]", WAIT)
        .await?;
    // Oracle at IBM's location: the API's rule, shown at the field.
    select(&browser, "#f-provider", "oracle-fastconnect").await?;
    select(&browser, "#f-location", "IBM-WDC").await?;
    browser
        .wait_for("#f-location[aria-invalid=true]", WAIT)
        .await?;
    select(&browser, "#f-location", "OCI-ASH").await?;
    browser
        .wait_for_text("#check-status", "The order is valid.", WAIT)
        .await?;
    browser.click("#review").await?;
    let steps = browser.wait_for_text("#plan", "manual", WAIT).await?;
    assert!(steps.contains("Oracle"), "{steps}");
    browser.click("#confirm").await?;
    browser
        .wait_for("#portal-page[data-page=connector][data-ready=true]", WAIT)
        .await?;
    let values = browser.wait_for_text("main", "step 1 of 2", WAIT).await?;
    assert!(values.contains("Oracle Cloud FastConnect"), "{values}");
    browser.screenshot("ticket-connector").await?;
    browser.close().await?;
    Ok(())
}

/// Picks `value` in the `<select>` at `css` as a person would, firing the
/// events the form listens to.
async fn select(browser: &Browser, css: &str, value: &str) -> Result<()> {
    browser
        .client()
        .execute(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1];
             s.dispatchEvent(new Event('input', {bubbles: true}));
             s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![Value::String(css.into()), Value::String(value.into())],
        )
        .await?;
    Ok(())
}

/// The hosted VIF's port on pe1 in the stack's inventory.
const VIF_PORT: &str = "ge-0/0/1";

/// Scrolls the element at `css` into view, for a screenshot of it.
async fn scroll_to(browser: &Browser, css: &str) -> Result<()> {
    browser
        .client()
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});",
            vec![Value::String(css.into())],
        )
        .await?;
    Ok(())
}

/// A customer changes a live hosted VIF from its page: a bad value is
/// shown at its field, the plan shows what the PE carries now and what it
/// will carry, and once applied the page follows the change live until it
/// is back to `active` with the new values, which the PE, read back over
/// NETCONF, carries.
#[tokio::test(flavor = "multi_thread")]
async fn a_customer_changes_a_live_connector_after_reviewing_the_plan() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let acme = onramp_store::auth::tenant_for_key(&stack.db, &stack.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = ("dana@acme.example", "another-long-password");
    onramp_store::users::create_user(
        &stack.db,
        &onramp_store::users::NewUser {
            tenant_id: acme.id,
            email,
            name: "Dana",
            role: "customer",
            password,
        },
    )
    .await?;

    // Set up through the API: a hosted VIF at 200Mbps, accepted, active.
    let (status, c) = stack
        .order_vif(serde_json::json!({"bandwidth": "200Mbps"}))
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", PROVISION)
        .await?;
    stack.accept_vif(c["vif_id"].as_str().unwrap()).await?;
    let c = stack.wait_state(&id, "active", PROVISION).await?;
    assert_eq!(c["bgp"]["prefix_limit"], 1000, "{c:#}");
    let vlan = c["peering"]["vlan"].as_u64().unwrap() as u16;
    let aws_address = c["peering"]["aws_address"].as_str().unwrap();
    let neighbor = aws_address.split('/').next().unwrap().to_string();
    let before = stack.running("pe1").await?;
    let a = support::attachment(&before, VIF_PORT, vlan, &neighbor).expect("the unit on pe1");
    assert_eq!(a.bandwidth_limit.as_deref(), Some("200000000"));
    assert_eq!(a.prefix_limit.as_deref(), Some("1000"));

    let browser = Browser::start(&artifacts_dir("portal_change_connector")).await?;
    sign_in(&browser, &stack.base, email, password).await?;
    browser
        .goto(&format!("{}/portal/connectors/{id}", stack.base))
        .await?;
    browser
        .wait_for("#portal-page[data-page=connector][data-ready=true]", WAIT)
        .await?;
    browser
        .wait_for("#settings-form:not([hidden])", WAIT)
        .await?;
    browser
        .wait_for("#s-bandwidth option[value='500Mbps']", WAIT)
        .await?;
    assert_eq!(
        browser.text("#values dd[data-fact=prefix_limit]").await?,
        "1000"
    );
    let loaded = marker(&browser).await?;

    // An invalid prefix limit: the API's rule, at the field, and no plan.
    select(&browser, "#s-bandwidth", "500Mbps").await?;
    browser.fill("#s-prefix_limit", "0").await?;
    browser.click("#settings-review").await?;
    let error = browser
        .wait_for_text("#s-prefix_limit-error", "1 to 100000", WAIT)
        .await?;
    assert!(error.contains("not 0"), "{error}");
    browser
        .wait_for("#s-prefix_limit[aria-invalid=true]", WAIT)
        .await?;
    assert!(exists(&browser, "#settings-plan[hidden]").await?);
    scroll_to(&browser, "#settings").await?;
    let shot = browser.screenshot("settings-field-error").await?;
    eprintln!("screenshot: {}", shot.display());

    // Fixed and reviewed: the plan shows what the PE carries now and after.
    browser.fill("#s-prefix_limit", "250").await?;
    browser.click("#settings-review").await?;
    let bw_row = "#settings-plan tr[data-path$='/policer/bandwidth-limit']";
    browser.wait_for(bw_row, WAIT).await?;
    assert!(
        !exists(&browser, "#s-prefix_limit-error").await?,
        "the error stays after the fix"
    );
    assert_eq!(
        browser.text(&format!("{bw_row} td.before")).await?,
        "200000000"
    );
    assert_eq!(
        browser.text(&format!("{bw_row} td.after")).await?,
        "→ 500000000"
    );
    let pl_row = "#settings-plan tr[data-path$='/prefix-limit']";
    assert_eq!(browser.text(&format!("{pl_row} td.before")).await?, "1000");
    assert_eq!(browser.text(&format!("{pl_row} td.after")).await?, "→ 250");
    let plan = browser.text("#settings-plan").await?;
    assert!(plan.contains("pe1"), "{plan}");
    assert!(
        !plan.contains("vlan-id"),
        "an unchanged fact is shown: {plan}"
    );
    scroll_to(&browser, "#settings").await?;
    let shot = browser.screenshot("settings-plan").await?;
    eprintln!("screenshot: {}", shot.display());
    assert_eq!(
        stack.running("pe1").await?,
        before,
        "reviewing changed the PE"
    );

    // Applied: the page follows the change live until it has settled.
    browser.click("#settings-apply").await?;
    browser
        .wait_for_text("#settings-result", "Change applied", PROVISION)
        .await?;
    browser.wait_for("#state[data-state=active]", WAIT).await?;
    assert_eq!(
        browser.text("#values dd[data-fact=prefix_limit]").await?,
        "250"
    );
    let values = browser.text("#values").await?;
    assert!(values.contains("500Mbps"), "{values}");
    assert!(
        exists(&browser, "#settings-form:not([hidden])").await?,
        "the form is not back"
    );
    assert_eq!(
        browser
            .client()
            .execute(
                "return document.querySelector('#s-prefix_limit').value;",
                vec![]
            )
            .await?,
        Value::String("250".into())
    );
    assert_eq!(marker(&browser).await?, loaded, "the page was reloaded");
    browser
        .wait_for("#timeline li[data-state=changing_pe]", WAIT)
        .await?;
    scroll_to(&browser, "#settings").await?;
    let shot = browser.screenshot("settings-applied").await?;
    eprintln!("screenshot: {}", shot.display());

    // The PE carries it.
    let (_, c) = stack.get_json(&format!("/v1/connectors/{id}")).await?;
    assert_eq!(
        (&c["state"], &c["bandwidth"], &c["bgp"]["prefix_limit"]),
        (
            &Value::from("active"),
            &Value::from("500Mbps"),
            &Value::from(250)
        ),
        "{c:#}"
    );
    let after = stack.running("pe1").await?;
    let a = support::attachment(&after, VIF_PORT, vlan, &neighbor).expect("the unit on pe1");
    assert_eq!(a.prefix_limit.as_deref(), Some("250"), "{after}");
    assert_eq!(a.bandwidth_limit.as_deref(), Some("500000000"), "{after}");
    browser.close().await?;
    Ok(())
}

/// An ExpressRoute customer whose private peering onramp runs asks for a
/// new BGP key from the connector page: the plan shows the key replaced on
/// both PEs (never the key) and Microsoft's peering call; applied, both PEs
/// and Microsoft hold the new key.
#[tokio::test(flavor = "multi_thread")]
async fn an_expressroute_customer_rotates_the_bgp_key_from_the_portal() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let acme = onramp_store::auth::tenant_for_key(&stack.db, &stack.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = ("erin@acme.example", "a-third-long-password");
    onramp_store::users::create_user(
        &stack.db,
        &onramp_store::users::NewUser {
            tenant_id: acme.id,
            email,
            name: "Erin",
            role: "customer",
            password,
        },
    )
    .await?;
    let xc = stack
        .azure
        .sim
        .create_circuit(onramp_simulators::azure_er::CreateCircuit {
            peering_location: "Silicon Valley".into(),
            bandwidth_in_mbps: 200,
            circuit_name: None,
            location: None,
        })
        .map_err(anyhow::Error::msg)?;
    let (status, c) = stack
        .post_json(
            "/v1/connectors",
            &serde_json::json!({"kind": "azure-expressroute", "service_key": xc.service_key}),
        )
        .await?;
    assert_eq!(status, 202, "{c:#}");
    let id = c["id"].as_str().unwrap().to_string();
    stack.wait_state(&id, "active", PROVISION).await?;
    let shared_key = || {
        stack
            .azure
            .sim
            .cross_connection(&xc.service_key)
            .and_then(|x| x.private_peering)
            .and_then(|p| p.shared_key)
    };
    let old_key = shared_key().expect("onramp configured the peering");

    let browser = Browser::start(&artifacts_dir("portal_rotate_bgp_key")).await?;
    sign_in(&browser, &stack.base, email, password).await?;
    browser
        .goto(&format!("{}/portal/connectors/{id}", stack.base))
        .await?;
    browser
        .wait_for("#portal-page[data-page=connector][data-ready=true]", WAIT)
        .await?;
    browser
        .wait_for("#s-rotate-field:not([hidden])", WAIT)
        .await?;
    browser.click("#s-rotate_bgp_key").await?;
    browser.click("#settings-review").await?;
    let key_rows = "#settings-plan tr[data-path$='/authentication-key'][data-change=replaced]";
    browser.wait_for(key_rows, WAIT).await?;
    let plan = browser.text("#settings-plan").await?;
    for expected in ["BGP key", "pe1", "pe2", "peerings/AzurePrivatePeering"] {
        assert!(plan.contains(expected), "{expected} missing: {plan}");
    }
    assert!(!plan.contains(&old_key), "the key is shown: {plan}");
    scroll_to(&browser, "#settings").await?;
    let shot = browser.screenshot("rotate-key-plan").await?;
    eprintln!("screenshot: {}", shot.display());
    assert_eq!(
        shared_key().as_deref(),
        Some(old_key.as_str()),
        "reviewing changed it"
    );

    browser.click("#settings-apply").await?;
    browser
        .wait_for_text("#settings-result", "Change applied: BGP key", PROVISION)
        .await?;
    browser.wait_for("#state[data-state=active]", WAIT).await?;
    browser
        .wait_for("#timeline li[data-state=rotating_peering_key]", WAIT)
        .await?;
    scroll_to(&browser, "#settings").await?;
    let shot = browser.screenshot("rotate-key-applied").await?;
    eprintln!("screenshot: {}", shot.display());
    let new_key = shared_key().expect("the peering keeps a key");
    assert_ne!(new_key, old_key);
    for pe in ["pe1", "pe2"] {
        let running = stack.running(pe).await?;
        assert!(running.contains(&new_key), "{pe} lacks the new key");
        assert!(!running.contains(&old_key), "{pe} keeps the old key");
    }
    browser.close().await?;
    Ok(())
}

/// The KPI charts, on a lab whose PEs are scraped by Prometheus: a hosted
/// VIF's bitrate, session and routes on its page; a link's latency, jitter
/// and loss with the SLA drawn, its status turning `breached` when loss is
/// injected at a PE.
#[tokio::test(flavor = "multi_thread")]
async fn a_customer_sees_the_kpis_and_the_sla_of_a_link() -> Result<()> {
    let stack = Stack::start_with(
        Db::Sqlite,
        support::StackOptions {
            telemetry: true,
            ..support::StackOptions::default()
        },
    )
    .await?;
    let acme = onramp_store::auth::tenant_for_key(&stack.db, &stack.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = ("kim@acme.example", "a-fourth-long-password");
    onramp_store::users::create_user(
        &stack.db,
        &onramp_store::users::NewUser {
            tenant_id: acme.id,
            email,
            name: "Kim",
            role: "customer",
            password,
        },
    )
    .await?;
    let vif = stack
        .active_vif(serde_json::json!({"bandwidth": "200Mbps"}))
        .await?;
    let gcp = stack.active_gcp("BPS_500M").await?;
    let (status, l) = stack
        .post_json(
            "/v1/links",
            &serde_json::json!({"name": "dc-to-clouds", "connectors": [vif["id"], gcp["id"]]}),
        )
        .await?;
    assert_eq!(status, 202, "{l:#}");
    let link = l["id"].as_str().unwrap().to_string();
    // Wait until Prometheus holds a few points of each, through the API.
    let vif_id = vif["id"].as_str().unwrap();
    for path in [
        format!("/v1/connectors/{vif_id}/metrics"),
        format!("/v1/links/{link}/metrics"),
    ] {
        let started = std::time::Instant::now();
        loop {
            let (_, m) = stack.get_json(&format!("{path}?step=1")).await?;
            let points = |metric: &str| {
                m["series"].as_array().into_iter().flatten().any(|s| {
                    s["metric"] == metric && s["points"].as_array().is_some_and(|p| p.len() >= 3)
                })
            };
            if points("in_bps") || points("loss_percent") {
                break;
            }
            anyhow::ensure!(started.elapsed() < PROVISION, "no metrics at {path}: {m:#}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    let browser = Browser::start(&artifacts_dir("portal_kpis")).await?;
    sign_in(&browser, &stack.base, email, password).await?;
    browser
        .goto(&format!("{}/portal/connectors/{vif_id}", stack.base))
        .await?;
    browser
        .wait_for("#portal-page[data-page=connector][data-ready=true]", WAIT)
        .await?;
    browser.wait_for("#kpi-charts[data-loaded]", WAIT).await?;
    // The last 15 minutes: a point every 4 s, so a line already.
    select(&browser, "#kpi-range", "900").await?;
    browser
        .wait_for(
            "#kpi-charts figure[data-metric=bitrate] path.chart-line[data-series='in pe1']:not([data-points='1'])",
            WAIT,
        )
        .await?;
    let caption = browser
        .text("#kpi-charts figure[data-metric=bitrate] figcaption")
        .await?;
    assert!(caption.contains("Mbit/s"), "{caption}");
    let bgp = browser
        .text("#kpi-charts figure[data-metric=bgp] figcaption")
        .await?;
    assert!(bgp.contains("pe1: up"), "{bgp}");
    scroll_to(&browser, "#kpis").await?;
    let shot = browser.screenshot("connector-kpis").await?;
    eprintln!("screenshot: {}", shot.display());

    browser
        .goto(&format!("{}/portal/links/{link}", stack.base))
        .await?;
    browser
        .wait_for("#portal-page[data-page=link][data-ready=true]", WAIT)
        .await?;
    browser
        .wait_for("#sla-status[data-status=met]", WAIT)
        .await?;
    browser
        .wait_for(
            "#kpi-charts figure[data-metric=loss] line.chart-threshold[data-threshold='1']",
            WAIT,
        )
        .await?;
    select(&browser, "#kpi-range", "900").await?;
    browser
        .wait_for(
            "#kpi-charts figure[data-metric=latency] path.chart-line[data-series='pe1 → pe2']:not([data-points='1'])",
            WAIT,
        )
        .await?;

    // Loss at pe2: the SLA is breached, and the page says so once it
    // reads the link again.
    let telemetry = stack.telemetry.as_ref().expect("telemetry");
    telemetry
        .lab
        .agent("pe2")
        .expect("pe2")
        .knobs
        .set_loss_percent(60.0);
    let started = std::time::Instant::now();
    loop {
        let (_, l) = stack.get_json(&format!("/v1/links/{link}")).await?;
        if l["sla"]["status"] == "breached" {
            break;
        }
        anyhow::ensure!(started.elapsed() < PROVISION, "never breached: {l:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser
        .goto(&format!("{}/portal/links/{link}", stack.base))
        .await?;
    browser
        .wait_for("#sla-status[data-status=breached]", WAIT)
        .await?;
    select(&browser, "#kpi-range", "900").await?;
    browser
        .wait_for(
            "#kpi-charts figure[data-metric=loss] path.chart-line:not([data-points='1'])",
            WAIT,
        )
        .await?;
    scroll_to(&browser, "#kpis").await?;
    let shot = browser.screenshot("link-kpis-sla-breached").await?;
    eprintln!("screenshot: {}", shot.display());
    browser.close().await?;
    Ok(())
}
