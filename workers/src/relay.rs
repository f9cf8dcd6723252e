//! Publishes outbox rows to JetStream in commit order, then marks them,
//! and reports how far behind it is (`onramp_outbox_lag_seconds`).

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use onramp_store::{DatabaseConnection, outbox};

/// Runs until `shutdown` fires. Safe to run in several processes at once:
/// the stream's duplicate window drops a row published twice, and a worker
/// ignores a job its connector has moved past.
pub async fn run_relay(
    db: DatabaseConnection,
    js: jetstream::Context,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_prune = std::time::Instant::now();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let published = match relay_once(&db, &js).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay failed; retrying");
                0
            }
        };
        if last_prune.elapsed() > Duration::from_secs(600) {
            let cutoff = chrono::Utc::now() - chrono::Duration::hours(1);
            if let Err(e) = outbox::prune(&db, cutoff).await {
                tracing::warn!(error = %e, "outbox prune failed");
            }
            last_prune = std::time::Instant::now();
        }
        if published == 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn relay_once(db: &DatabaseConnection, js: &jetstream::Context) -> Result<usize, String> {
    let rows = outbox::pending(db, 500).await.map_err(|e| e.to_string())?;
    // The oldest row waiting is the first of the page: how long the jobs
    // now being published have waited since their transaction committed.
    let lag = rows.first().map_or(Duration::ZERO, |oldest| {
        (chrono::Utc::now() - oldest.created_at)
            .to_std()
            .unwrap_or_default()
    });
    onramp_signals::series::outbox_lag(lag);
    // Publish the whole page before waiting for any ack, then mark it in
    // one statement: one round trip per page, not two per row, so a burst
    // of orders is not throttled by the relay.
    let mut acks = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("outbox-{}", row.id).as_str());
        if let Some(id) = &row.request_id {
            headers.insert(onramp_signals::request_id::JOB_HEADER, id.as_str());
        }
        acks.push(
            js.publish_with_headers(row.subject.clone(), headers, row.payload.clone().into())
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    for ack in acks {
        ack.await.map_err(|e| e.to_string())?;
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    outbox::mark_published_many(db, &ids)
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows.len())
}
