//! How much 429 sleeping one public call may do.

use std::time::Duration;

/// The least a sleep counts: a server answering `Retry-After: 0` forever
/// must still use the budget up.
const MIN_COUNTED: Duration = Duration::from_millis(10);

/// The 429 waits of one public call so far. One per call, not per client:
/// each call gets the whole budget.
#[derive(Debug, Default)]
pub struct ThrottleBudget {
    slept: Duration,
}

impl ThrottleBudget {
    /// Sleeps `wait` off, or hands it back as `Err(wait)` when sleeping it
    /// would take the call's total past `max` (the caller then reports it
    /// as "throttled, retry after `wait`"). `service` names the CSP in logs.
    ///
    /// Sleeps in real time, not on the injected clock: it is the server's
    /// pacing we wait for, and a manual clock would never wake us.
    pub async fn sleep(
        &mut self,
        wait: Duration,
        max: Duration,
        service: &str,
    ) -> Result<(), Duration> {
        if self.slept + wait > max {
            tracing::warn!(
                retry_after_s = wait.as_secs_f64(),
                slept_s = self.slept.as_secs_f64(),
                "{service} throttling outlasted the call's budget"
            );
            return Err(wait);
        }
        tracing::info!(
            retry_after_s = wait.as_secs_f64(),
            "{service} throttled the call (429); waiting"
        );
        tokio::time::sleep(wait).await;
        self.slept += wait.max(MIN_COUNTED);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spends_the_budget_then_refuses() {
        let mut b = ThrottleBudget::default();
        let max = Duration::from_secs(2);
        assert_eq!(b.sleep(Duration::from_secs(1), max, "t").await, Ok(()));
        assert_eq!(b.sleep(Duration::from_secs(1), max, "t").await, Ok(()));
        assert_eq!(
            b.sleep(Duration::from_secs(1), max, "t").await,
            Err(Duration::from_secs(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn zero_waits_still_end() {
        let mut b = ThrottleBudget::default();
        let mut n = 0;
        while b
            .sleep(Duration::ZERO, Duration::from_millis(100), "t")
            .await
            .is_ok()
        {
            n += 1;
        }
        // 10 ms each: ten fill the budget, and a zero wait still fits on top.
        assert_eq!(n, 11);
    }
}
