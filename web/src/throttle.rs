//! Slows password guessing: after [`MAX_FAILURES`] failed sign-ins for one
//! email within [`WINDOW`], further attempts for it are refused until the
//! window has passed, whatever the password. Kept in memory: a restart
//! forgets it, and several API processes each count on their own, which
//! still bounds a guesser to a few dozen tries per window per process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) const MAX_FAILURES: u32 = 10;
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept at most; the oldest windows are dropped first, so a flood
/// of made-up emails cannot grow the map without bound.
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// `Some(wait)` while `email` is locked out.
    pub(crate) fn locked(&self, email: &str, now: Instant) -> Option<Duration> {
        let map = self.failures.lock().expect("throttle lock");
        let (n, since) = map.get(email)?;
        let until = *since + WINDOW;
        (*n >= MAX_FAILURES && now < until).then(|| until - now)
    }

    pub(crate) fn failed(&self, email: &str, now: Instant) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() >= MAX_TRACKED && !map.contains_key(email) {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
            if map.len() >= MAX_TRACKED
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, s))| *s)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let e = map.entry(email.to_string()).or_insert((0, now));
        if now.duration_since(e.1) >= WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    pub(crate) fn succeeded(&self, email: &str) {
        self.failures.lock().expect("throttle lock").remove(email);
    }
}

/// The one throttle of this process.
pub(crate) fn global() -> &'static Throttle {
    static T: std::sync::OnceLock<Throttle> = std::sync::OnceLock::new();
    T.get_or_init(Throttle::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_for_one_window() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("a@x.example", now);
        }
        assert_eq!(t.locked("a@x.example", now), None);
        t.failed("a@x.example", now);
        assert_eq!(t.locked("a@x.example", now), Some(WINDOW));
        assert_eq!(t.locked("b@x.example", now), None);
        assert_eq!(t.locked("a@x.example", now + WINDOW), None);
        // A new window starts counting from zero.
        t.failed("a@x.example", now + WINDOW);
        assert_eq!(t.locked("a@x.example", now + WINDOW), None);
        t.succeeded("a@x.example");
        assert_eq!(t.locked("a@x.example", now), None);
    }
}
