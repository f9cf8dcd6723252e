//! The work-queue stream and the durable pull consumers every worker shares.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use onramp_store::jobs::{STREAM, SUBJECT_PREFIX};

use crate::Error;

/// Connector and link actions (`onramp.jobs.connector`, `onramp.jobs.link`).
pub(crate) const ACTIONS_CONSUMER: &str = "onramp-actions";
/// Looks at a CSP or a PE (`onramp.jobs.poll.connector`).
pub(crate) const POLLS_CONSUMER: &str = "onramp-polls";
const LEGACY_CONSUMER: &str = "onramp-workers";

pub async fn connect_jetstream(url: &str) -> Result<jetstream::Context, Error> {
    let client = async_nats::ConnectOptions::new()
        .name("onramp")
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|e| Error::Nats {
            url: url.into(),
            message: e.to_string(),
        })?;
    Ok(jetstream::new(client))
}

/// The two durable consumers of the job stream: actions (a connector's or a
/// link's next step) and looks (polls of a CSP or a PE). Each has its own
/// in-flight limit in the runner, so neither class can starve the other.
pub struct Consumers {
    pub actions: consumer::Consumer<consumer::pull::Config>,
    pub polls: consumer::Consumer<consumer::pull::Config>,
}

/// Creates (or finds) the stream and the consumers. Idempotent, so every
/// process can call it at start-up.
pub async fn ensure_stream_and_consumers(
    js: &jetstream::Context,
    ack_wait: Duration,
) -> Result<Consumers, Error> {
    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec![format!("{SUBJECT_PREFIX}.>")],
            // A job is removed once a worker acks it; unacked jobs stay until done.
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            // The relay sets Nats-Msg-Id to the outbox row id, so a row
            // published twice (relay crash before marking it) is stored once.
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| Error::JetStream(format!("stream {STREAM}: {e}")))?;
    // Before job classes, one unfiltered consumer took everything; a work
    // queue refuses consumers that overlap it. Its unacked jobs stay in the
    // stream and go to the consumers below.
    match stream.delete_consumer(LEGACY_CONSUMER).await {
        Ok(_) => tracing::info!(
            consumer = LEGACY_CONSUMER,
            "removed the single-class consumer of an earlier version"
        ),
        Err(e)
            if matches!(e.kind(), jetstream::stream::ConsumerErrorKind::JetStream(ref j)
                if j.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND) => {}
        Err(e) => {
            tracing::debug!(consumer = LEGACY_CONSUMER, error = %e, "no legacy consumer removed")
        }
    }
    let make = |name: &'static str, filter: String| {
        let stream = stream.clone();
        async move {
            stream
                .get_or_create_consumer(
                    name,
                    consumer::pull::Config {
                        durable_name: Some(name.into()),
                        filter_subject: filter,
                        ack_policy: consumer::AckPolicy::Explicit,
                        ack_wait,
                        // Polls are naks: a job waiting on a customer is
                        // redelivered for as long as it takes.
                        max_deliver: -1,
                        max_ack_pending: 100_000,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| Error::JetStream(format!("consumer {name}: {e}")))
        }
    };
    Ok(Consumers {
        actions: make(ACTIONS_CONSUMER, format!("{SUBJECT_PREFIX}.*")).await?,
        polls: make(POLLS_CONSUMER, format!("{SUBJECT_PREFIX}.poll.>")).await?,
    })
}
