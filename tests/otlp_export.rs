//! `--otlp-endpoint`: `onramp serve` exports its spans over OTLP/HTTP
//! (protobuf) to a collector. The collector here is a loopback HTTP server
//! that decodes each export with the OpenTelemetry project's own protocol
//! types (`opentelemetry-proto`), so what is checked is what a real
//! collector would receive: the request's span, its `request_id`, and the
//! service's name.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;

/// Every export the collector received, decoded.
async fn collector() -> Result<(String, Arc<Mutex<Vec<ExportTraceServiceRequest>>>)> {
    let got: Arc<Mutex<Vec<ExportTraceServiceRequest>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let seen = seen.clone();
            async move {
                match ExportTraceServiceRequest::decode(body) {
                    Ok(req) => {
                        seen.lock().unwrap().push(req);
                        axum::http::StatusCode::OK
                    }
                    Err(_) => axum::http::StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, got))
}

fn string_attr(
    attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_exports_its_request_spans_over_otlp() -> Result<()> {
    let (endpoint, got) = collector().await?;
    let dir = tempfile::tempdir()?;
    // Each batch exported soon instead of every 5 s.
    let (_serve, port, _) = support::serve_alone(
        dir.path(),
        &["--otlp-endpoint", &endpoint],
        &[("OTEL_BSP_SCHEDULE_DELAY", "200")],
    )?;
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/connectors"))
        .header("x-request-id", "otlp-check-1")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 401);

    let started = Instant::now();
    loop {
        let found = got.lock().unwrap().iter().any(|req| {
            req.resource_spans.iter().any(|rs| {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| string_attr(&r.attributes, "service.name"));
                service.as_deref() == Some("onramp-api")
                    && rs.scope_spans.iter().flat_map(|s| &s.spans).any(|span| {
                        string_attr(&span.attributes, "request_id").as_deref()
                            == Some("otlp-check-1")
                    })
            })
        });
        if found {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            let spans: Vec<String> = got
                .lock()
                .unwrap()
                .iter()
                .flat_map(|r| &r.resource_spans)
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|s| format!("{} {:?}", s.name, s.attributes))
                .collect();
            bail!("no span of the request reached the collector within 30 s; got: {spans:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
