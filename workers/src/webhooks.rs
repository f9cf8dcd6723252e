//! Delivers connector state changes to tenants' webhooks (issue 8).
//!
//! ```text
//!  every poll_interval:  store::due ──> try_lease ──> one task per leased webhook
//!                                                       │ renew lease; next event past the cursor
//!                                                       │ POST, signed; wait ≤ timeout
//!                                                       ├─ 2xx ──────> record delivered, cursor = event; next event
//!                                                       ├─ other, attempts left ─> record failed, retry after backoff; stop
//!                                                       └─ other, last attempt ──> record gave_up, cursor = event; next event
//! ```
//!
//! One event at a time per webhook, under the webhook's lease, so a
//! receiver gets a webhook's events in id order and later events wait
//! behind a failing one. The cursor moves only after the outcome is
//! committed, so a worker that dies between the POST and the commit
//! sends that event again: delivery is at least once, and receivers
//! deduplicate by `Onramp-Event-Id`.
//!
//! Each request carries `Onramp-Signature: v1=<hex HMAC-SHA256(secret,
//! "<Onramp-Timestamp>.<body>")>` (docs/decisions/0005-webhooks.md). The
//! secret and the signature are never logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use onramp_checks::url::forbidden_ip;
use onramp_signals::series::WebhookOutcome;
use onramp_store::DatabaseConnection;
use onramp_store::entity::webhook;
use onramp_store::event_payload::StateChange;
use onramp_store::secrets::SecretBox;
use onramp_store::webhooks::{self as store, Attempt, Lease, Outcome};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub const HEADER_WEBHOOK_ID: &str = "Onramp-Webhook-Id";
pub const HEADER_EVENT_ID: &str = "Onramp-Event-Id";
pub const HEADER_TIMESTAMP: &str = "Onramp-Timestamp";
pub const HEADER_SIGNATURE: &str = "Onramp-Signature";
/// `connector.state_changed`, `link.sla_breached` or `link.sla_recovered`:
/// what the body is, as the SSE `event:` names it.
pub const HEADER_EVENT_TYPE: &str = "Onramp-Event-Type";

/// Events one task delivers before it gives the webhook back, so one busy
/// webhook does not keep a slot forever.
const EVENTS_PER_TURN: usize = 50;

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The wait after the first failed attempt at an event; it doubles with
    /// each further failure, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts at one event before it is given up (recorded `gave_up`)
    /// and the webhook moves on.
    pub max_attempts: u32,
    /// For one whole request: connect, send, answer.
    pub timeout: Duration,
    /// How often to look for webhooks with something to deliver.
    pub poll_interval: Duration,
    /// Webhooks delivered to at once by this process.
    pub concurrency: usize,
    /// Names this worker in leases and logs.
    pub worker_id: String,
}

impl WebhookConfig {
    /// 5 s doubling to 1 h, 30 attempts: an event is retried for about a
    /// day (jitter shortens each wait by up to half) before it is given up.
    pub fn new(worker_id: String) -> Self {
        Self {
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 30,
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            concurrency: 8,
            worker_id,
        }
    }

    /// Long enough for one request and its bookkeeping; renewed before
    /// each event.
    fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(10)
    }

    /// The wait after the `failures`-th failed attempt: exponential, capped,
    /// with "equal jitter" (half fixed, half random) so that receivers
    /// coming back from an outage are not hit by every webhook at once.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)));
        let full = exp.min(self.max_backoff);
        let half = full / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// `v1=` and the lowercase hex HMAC-SHA256, keyed with the whole secret
/// (`whsec_...` as given at creation), over `<timestamp>.<body>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Resolves names as the system does, minus the addresses of
/// [`forbidden_ip`]: the API refuses such IP literals, and this keeps a
/// name that resolves to one (DNS rebinding) from reaching it.
struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| forbidden_ip(a.ip()).is_none())
                .collect();
            if allowed.is_empty() && !all.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses onramp does not send to (link-local, unspecified or multicast)"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client every delivery goes through: no redirects (a 3xx is a failed
/// delivery, so a receiver cannot bounce requests elsewhere), a timeout
/// for the whole request, and the resolver above.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("onramp-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(PublicResolver))
        .build()
}

/// Runs until `shutdown` fires. Safe to run in several processes at once:
/// a webhook is delivered by whoever holds its lease.
pub async fn run_webhooks(
    db: DatabaseConnection,
    secrets: SecretBox,
    cfg: WebhookConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match http_client(cfg.timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not delivered");
            return;
        }
    };
    let ctx = Arc::new(Ctx {
        db,
        secrets,
        client,
        cfg,
        shutdown: shutdown.clone(),
    });
    let mut tasks = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = ctx.cfg.concurrency.saturating_sub(tasks.len());
        if free > 0 {
            match store::due(&ctx.db, free as u64).await {
                Ok(due) => {
                    for w in due {
                        match store::try_lease(&ctx.db, w.id, &ctx.cfg.worker_id, ctx.cfg.lease())
                            .await
                        {
                            Ok(Some(lease)) => {
                                tasks.spawn(deliver_turn(ctx.clone(), lease));
                            }
                            // Another worker got it first.
                            Ok(None) => {}
                            Err(e) => {
                                tracing::warn!(webhook = %w.id, error = %e, "cannot lease a webhook")
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot look for due webhooks; retrying"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.cfg.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }
    // Requests in flight end within their timeout; what is cut off after
    // that is sent again by whoever takes the lease next.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(ctx.cfg.timeout + Duration::from_secs(2), drain)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
}

struct Ctx {
    db: DatabaseConnection,
    secrets: SecretBox,
    client: reqwest::Client,
    cfg: WebhookConfig,
    shutdown: watch::Receiver<bool>,
}

/// Delivers the leased webhook's events in order until it is caught up, a
/// delivery fails, or the turn is over; then gives the lease back.
async fn deliver_turn(ctx: Arc<Ctx>, lease: Lease) {
    for _ in 0..EVENTS_PER_TURN {
        match deliver_next(&ctx, &lease).await {
            Ok(true) if !*ctx.shutdown.borrow() => {}
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(webhook = %lease.webhook_id, error = %e, "webhook delivery bookkeeping failed; retrying later");
                break;
            }
        }
    }
    if let Err(e) = store::release(&ctx.db, &lease).await {
        // The lease runs out on its own.
        tracing::warn!(webhook = %lease.webhook_id, error = %e, "cannot release a webhook lease");
    }
}

/// One attempt at the next event; true when the webhook may go on to the
/// event after it now.
async fn deliver_next(ctx: &Ctx, lease: &Lease) -> onramp_store::Result<bool> {
    let Some(w) = store::renew(&ctx.db, lease, ctx.cfg.lease()).await? else {
        return Ok(false);
    };
    if w.next_attempt_at_ms > Utc::now().timestamp_millis() {
        return Ok(false);
    }
    let Some(change) = store::next_event(&ctx.db, lease, &w).await? else {
        return Ok(false);
    };
    let secret = store::open_secret(&ctx.secrets, &w)?;
    let attempt = w.event_attempts.saturating_add(1);
    let started = Instant::now();
    let sent = send(&ctx.client, &w, &secret, &change).await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let outcome = match sent {
        Ok(status) if (200..300).contains(&status) => Outcome::Delivered { status },
        failed => {
            let (status, error) = match failed {
                Ok(status) => (Some(status), None),
                Err(error) => (None, Some(error)),
            };
            if attempt as u32 >= ctx.cfg.max_attempts {
                tracing::warn!(
                    webhook = %w.id, tenant = %w.tenant_id, event = change.id, attempt,
                    status = ?status, error = error.as_deref().unwrap_or(""),
                    "webhook delivery failed for the last time; the event is given up"
                );
                Outcome::GaveUp { status, error }
            } else {
                let wait = ctx.cfg.backoff(attempt as u32);
                tracing::warn!(
                    webhook = %w.id, tenant = %w.tenant_id, event = change.id, attempt,
                    status = ?status, error = error.as_deref().unwrap_or(""),
                    retry_in_ms = wait.as_millis() as u64,
                    "webhook delivery failed; retrying"
                );
                Outcome::Failed {
                    status,
                    error,
                    retry_at_ms: Utc::now().timestamp_millis() + wait.as_millis() as i64,
                }
            }
        }
    };
    let go_on = !matches!(outcome, Outcome::Failed { .. });
    onramp_signals::series::webhook_delivery(match outcome {
        Outcome::Delivered { .. } => WebhookOutcome::Delivered,
        Outcome::Failed { .. } => WebhookOutcome::Failed,
        Outcome::GaveUp { .. } => WebhookOutcome::GaveUp,
    });
    if let Outcome::Delivered { status } = &outcome {
        tracing::debug!(webhook = %w.id, event = change.id, status, "webhook delivered");
    }
    let recorded = store::record(
        &ctx.db,
        lease,
        &Attempt {
            event_id: change.id,
            attempt,
            duration_ms,
            outcome,
        },
    )
    .await?;
    Ok(go_on && recorded)
}

/// POSTs the change; the receiver's status, or why there is none.
async fn send(
    client: &reqwest::Client,
    w: &webhook::Model,
    secret: &str,
    change: &StateChange,
) -> Result<u16, String> {
    let body = serde_json::to_vec(change).map_err(|e| format!("cannot serialize: {e}"))?;
    let timestamp = Utc::now().timestamp();
    let signature = sign(secret, timestamp, &body);
    let res = client
        .post(&w.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_WEBHOOK_ID, w.id.to_string())
        .header(HEADER_EVENT_ID, change.id.to_string())
        .header(HEADER_EVENT_TYPE, change.channel_name())
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature)
        .body(body)
        .send()
        .await
        .map_err(describe)?;
    Ok(res.status().as_u16())
}

/// A transport error as people read it, without the URL (the receiver's
/// own URL adds nothing to its log line) and with its causes.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign("key", 1_700_000_000, b"{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(
            sign("key", 1_700_000_001, b"{}"),
            sign("key", 1_700_000_000, b"{}")
        );
        assert_ne!(
            sign("key2", 1_700_000_000, b"{}"),
            sign("key", 1_700_000_000, b"{}")
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut cfg = WebhookConfig::new("t".into());
        cfg.base_backoff = Duration::from_secs(4);
        cfg.max_backoff = Duration::from_secs(60);
        for (failures, full) in [(1, 4), (2, 8), (3, 16), (4, 32), (5, 60), (40, 60)] {
            for _ in 0..20 {
                let d = cfg.backoff(failures);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "{failures}: {d:?} vs {full:?}");
            }
        }
    }
}
