//! The customer portal's server side and the BGP key reveal, in process
//! over SQLite, without workers:
//! - `POST /v1/connectors/{id}/bgp-key/reveal` opens the key the order
//!   sealed, for the owner only (another tenant gets exactly the 404 of an id
//!   that does not exist), with `Cache-Control: no-store`; a session needs
//!   its CSRF token; an `Idempotency-Key` replay withholds the key; with the
//!   policy `deny` it is 403 `reveal_disabled` (and still 404 for others);
//! - portal pages: sign-in first; staff get a page pointing to the console;
//!   another tenant's connector or link is the same 404 page as a missing
//!   one; every page is script-free HTML under the strict CSP.

mod support;

use anyhow::Result;
use onramp_api::bgp_key::RevealPolicy;
use onramp_store::model::Resources;
use support::inproc::{Api, start};
use uuid::Uuid;

fn reveal_path(id: impl std::fmt::Display) -> String {
    format!("/v1/connectors/{id}/bgp-key/reveal")
}

/// The key the order sealed, read from the database.
async fn sealed_key(api: &Api, id: Uuid) -> Result<String> {
    let row = onramp_store::connectors::get(&api.db, id).await?.unwrap();
    let res = Resources::from_json(&row.resources)?;
    Ok(api.secrets.open(&res.auth_key_sealed)?)
}

/// A second API process over the same database, with reveals denied.
async fn denying_server(api: &Api) -> Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = onramp_api::AppState::new(api.db.clone(), api.secrets.clone())
        .with_bgp_key_reveal(RevealPolicy::Deny);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(onramp_web::serve(listener, state, async {
        let _ = rx.await;
    }));
    Ok((base, tx))
}

#[tokio::test]
async fn bgp_key_reveal_is_for_the_owner_and_the_policy() -> Result<()> {
    let api = start(false).await?;
    let id = api.order_vif_as(&api.key).await?;
    let key = sealed_key(&api, id).await?;
    assert_eq!(key.len(), 24);

    // The owner, with an API key.
    let r = api
        .call("POST", &reveal_path(id), &api.key, None, &[])
        .await?;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.body["bgp_key"], key.as_str());
    assert_eq!(r.body["connector_id"], id.to_string());
    // The connector's representation still never carries it.
    let c = api
        .call("GET", &format!("/v1/connectors/{id}"), &api.key, None, &[])
        .await?;
    assert!(!c.body.to_string().contains(&key));

    // A replay of an idempotent reveal withholds the key.
    let idem = [("Idempotency-Key", "reveal-once-0001")];
    let first = api
        .call("POST", &reveal_path(id), &api.key, None, &idem)
        .await?;
    assert_eq!(first.body["bgp_key"], key.as_str());
    let again = api
        .call("POST", &reveal_path(id), &api.key, None, &idem)
        .await?;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert!(again.body["bgp_key"].is_null(), "{:#}", again.body);

    // The owner, signed in: the session needs its CSRF token.
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = api.user(acme.id, "customer").await?;
    let s = api.sign_in(&email, &password).await?;
    let url = format!("{}{}", api.base, reveal_path(id));
    let r = api
        .http
        .post(&url)
        .header("cookie", &s.cookie)
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    let r = api
        .http
        .post(&url)
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["bgp_key"], key.as_str());

    // Another tenant: the 404 of an id that does not exist, word for word.
    let (_, other) = api.tenant_with_key("Beta", "customer").await?;
    let theirs = api
        .call("POST", &reveal_path(id), &other, None, &[])
        .await?;
    assert_eq!(theirs.status, 404);
    assert_eq!(theirs.body["code"], "not_found");
    let nobody = Uuid::new_v4();
    let missing = api
        .call("POST", &reveal_path(nobody), &other, None, &[])
        .await?;
    assert_eq!(
        missing.body.to_string().replace(&nobody.to_string(), "ID"),
        theirs.body.to_string().replace(&id.to_string(), "ID")
    );
    assert!(!theirs.body.to_string().contains(&key));
    let bad = api
        .call("POST", &reveal_path("nope"), &api.key, None, &[])
        .await?;
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (404, Some("not_found"))
    );
    let none = api
        .http
        .post(format!("{}{}", api.base, reveal_path(id)))
        .send()
        .await?;
    assert_eq!(none.status(), 401);

    // The operator turned reveals off.
    let (deny_base, _stop) = denying_server(&api).await?;
    let r = api
        .http
        .post(format!("{deny_base}{}", reveal_path(id)))
        .bearer_auth(&api.key)
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    let p: serde_json::Value = r.json().await?;
    assert_eq!(p["code"], "reveal_disabled");
    assert!(!p.to_string().contains(&key));
    let r = api
        .http
        .post(format!("{deny_base}{}", reveal_path(id)))
        .bearer_auth(&other)
        .send()
        .await?;
    assert_eq!(r.status(), 404, "tenancy is checked before the policy");
    // And the portal does not offer the button.
    let page = api
        .http
        .get(format!("{deny_base}/portal/connectors/{id}"))
        .header("cookie", &s.cookie)
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let html = page.text().await?;
    assert!(!html.contains("id=\"reveal\""), "{html}");
    assert!(html.contains("does not show BGP keys"));
    Ok(())
}

#[tokio::test]
async fn portal_pages_are_per_tenant_and_for_customers() -> Result<()> {
    let api = start(false).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let a_conn = api.order_vif_as(&api.key).await?;
    let (email, password) = api.user(acme.id, "customer").await?;
    let a = api.sign_in(&email, &password).await?;
    let (beta, _) = api.tenant_with_key("Beta", "customer").await?;
    let (email, password) = api.user(beta, "customer").await?;
    let b = api.sign_in(&email, &password).await?;

    // Signed out: to sign-in, and back afterwards.
    let r = http.get(format!("{}/portal", api.base)).send().await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/portal");

    let get = |path: String, cookie: String| {
        let http = http.clone();
        let base = api.base.clone();
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await?;
            let status = r.status().as_u16();
            let csp = r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap_or_default().to_string())
                .unwrap_or_default();
            anyhow::Ok((status, csp, r.text().await?))
        }
    };

    // Every page, for its owner: the frame, under the strict CSP, with no
    // inline script or style.
    for path in [
        "/portal".to_string(),
        "/portal/connectors/new".into(),
        format!("/portal/connectors/{a_conn}"),
        "/portal/keys".into(),
        "/portal/links".into(),
    ] {
        let (status, csp, html) = get(path.clone(), a.cookie.clone()).await?;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(html.contains("id=\"portal-page\""), "{path}");
        assert!(html.contains("/assets/portal.js"), "{path}");
        assert!(!html.contains("<script>"), "{path}: inline script");
        assert!(!html.contains(" style="), "{path}: inline style");
        assert!(!html.contains("<style"), "{path}: inline style");
    }
    for asset in ["portal.js", "portal-kinds.js"] {
        let r = http
            .get(format!("{}/assets/{asset}", api.base))
            .send()
            .await?;
        assert_eq!(r.status(), 200, "{asset}");
    }

    // Another tenant's connector and link: the page of one that does not exist.
    let (status, _, theirs) = get(format!("/portal/connectors/{a_conn}"), b.cookie.clone()).await?;
    assert_eq!(status, 404);
    assert!(theirs.contains("No such connector"), "{theirs}");
    let nobody = Uuid::new_v4();
    let (status, _, missing) =
        get(format!("/portal/connectors/{nobody}"), b.cookie.clone()).await?;
    assert_eq!(status, 404);
    assert_eq!(
        missing.replace(&nobody.to_string(), "ID"),
        theirs.replace(&a_conn.to_string(), "ID")
    );
    let (status, _, _) = get("/portal/connectors/not-an-id".into(), b.cookie.clone()).await?;
    assert_eq!(status, 404);
    let (status, _, page) = get(format!("/portal/links/{nobody}"), b.cookie.clone()).await?;
    assert_eq!(status, 404);
    assert!(page.contains("No such link"));

    // Staff are sent to the console.
    let (email, password) = api.user(acme.id, "ops").await?;
    let ops = api.sign_in(&email, &password).await?;
    let (status, _, page) = get("/portal".into(), ops.cookie.clone()).await?;
    assert_eq!(status, 403);
    assert!(page.contains("ops console"), "{page}");
    Ok(())
}

/// The portal changes a connector with the session cookie; its `If-Match`
/// is checked against the connector as that person reads it, like an API
/// key's (it once went unchecked: the re-read carried no cookie).
#[tokio::test(flavor = "multi_thread")]
async fn a_session_s_stale_if_match_is_a_412() -> Result<()> {
    let api = start(false).await?;
    let id = api.order_vif_as(&api.key).await?;
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = api.user(acme.id, "customer").await?;
    let s = api.sign_in(&email, &password).await?;
    let r = api
        .http
        .patch(format!("{}/v1/connectors/{id}", api.base))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header("if-match", "\"not-the-current-one\"")
        .json(&serde_json::json!({"prefix_limit": 200}))
        .send()
        .await?;
    assert_eq!(r.status(), 412);
    Ok(())
}
