//! Signing in to the web front ends, in process over SQLite:
//! - a wrong password, an unknown email and a disabled user are refused
//!   alike, and no cookie is set;
//! - a session cookie works as an API credential, but a change made with it
//!   needs the session's CSRF token (403 naming the header otherwise);
//! - signing out ends the session, also for the API;
//! - pages redirect to sign-in, and back afterwards (`next`), only ever to
//!   a path on this site.

mod support;

use anyhow::Result;
use serde_json::json;
use support::inproc::start;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sign_in_session_csrf_and_sign_out() -> Result<()> {
    let api = start(false).await?;
    let http = no_redirects();
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = api.user(acme.id, "customer").await?;

    // Refusals: the same page and status, and no cookie.
    for (e, p) in [
        (email.as_str(), "wrong password"),
        ("nobody@example.test", password.as_str()),
    ] {
        let r = http
            .post(format!("{}/login", api.base))
            .form(&[("email", e), ("password", p)])
            .send()
            .await?;
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none());
        let html = r.text().await?;
        assert!(
            html.contains("The email or the password is wrong."),
            "{html}"
        );
    }
    let r = http
        .post(format!("{}/login", api.base))
        .form(&[("email", ""), ("password", "")])
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    let html = r.text().await?;
    assert!(html.contains("Enter your email address.") && html.contains("Enter your password."));

    // Signed in: customers land on the portal; the page asked for wins.
    let r = http
        .post(format!("{}/login", api.base))
        .form(&[
            ("email", email.as_str()),
            ("password", password.as_str()),
            ("next", "//evil.example/"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/portal");
    let set = r.headers()["set-cookie"].to_str()?.to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    // Behind a TLS-terminating proxy the cookie is `Secure`.
    let r = http
        .post(format!("{}/login", api.base))
        .header("x-forwarded-proto", "https")
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await?;
    assert!(r.headers()["set-cookie"].to_str()?.ends_with("; Secure"));
    assert!(
        !set.contains("Secure"),
        "plain HTTP got a Secure cookie: {set}"
    );
    let s = api.sign_in(&email, &password).await?;

    // The cookie reads the API as the user's tenant.
    let r = http
        .get(format!("{}/v1/connectors", api.base))
        .header("cookie", &s.cookie)
        .send()
        .await?;
    assert_eq!(r.status(), 200);

    // A change without the CSRF token is refused and makes nothing.
    let order = json!({"kind": "aws-hosted-vif", "aws_account_id": "123456789012",
                       "location": "EqDC2", "bandwidth": "50Mbps"});
    for token in [None, Some("not-the-token")] {
        let mut req = http
            .post(format!("{}/v1/connectors", api.base))
            .header("cookie", &s.cookie)
            .json(&order);
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let r = req.send().await?;
        assert_eq!(r.status(), 403);
        let p: serde_json::Value = r.json().await?;
        assert_eq!(p["code"], "csrf_token_mismatch");
        assert_eq!(p["errors"][0]["field"], "x-csrf-token");
    }
    let none = onramp_store::connectors::list_page(
        &api.db,
        &onramp_store::connectors::ConnectorFilter {
            tenant: Some(acme.id),
            ..Default::default()
        },
        None,
        10,
    )
    .await?;
    assert!(none.is_empty(), "a refused request created {none:?}");
    let r = http
        .post(format!("{}/v1/connectors", api.base))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .json(&order)
        .send()
        .await?;
    assert_eq!(r.status(), 202, "{}", r.text().await?);

    // Sign-out needs the token too, then ends the session everywhere.
    let r = http
        .post(format!("{}/logout", api.base))
        .header("cookie", &s.cookie)
        .form(&[("csrf_token", "forged")])
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{}/logout", api.base))
        .header("cookie", &s.cookie)
        .form(&[("csrf_token", s.csrf.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["set-cookie"].to_str()?.contains("Max-Age=0"));
    let r = http
        .get(format!("{}/v1/connectors", api.base))
        .header("cookie", &s.cookie)
        .send()
        .await?;
    assert_eq!(r.status(), 401);

    // A disabled user cannot sign in any more.
    let user = onramp_store::users::list_users(&api.db, acme.id).await?;
    onramp_store::users::disable_user(&api.db, acme.id, user[0].id).await?;
    let r = http
        .post(format!("{}/login", api.base))
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    Ok(())
}

#[tokio::test]
async fn pages_send_strangers_to_sign_in_and_serve_assets() -> Result<()> {
    let api = start(false).await?;
    let http = no_redirects();
    let r = http.get(format!("{}/", api.base)).send().await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    let r = http
        .get(format!("{}/login?next=/console", api.base))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str()?.to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = r.text().await?;
    // minijinja escapes `/` too.
    assert!(
        html.contains(r#"name="next" value="&#x2f;console""#),
        "{html}"
    );
    // Nothing on the page comes from elsewhere.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for (asset, ty) in [("onramp.css", "text/css"), ("onramp.js", "text/javascript")] {
        let r = http
            .get(format!("{}/assets/{asset}", api.base))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str()?.starts_with(ty));
    }
    let r = http
        .get(format!("{}/assets/nope.js", api.base))
        .send()
        .await?;
    assert_eq!(r.status(), 404);
    Ok(())
}

#[tokio::test]
async fn admins_create_and_delete_users() -> Result<()> {
    let api = start(false).await?;
    let (_operator, admin) = api.tenant_with_key("Operator", "admin").await?;
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let users = format!("/v1/admin/tenants/{}/users", acme.id);

    // Every bad field at once, and nothing created.
    let r = api
        .call(
            "POST",
            &users,
            &admin,
            Some(json!({"email": "ana", "name": "", "role": "root", "password": "short"})),
            &[],
        )
        .await?;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["email", "name", "role", "password"]);
    // A customer key may not create people.
    let r = api
        .call(
            "POST",
            &users,
            &api.key,
            Some(
                json!({"email": "ana@acme.example", "name": "Ana", "role": "customer",
                        "password": "a long enough password"}),
            ),
            &[],
        )
        .await?;
    assert_eq!(r.status, 403);
    assert!(
        onramp_store::users::list_users(&api.db, acme.id)
            .await?
            .is_empty()
    );

    let body = json!({"email": "Ana@Acme.example", "name": "Ana", "role": "customer",
                      "password": "a long enough password"});
    let r = api
        .call("POST", &users, &admin, Some(body.clone()), &[])
        .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["email"], "ana@acme.example");
    assert!(r.body.get("password").is_none() && !r.body.to_string().contains("long enough"));
    let url = r.header("location").unwrap();
    let r = api.call("POST", &users, &admin, Some(body), &[]).await?;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_fields(), ["email"]);

    let s = api
        .sign_in("ana@acme.example", "a long enough password")
        .await?;
    let r = api.call("GET", &users, &admin, None, &[]).await?;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    // Deleting ends the session at once and keeps the record.
    let r = api.call("DELETE", &url, &admin, None, &[]).await?;
    assert_eq!(r.status, 200);
    assert!(r.body["disabled_at"].is_string());
    let r = no_redirects()
        .get(format!("{}/v1/connectors", api.base))
        .header("cookie", &s.cookie)
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    assert!(
        api.sign_in("ana@acme.example", "a long enough password")
            .await
            .is_err()
    );
    let r = api.call("GET", &url, &admin, None, &[]).await?;
    assert_eq!(r.status, 200);
    let other = format!(
        "/v1/admin/tenants/{}/users/{}",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    );
    assert_eq!(
        api.call("GET", &other, &admin, None, &[]).await?.status,
        404
    );
    Ok(())
}

#[tokio::test]
async fn repeated_failures_lock_the_email_for_a_while() -> Result<()> {
    let api = start(false).await?;
    let http = no_redirects();
    let acme = onramp_store::auth::tenant_for_key(&api.db, &api.key)
        .await?
        .unwrap()
        .0;
    let (email, password) = api.user(acme.id, "customer").await?;
    let (other, other_password) = api.user(acme.id, "customer").await?;
    for _ in 0..10 {
        let r = http
            .post(format!("{}/login", api.base))
            .form(&[("email", email.as_str()), ("password", "guess")])
            .send()
            .await?;
        assert_eq!(r.status(), 401);
    }
    // Now even the right password is refused, with a time to come back.
    let r = http
        .post(format!("{}/login", api.base))
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await?;
    assert_eq!(r.status(), 429);
    assert!(r.headers()["retry-after"].to_str()?.parse::<u64>()? > 0);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await?.contains("Too many failed sign-ins"));
    // Other people are not affected.
    api.sign_in(&other, &other_password).await?;
    Ok(())
}
