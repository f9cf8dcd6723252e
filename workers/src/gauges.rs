//! Samples what no single event reports: the depth of each JetStream
//! consumer and the ops tasks past due. Every worker samples on its own, so
//! each one's `/metrics` answers alone (take the max across workers).

use std::time::Duration;

use async_nats::jetstream;
use onramp_signals::series;
use onramp_store::DatabaseConnection;
use onramp_store::jobs::STREAM;
use tokio::sync::watch;

use crate::queue::{ACTIONS_CONSUMER, POLLS_CONSUMER};

/// Samples now, then every `every`, until `shutdown` fires. A failed sample
/// keeps the last values and says why in the log (`/readyz` is what turns
/// red when NATS or the database is gone).
pub async fn run_gauges(
    db: DatabaseConnection,
    js: jetstream::Context,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = sample_queues(&js).await {
            tracing::debug!(error = %e, "cannot read the consumers' depth");
        }
        match onramp_store::tasks::overdue_by_provider(&db, chrono::Utc::now()).await {
            Ok(counts) => {
                for (provider, n) in counts {
                    series::ops_tasks_overdue(&provider, n);
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot count overdue ops tasks"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn sample_queues(js: &jetstream::Context) -> Result<(), String> {
    let stream = js.get_stream(STREAM).await.map_err(|e| e.to_string())?;
    for consumer in [ACTIONS_CONSUMER, POLLS_CONSUMER] {
        let info = stream
            .consumer_info(consumer)
            .await
            .map_err(|e| format!("consumer {consumer}: {e}"))?;
        series::queue(consumer, info.num_pending, info.num_ack_pending as u64);
    }
    Ok(())
}
