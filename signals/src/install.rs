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

/// Installs the global log subscriber on stderr. In JSON each line carries
/// the fields of the span it was logged in (`span.request_id`), so one id
/// finds a request's lines and its jobs' lines.
pub fn logs(format: LogFormat) -> Result<(), Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    }
    .map_err(|e| Error::Logs(e.to_string()))
}
