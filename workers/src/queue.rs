//! The work-queue stream and the durable pull consumer every worker shares.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use onramp_store::jobs::{STREAM, SUBJECT_PREFIX};

use crate::Error;

pub const CONSUMER: &str = "onramp-workers";

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

/// Creates (or finds) the stream and the consumer. Idempotent, so every
/// process can call it at start-up.
pub async fn ensure_stream_and_consumer(
    js: &jetstream::Context,
    ack_wait: Duration,
) -> Result<consumer::Consumer<consumer::pull::Config>, Error> {
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
    stream
        .get_or_create_consumer(
            CONSUMER,
            consumer::pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait,
                // Polls are naks: a job waiting on a customer is redelivered
                // for as long as it takes.
                max_deliver: -1,
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::JetStream(format!("consumer {CONSUMER}: {e}")))
}
