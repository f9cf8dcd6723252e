//! The request id: one string that follows a connector's story across
//! processes. The API answers every request with it (`x-request-id`, the
//! client's own when it sent a sane one); while the request runs it is the
//! *current* id of the task, so every outbox row the request's transaction
//! writes records it; the relay puts it on the job message
//! (`Onramp-Request-Id`); the worker makes it current again while it runs
//! that job, so the jobs and router changes the job causes carry it on.
//!
//! "Current" is a tokio task-local, set at the three edges where work
//! enters (an HTTP request, a job message, a router change the PE writer
//! settles) rather than a parameter: outbox rows are written deep inside
//! some twenty store transactions, and the id is context of the work, as a
//! tracing span is. A task spawned from such work does not inherit it:
//! wrap its future in [`propagate`].

use std::future::Future;

/// The HTTP header, request and response.
pub const HEADER: &str = "x-request-id";
/// The NATS header on job messages.
pub const JOB_HEADER: &str = "Onramp-Request-Id";
/// Longer ids from clients are replaced: they end up in every log line.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: Option<String>;
}

/// Whether `id` may be used as given: 1 to [`MAX_LEN`] characters of
/// letters, digits and `-_.:/+=@`, so it cannot forge a log line or a
/// header and greps as one word.
pub fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// The client's id when it is sane, otherwise a new UUID.
pub fn accept(from_client: Option<&str>) -> String {
    match from_client {
        Some(id) if is_sane(id) => id.to_string(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

/// Runs `work` with `id` as the current request id.
pub async fn scope<F: Future>(id: Option<String>, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// The id of the work this task is doing, if it serves a request.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// `work` with the current id, for a task about to be spawned.
pub fn propagate<F: Future>(work: F) -> impl Future<Output = F::Output> {
    scope(current(), work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        assert_eq!(accept(Some("req-42_a.b:c")), "req-42_a.b:c");
        for bad in ["", "two words", "line\nbreak", "quote\"", &"x".repeat(129)] {
            let got = accept(Some(bad));
            assert_ne!(got, bad);
            assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got}");
        }
        assert!(uuid::Uuid::parse_str(&accept(None)).is_ok());
    }

    #[tokio::test]
    async fn current_follows_the_scope_and_spawns_only_when_propagated() {
        assert_eq!(current(), None);
        scope(Some("r1".into()), async {
            assert_eq!(current().as_deref(), Some("r1"));
            let lost = tokio::spawn(async { current() }).await.unwrap();
            assert_eq!(lost, None);
            let kept = tokio::spawn(propagate(async { current() })).await.unwrap();
            assert_eq!(kept.as_deref(), Some("r1"));
            scope(None, async { assert_eq!(current(), None) }).await;
        })
        .await;
        assert_eq!(current(), None);
    }
}
