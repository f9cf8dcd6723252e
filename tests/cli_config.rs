//! Bad configuration stops a process at start-up with a message that names
//! the setting, before it touches anything.

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onramp"));
    cmd.args(args)
        .env_remove("ONRAMP_SECRET_KEY")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display()),
        )
        .env("ONRAMP_LISTEN", "127.0.0.1:0")
        .env("ONRAMP_WORKER_LISTEN", "127.0.0.1:0")
        .env_remove("ONRAMP_LOG_FORMAT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_and_worker_refuse_to_start_without_a_secret_key() {
    for role in ["serve", "worker"] {
        let (ok, err) = run(&[role], &[]);
        assert!(!ok, "{role} started without a key");
        assert!(err.contains("--secret-key"), "{role}: {err}");
    }
}

#[test]
fn a_malformed_secret_key_is_named() {
    for key in ["not base64!", "c2hvcnQ="] {
        let (ok, err) = run(&["serve"], &[("ONRAMP_SECRET_KEY", key)]);
        assert!(!ok);
        assert!(
            err.contains("ONRAMP_SECRET_KEY is unusable") && err.contains("32 bytes"),
            "{err}"
        );
    }
}

#[test]
fn an_unreachable_database_is_named() {
    let key = onramp_store::secrets::SecretBox::generate_base64_key();
    let (ok, err) = run(
        &["serve"],
        &[
            ("ONRAMP_SECRET_KEY", &key),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
            // Gives up after 1 s instead of the default 30.
            ("ONRAMP_DATABASE_WAIT", "1"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("opening database postgres://nobody@127.0.0.1:1/none"),
        "{err}"
    );
}

#[test]
fn half_configured_cloud_credentials_are_named() {
    let key = onramp_store::secrets::SecretBox::generate_base64_key();
    for role in ["serve", "worker"] {
        let (ok, err) = run(
            &[role],
            &[
                ("ONRAMP_SECRET_KEY", &key),
                (
                    "ONRAMP_AZURE_CLIENT_ID",
                    "0a1b2c3d-0000-4000-8000-0000000000bb",
                ),
                (
                    "ONRAMP_AZURE_TENANT_ID",
                    "72f988bf-0000-4000-8000-0000000000aa",
                ),
            ],
        );
        assert!(!ok, "{role} started with half the Azure settings");
        assert!(
            err.contains("ONRAMP_AZURE_CLIENT_SECRET is required"),
            "{role}: {err}"
        );
    }
    let (ok, err) = run(
        &["worker"],
        &[
            ("ONRAMP_SECRET_KEY", &key),
            ("ONRAMP_GCP_PROJECT", "onramp-partner"),
            ("ONRAMP_GCP_COMPUTE_URL", "compute.googleapis.com"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("ONRAMP_GCP_COMPUTE_URL must be an http(s) URL"),
        "{err}"
    );
}

#[test]
fn a_bad_log_format_or_worker_listener_is_named() {
    let key = onramp_store::secrets::SecretBox::generate_base64_key();
    let (ok, err) = run(
        &["serve"],
        &[("ONRAMP_SECRET_KEY", &key), ("ONRAMP_LOG_FORMAT", "xml")],
    );
    assert!(!ok);
    assert!(
        err.contains("--log-format") && err.contains("text") && err.contains("json"),
        "{err}"
    );
    let (ok, err) = run(
        &["worker"],
        &[
            ("ONRAMP_SECRET_KEY", &key),
            ("ONRAMP_WORKER_LISTEN", "localhost-ish"),
        ],
    );
    assert!(!ok);
    assert!(err.contains("--listen"), "{err}");
    // A port someone else has: the worker stops before touching anything.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, err) = run(
        &["worker"],
        &[("ONRAMP_SECRET_KEY", &key), ("ONRAMP_WORKER_LISTEN", &addr)],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("binding the worker's signals listener {addr}")),
        "{err}"
    );
}

#[test]
fn bootstrap_prints_an_admin_key_and_creates_the_admin() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
    let boot = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onramp"));
        cmd.args(["bootstrap", "--admin-email", "root@operator.example"])
            .env("DATABASE_URL", &url)
            .env_remove("ONRAMP_BOOTSTRAP_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // A missing or short password stops it before anything is created.
    for env in [&[][..], &[("ONRAMP_BOOTSTRAP_PASSWORD", "short")][..]] {
        let out = boot(env);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ONRAMP_BOOTSTRAP_PASSWORD"), "{err}");
    }
    assert!(
        !dir.path().join("b.db").exists(),
        "a refused bootstrap touched the database"
    );
    let out = boot(&[("ONRAMP_BOOTSTRAP_PASSWORD", "a long bootstrap password")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(key.starts_with("onr_"), "{key}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = onramp_store::connect(&url).await.unwrap();
        let (t, role) = onramp_store::auth::tenant_for_key(&db, &key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((t.name.as_str(), role.as_str()), ("operator", "admin"));
        let (u, _) = onramp_store::users::authenticate(
            &db,
            "root@operator.example",
            "a long bootstrap password",
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!((u.role.as_str(), u.tenant_id), ("admin", t.id));
    });
    // Run again, the same email is refused, and no second key is printed.
    let out = boot(&[("ONRAMP_BOOTSTRAP_PASSWORD", "a long bootstrap password")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}
