//! What a binary installs once at start-up: the Prometheus recorder behind
//! every [`series`](crate::series) function, and the log subscriber in the
//! format operators asked for.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::Scrape;
use crate::series::{BATCH_BUCKETS, PE_COMMIT_BATCH_SIZE, SECONDS_BUCKETS, describe};

/// How often histograms are drained into their buckets between scrapes, so
/// that a process nobody scrapes does not grow without bound.
const UPKEEP: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot install the metrics recorder: {0}")]
    Recorder(#[from] metrics_exporter_prometheus::BuildError),
    #[error("cannot install the log subscriber: {0}")]
    Logs(String),
    #[error("cannot export traces to {endpoint}: {detail}")]
    Otlp { endpoint: String, detail: String },
}

/// Installs the process-wide Prometheus recorder (histograms with buckets,
/// not summaries, so they aggregate across processes) and describes every
/// series. Must run inside a tokio runtime: it spawns the upkeep task.
pub fn metrics() -> Result<Scrape, Error> {
    let handle = PrometheusBuilder::new()
        .set_buckets(SECONDS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(PE_COMMIT_BATCH_SIZE.into()), BATCH_BUCKETS)?
        .install_recorder()?;
    describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(Scrape::new(move || handle.render()))
}

/// `--log-format`: lines for people, or one JSON object per line for a log
/// pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// What is logged unless `RUST_LOG` says otherwise.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,aws=warn,russh=warn";

/// Where spans go over OTLP/HTTP (protobuf), besides the logs.
#[derive(Clone, Debug)]
pub struct Otlp {
    /// The collector's base URL (`http://collector:4318`); spans go to
    /// `/v1/traces` under it.
    pub endpoint: String,
    /// `service.name` of every span: `onramp-api`, `onramp-worker`, ...
    pub service: String,
}

/// Flushes the spans not yet exported when dropped (at the end of `main`).
pub struct OtlpGuard(opentelemetry_sdk::trace::SdkTracerProvider);

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("flushing the last spans to the OTLP collector failed: {e}");
        }
    }
}

fn tracer(
    otlp: &Otlp,
) -> Result<
    (
        opentelemetry_sdk::trace::SdkTracerProvider,
        opentelemetry_sdk::trace::Tracer,
    ),
    Error,
> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    let url = format!("{}/v1/traces", otlp.endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()
        .map_err(|e| Error::Otlp {
            endpoint: otlp.endpoint.clone(),
            detail: e.to_string(),
        })?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(otlp.service.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("onramp");
    Ok((provider, tracer))
}

/// Installs the global log subscriber on stderr, and with `otlp` an
/// OpenTelemetry layer that exports every span (a request's, a job's, with
/// their fields: `request_id` among them). In JSON each line carries the
/// fields of the span it was logged in (`span.request_id`), so one id finds
/// a request's lines and its jobs' lines.
pub fn logs(format: LogFormat, otlp: Option<&Otlp>) -> Result<Option<OtlpGuard>, Error> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let (guard, otel) = match otlp.map(tracer).transpose()? {
        Some((provider, tracer)) => (
            Some(OtlpGuard(provider)),
            Some(tracing_opentelemetry::layer().with_tracer(tracer)),
        ),
        None => (None, None),
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    match format {
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    }
    .map_err(|e| Error::Logs(e.to_string()))?;
    Ok(guard)
}
