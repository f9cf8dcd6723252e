//! Operator signals (issue 19) against the real stack: after orders go
//! through, the API's and a worker's `/metrics` carry every series named in
//! docs/decisions/0016 with values that follow from what happened (a
//! throttled AWS call counted as one, a PE commit of at least one change, a
//! webhook delivered, an overdue ops task counted); the request id a client
//! sends comes back and is in the API's log line and in the worker's lines
//! for the jobs the request caused, past the PE writer; a worker's `/readyz`
//! turns 503 naming NATS while nats-server is down and 200 once it is back;
//! `--log-format json` writes one JSON object per line.
//!
//! Every wait is for a condition, with a deadline; nothing sleeps and then
//! asserts.

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use onramp_store::entity::{ops_task, pe_router};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use support::{Db, Stack, StackOptions, strip_ansi};

/// Generous: CI is a loaded two-core box.
const T: Duration = Duration::from_secs(90);

// ===== the exposition format =====

/// One sample line: `name{k="v",...} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, labels(rest.strip_suffix('}')?)),
                None => (series, BTreeMap::new()),
            };
            Some(Sample {
                name: name.to_string(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// `k="v",k2="v2"`; values may hold `{`, `}`, `/` and `,` (route templates).
fn labels(mut s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while let Some((key, rest)) = s.split_once("=\"") {
        let Some(end) = rest.find('"') else { break };
        out.insert(
            key.trim_start_matches(',').to_string(),
            rest[..end].to_string(),
        );
        s = &rest[end + 1..];
    }
    out
}

/// The sum of `name` over the samples whose labels include `want`, or
/// `None` when no sample matches.
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// `GET base/metrics`, with `key` as the bearer token (the API's needs an
/// ops or admin key; a worker's listener takes none).
async fn scrape(
    http: &reqwest::Client,
    base: &str,
    key: Option<&str>,
) -> Result<(String, Vec<Sample>)> {
    let mut req = http.get(format!("{base}/metrics"));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await?;
    ensure!(r.status() == 200, "GET {base}/metrics: {}", r.status());
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    ensure!(ct.starts_with("text/plain"), "content-type {ct}");
    let text = r.text().await?;
    let samples = parse(&text);
    Ok((text, samples))
}

/// Scrapes `base` until `check` passes on what it reads, failing with the
/// last reason and the last page after `T`.
async fn until_metrics(
    stack: &Stack,
    base: &str,
    what: &str,
    check: impl Fn(&[Sample]) -> Result<(), String>,
) -> Result<Vec<Sample>> {
    let start = Instant::now();
    loop {
        let (text, samples) = scrape(&stack.http, base, None).await?;
        match check(&samples) {
            Ok(()) => return Ok(samples),
            Err(why) if start.elapsed() > T => {
                bail!("{what}: {why} after {T:?}\n{text}\n{}", stack.logs())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `name{want}` is at least `min`.
fn at_least(samples: &[Sample], name: &str, want: &[(&str, &str)], min: f64) -> Result<(), String> {
    match value(samples, name, want) {
        Some(v) if v >= min => Ok(()),
        Some(v) => Err(format!("{name}{want:?} = {v}, want >= {min}")),
        None => Err(format!("no {name}{want:?}")),
    }
}

async fn until<F, Fut>(what: &str, check: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let start = Instant::now();
    while !check().await? {
        if start.elapsed() > T {
            bail!("{what}: not within {T:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Every complete line of a JSON log, each parsed (failing on one that is
/// not JSON); a line still being written is left for the next look.
fn json_lines(log: &std::path::Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(log)?;
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("a log line is not JSON: {l}")))
        .collect()
}

// ===== a webhook receiver =====

/// Answers 204 to every POST and counts them.
async fn receiver() -> Result<(String, Arc<AtomicU64>)> {
    let hits = Arc::new(AtomicU64::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, hits))
}

// ===== the tests =====

/// Orders through the live stack, then reads both `/metrics`.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_after_orders_and_the_request_id_across_processes() -> Result<()> {
    let stack = Stack::start(Db::Sqlite).await?;
    let pe1 = pe_router::Entity::find()
        .filter(pe_router::Column::Name.eq("pe1"))
        .one(&stack.db)
        .await?
        .context("pe1 seeded")?;
    onramp_store::seed::seed_ticket_providers(
        &stack.db,
        &onramp_store::seed::demo_ticket_providers(0, "ge-0/0/4"),
        &[pe1.id],
    )
    .await?;
    let (hook, hits) = receiver().await?;
    let (status, body) = stack
        .post_json("/v1/webhooks", &json!({"url": hook}))
        .await?;
    ensure!(status == 201, "webhook: {status} {body:#}");
    // AWS throttles the allocation twice: the SDK's own retry, then the
    // job's, so exactly one throttled call is counted before it succeeds.
    stack
        .sim
        .sim
        .inject_fault(onramp_simulators::aws_dx::Fault {
            operation: "AllocatePrivateVirtualInterface".into(),
            message: "Rate exceeded".into(),
            count: 2,
            status: 400,
            error_type: Some("ThrottlingException".into()),
        });

    // The order, with the client's own request id.
    let request_id = format!("order-{}", uuid::Uuid::new_v4());
    let r = stack
        .http
        .post(stack.url("/v1/connectors"))
        .bearer_auth(&stack.key)
        .header("x-request-id", &request_id)
        .json(
            &json!({"kind": "aws-hosted-vif", "aws_account_id": support::CUSTOMER_ACCOUNT,
                      "location": "EqDC2", "bandwidth": "1Gbps"}),
        )
        .send()
        .await?;
    ensure!(r.status() == 202, "order: {}", r.status());
    assert_eq!(
        r.headers()["x-request-id"].to_str()?,
        request_id,
        "the client's id comes back"
    );
    let c: Value = r.json().await?;
    let id = c["id"].as_str().context("id")?.to_string();
    let c = stack
        .wait_state(&id, "waiting_customer_acceptance", T)
        .await?;
    stack
        .accept_vif(c["vif_id"].as_str().context("vif_id")?)
        .await?;
    stack.wait_state(&id, "active", T).await?;

    // A ticket provider's order whose first task a person has let slip.
    let (status, t) = stack
        .post_json(
            "/v1/connectors",
            &json!({"kind": "ticket-csp", "provider": "oracle-fastconnect",
                    "location": "OCI-ASH", "bandwidth": "1Gbps"}),
        )
        .await?;
    ensure!(status == 202, "ticket order: {status} {t:#}");
    let ticket: uuid::Uuid = t["id"].as_str().context("id")?.parse()?;
    let task_of = || async {
        Ok::<_, anyhow::Error>(
            ops_task::Entity::find()
                .filter(ops_task::Column::ConnectorId.eq(ticket))
                .one(&stack.db)
                .await?,
        )
    };
    until("the ticket's ops task opens", || async {
        Ok(task_of().await?.is_some())
    })
    .await?;
    let task = task_of().await?.context("task")?;
    let mut late: ops_task::ActiveModel = task.into();
    late.due_at = Set(chrono::Utc::now() - chrono::TimeDelta::hours(1));
    late.update(&stack.db).await?;

    // The API: for the operator's staff only.
    let metrics = stack.url("/metrics");
    let r = stack.http.get(&metrics).send().await?;
    assert_eq!(r.status().as_u16(), 401, "no key");
    let r = stack
        .http
        .get(&metrics)
        .bearer_auth(&stack.key)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403, "a customer's key");
    let (_, ops) = onramp_store::seed::create_tenant_with_key(
        &stack.db,
        "Operator",
        "prometheus",
        onramp_store::auth::ROLE_OPS,
    )
    .await?;
    // The order's latency under its route template, as a histogram
    // (buckets, not a summary); no connector id in any label.
    let (api_text, api) = scrape(&stack.http, &stack.base, Some(&ops.secret)).await?;
    assert!(
        api_text.contains("# TYPE onramp_http_request_duration_seconds histogram"),
        "{api_text}"
    );
    for (route, method, status, min) in [
        ("/v1/connectors", "POST", "202", 2.0),
        ("/v1/connectors/{id}", "GET", "200", 1.0),
    ] {
        at_least(
            &api,
            "onramp_http_request_duration_seconds_count",
            &[("route", route), ("method", method), ("status", status)],
            min,
        )
        .map_err(anyhow::Error::msg)?;
    }
    let sum = value(
        &api,
        "onramp_http_request_duration_seconds_sum",
        &[("route", "/v1/connectors"), ("method", "POST")],
    )
    .context("request latency sum")?;
    assert!(sum > 0.0 && sum < 120.0, "two orders took {sum} s");
    assert!(!api_text.contains(&id), "a connector id became a label");

    // The worker.
    let worker = stack.worker_signals().await?;
    let vif = [("kind", "aws-hosted-vif")];
    let samples = until_metrics(&stack, &worker, "the worker's series", |s| {
        at_least(
            s,
            "onramp_jobs_total",
            &[vif[0], ("action", "push_pe_config"), ("outcome", "queued")],
            1.0,
        )?;
        at_least(
            s,
            "onramp_jobs_total",
            &[vif[0], ("action", "allocate_vif"), ("outcome", "done")],
            1.0,
        )?;
        at_least(
            s,
            "onramp_jobs_total",
            &[vif[0], ("action", "poll_vif")],
            1.0,
        )?;
        at_least(
            s,
            "onramp_job_duration_seconds_count",
            &[vif[0], ("action", "allocate_vif")],
            2.0,
        )?;
        at_least(
            s,
            "onramp_jobs_total",
            &[("kind", "ticket-csp"), ("outcome", "parked")],
            1.0,
        )?;
        at_least(
            s,
            "onramp_pe_commit_duration_seconds_count",
            &[("pe", "pe1")],
            1.0,
        )?;
        at_least(s, "onramp_pe_commit_batch_size_sum", &[("pe", "pe1")], 1.0)?;
        at_least(
            s,
            "onramp_csp_call_duration_seconds_count",
            &[
                ("csp", "aws"),
                ("operation", "AllocatePrivateVirtualInterface"),
            ],
            2.0,
        )?;
        at_least(
            s,
            "onramp_csp_call_duration_seconds_count",
            &[("csp", "aws"), ("operation", "DescribeVirtualInterfaces")],
            1.0,
        )?;
        at_least(
            s,
            "onramp_csp_call_errors_total",
            &[
                ("csp", "aws"),
                ("operation", "AllocatePrivateVirtualInterface"),
                ("error", "throttled"),
            ],
            1.0,
        )?;
        at_least(
            s,
            "onramp_webhook_deliveries_total",
            &[("outcome", "delivered")],
            1.0,
        )?;
        at_least(
            s,
            "onramp_queue_depth",
            &[("consumer", "onramp-actions")],
            0.0,
        )?;
        at_least(
            s,
            "onramp_queue_depth",
            &[("consumer", "onramp-polls")],
            0.0,
        )?;
        at_least(
            s,
            "onramp_queue_in_flight",
            &[("consumer", "onramp-polls")],
            0.0,
        )?;
        at_least(
            s,
            "onramp_ops_tasks_overdue",
            &[("provider", "ibm-direct-link")],
            0.0,
        )?;
        match value(
            s,
            "onramp_ops_tasks_overdue",
            &[("provider", "oracle-fastconnect")],
        ) {
            Some(1.0) => {}
            other => return Err(format!("oracle-fastconnect overdue tasks: {other:?}")),
        }
        // Nothing waits in the outbox once the orders have settled.
        match value(s, "onramp_outbox_lag_seconds", &[]) {
            Some(0.0) => Ok(()),
            other => Err(format!("outbox lag {other:?}")),
        }
    })
    .await?;
    // The commit's batch held at least one change; the throttled call was
    // counted once, not per SDK attempt.
    let commits = value(
        &samples,
        "onramp_pe_commit_batch_size_count",
        &[("pe", "pe1")],
    )
    .unwrap();
    let changes = value(
        &samples,
        "onramp_pe_commit_batch_size_sum",
        &[("pe", "pe1")],
    )
    .unwrap();
    assert!(changes >= commits, "{changes} changes in {commits} commits");
    assert_eq!(
        value(
            &samples,
            "onramp_csp_call_errors_total",
            &[
                ("csp", "aws"),
                ("operation", "AllocatePrivateVirtualInterface"),
                ("error", "throttled"),
            ],
        ),
        Some(1.0)
    );
    assert!(hits.load(Ordering::SeqCst) >= 1);

    // One id finds the story: the API's line for the order, and the
    // worker's lines for its jobs, the allocation included, which runs
    // only after the PE writer settled the router change the first job
    // queued.
    let grep = |file: &str| {
        let text = std::fs::read_to_string(stack.dir.path().join(file)).unwrap_or_default();
        strip_ansi(&text)
            .lines()
            .filter(|l| l.contains(&request_id))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let story = |lines: &[String]| {
        let says = |what: &str| lines.iter().any(|l| l.contains(what));
        says("router change queued")
            && says("hosted VIF allocated")
            && says("waiting_customer_acceptance")
    };
    let found = until("the order's lines in the logs", || async {
        Ok(grep("api.log").iter().any(|l| l.contains("request served"))
            && story(&grep("worker-1.log")))
    })
    .await;
    if let Err(e) = found {
        bail!(
            "{e}\nAPI lines with {request_id}: {:#?}\nworker lines: {:#?}",
            grep("api.log"),
            grep("worker-1.log")
        );
    }
    Ok(())
}

/// A worker is ready only while NATS is there; alive all along.
#[tokio::test(flavor = "multi_thread")]
async fn worker_readiness_follows_nats() -> Result<()> {
    let mut stack = Stack::start_with(
        Db::Sqlite,
        StackOptions {
            worker_env: vec![("ONRAMP_LOG_FORMAT".into(), "json".into())],
            ..StackOptions::default()
        },
    )
    .await?;
    let worker = stack.worker_signals().await?;
    let http = stack.http.clone();
    let get = |path: &'static str| {
        let (http, url) = (http.clone(), format!("{worker}{path}"));
        async move {
            let r = http.get(url).send().await?;
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            Ok::<_, anyhow::Error>((status, ct, r.json::<Value>().await.unwrap_or(Value::Null)))
        }
    };
    until("the worker is ready", || async {
        Ok(get("/readyz").await?.0 == 200)
    })
    .await?;
    assert_eq!(get("/healthz").await?.0, 200);
    assert_eq!(get("/nowhere").await?.0, 404);

    stack.nats.kill();
    until("the worker is not ready without NATS", || async {
        Ok(get("/readyz").await?.0 == 503)
    })
    .await?;
    let (_, ct, problem) = get("/readyz").await?;
    assert_eq!(ct, "application/problem+json");
    assert_eq!(problem["code"], "not_ready", "{problem:#}");
    let down: Vec<&str> = problem["errors"]
        .as_array()
        .context("errors")?
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(down, ["nats"], "{problem:#}");
    assert_eq!(get("/healthz").await?.0, 200, "alive without NATS");
    // The API takes orders into its outbox without NATS.
    let api_ready = stack.http.get(stack.url("/readyz")).send().await?;
    assert_eq!(api_ready.status().as_u16(), 200);

    stack.nats.restart()?;
    until("the worker is ready again", || async {
        Ok(get("/readyz").await?.0 == 200)
    })
    .await?;
    // And it works again: an order goes through to AWS.
    let (status, c) = stack.order_vif(json!({})).await?;
    ensure!(status == 202, "order: {status} {c:#}");
    let id = c["id"].as_str().context("id")?;
    stack
        .wait_state(id, "waiting_customer_acceptance", T)
        .await?;

    // The worker logged in JSON: every line is one object, the job's
    // lines with the order's request id in their span.
    let log = stack.dir.path().join("worker-1.log");
    until("a JSON line in a request's span", || async {
        let mut in_a_request = 0;
        for v in json_lines(&log)? {
            if v["span"]["request_id"].is_string() {
                in_a_request += 1;
            }
        }
        Ok(in_a_request > 0)
    })
    .await?;
    Ok(())
}

/// `onramp serve --log-format json`: one object per line, the request's
/// span in it; an id no one should log is replaced.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_request_id() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (_serve, port, log) = support::serve_alone(dir.path(), &["--log-format", "json"], &[])?;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");

    let r = http
        .get(format!("{base}/v1/connectors"))
        .header("x-request-id", "json-check-1")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["x-request-id"], "json-check-1");
    let r = http
        .get(format!("{base}/v1/connectors"))
        .header("x-request-id", "has a space")
        .send()
        .await?;
    let replaced = r.headers()["x-request-id"].to_str()?.to_string();
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    let r = http.get(format!("{base}/nowhere")).send().await?;
    assert_eq!(r.status().as_u16(), 404);
    assert!(
        r.headers().contains_key("x-request-id"),
        "even a 404 has one"
    );

    let served = |id: String| {
        let log = log.clone();
        async move {
            let mut found = false;
            for v in json_lines(&log)? {
                found |= v["span"]["request_id"] == id.as_str()
                    && v["fields"]["message"] == "request served"
                    && v["fields"]["status"] == 401
                    && v["span"]["route"] == "/v1/connectors";
            }
            Ok(found)
        }
    };
    until("the request's JSON line", || served("json-check-1".into())).await?;
    until("the replaced id's JSON line", || served(replaced.clone())).await?;
    Ok(())
}
