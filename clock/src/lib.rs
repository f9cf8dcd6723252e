//! The time source of everything whose behaviour depends on how much time has
//! passed: the CSP simulators' operations and tokens, and the CSP clients'
//! token caches.
//!
//! A [`Clock`] is either the system's clock or a manual one that only moves
//! when [`Clock::advance`] is called. Tests hand one manual clock to a
//! simulator (and to the client under test) and assert "RUNNING, then DONE"
//! by advancing it, so the verdict does not depend on how busy the machine
//! is. Production and the dev stack use [`Clock::system`], the default.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// A cheap-to-clone handle on a time source; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Manual>>,
}

#[derive(Debug)]
struct Manual {
    /// The real instant and wall time the manual clock started at.
    origin: Instant,
    origin_utc: DateTime<Utc>,
    /// How far it has been advanced; a watch so that sleepers wake on every
    /// advance.
    offset: watch::Sender<Duration>,
}

/// [`Clock::advance`] on the system clock, which nobody can move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this clock is the system clock; only a manual clock can be advanced")]
pub struct NotManual;

/// Two handles are equal when they read the same time source.
impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        match (&self.manual, &other.manual) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock frozen at the current time until [`Clock::advance`] moves it.
    pub fn manual() -> Self {
        Self {
            manual: Some(Arc::new(Manual {
                origin: Instant::now(),
                origin_utc: Utc::now(),
                offset: watch::Sender::new(Duration::ZERO),
            })),
        }
    }

    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The current instant, for durations and deadlines.
    pub fn now(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(m) => m.origin + *m.offset.borrow(),
        }
    }

    /// The current wall time, for timestamps shown to clients.
    pub fn utc(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(m) => m.origin_utc + *m.offset.borrow(),
        }
    }

    /// How far a manual clock has been moved since it started (zero for the
    /// system clock).
    pub fn advanced(&self) -> Duration {
        self.manual
            .as_ref()
            .map_or(Duration::ZERO, |m| *m.offset.borrow())
    }

    /// Moves a manual clock forward by `by`, waking whoever sleeps on it.
    pub fn advance(&self, by: Duration) -> Result<(), NotManual> {
        let m = self.manual.as_ref().ok_or(NotManual)?;
        m.offset.send_modify(|offset| *offset += by);
        Ok(())
    }

    /// Returns once the clock reads `deadline` or later: a timer for the
    /// system clock, the advance that gets there for a manual one.
    pub async fn sleep_until(&self, deadline: Instant) {
        match &self.manual {
            None => {
                // Tokio's timer wheel has millisecond ticks; loop so the
                // caller never wakes before `deadline` by its own reading.
                while Instant::now() < deadline {
                    tokio::time::sleep_until(deadline.into()).await;
                }
            }
            Some(m) => {
                let mut rx = m.offset.subscribe();
                while m.origin + *rx.borrow_and_update() < deadline {
                    if rx.changed().await.is_err() {
                        // Unreachable while `m` holds the sender; never spin.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let (t0, w0) = (clock.now(), clock.utc());
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(90)).unwrap();
        assert_eq!(clock.now() - t0, Duration::from_secs(90));
        assert_eq!(clock.utc() - w0, chrono::Duration::seconds(90));
        assert_eq!(clock.advanced(), Duration::from_secs(90));
        // Clones share the time.
        let other = clock.clone();
        other.advance(Duration::from_secs(1)).unwrap();
        assert_eq!(clock.now() - t0, Duration::from_secs(91));
    }

    #[test]
    fn the_system_clock_cannot_be_advanced() {
        let clock = Clock::system();
        assert!(!clock.is_manual());
        assert_eq!(clock.advance(Duration::from_secs(1)), Err(NotManual));
        assert_eq!(clock.advanced(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_sleeper_wakes_on_the_advance_that_reaches_its_deadline() {
        let clock = Clock::manual();
        let deadline = clock.now() + Duration::from_secs(10);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        clock.advance(Duration::from_secs(4)).unwrap();
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "woke 6 s early");
        clock.advance(Duration::from_secs(6)).unwrap();
        tokio::time::timeout(Duration::from_secs(30), sleeper)
            .await
            .expect("the sleeper woke")
            .unwrap();
    }
}
