//! `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

use onramp_clock::Clock;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait a `Retry-After` is taken at: a confused or hostile
/// server must not park a provisioning step for days. Callers' own budgets
/// (throttle, LRO) are far smaller; this only bounds what they are handed.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The `Retry-After` of an answer, read against `clock`'s wall time (so a
/// test's manual clock decides what an HTTP-date means). `None` when the
/// header is absent or not one of the two forms.
pub fn retry_after(headers: &HeaderMap, clock: &Clock) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::from(clock.utc()))
}

/// One `Retry-After` value at `now`: a date in the past is "now" (zero), and
/// anything longer than [`MAX_RETRY_AFTER`] is cut to it.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: `u64::from_str` would also take a sign. Too many
        // digits for a u64 is still "a very long time".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn http_dates_count_from_now() {
        // Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example.
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let now = date - Duration::from_secs(90);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(90))
        );
        // The obsolete forms a server may still send.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:37 1994", now),
            Some(Duration::from_secs(90))
        );
        // Already past: retry now.
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                date + Duration::from_secs(5)
            ),
            Some(Duration::ZERO)
        );
        // Far ahead: capped.
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                date - Duration::from_secs(86_400)
            ),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn garbage_is_none() {
        let now = SystemTime::now();
        for v in [
            "",
            "soon",
            "-5",
            "+5",
            "1.5",
            "5s",
            "Sun, 06 Nov 1994",
            "0x10",
        ] {
            assert_eq!(parse_retry_after(v, now), None, "{v:?}");
        }
    }

    #[test]
    fn reads_the_header_against_the_clock() {
        let clock = Clock::manual();
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, &clock), None);
        let in_a_minute = SystemTime::from(clock.utc()) + Duration::from_secs(60);
        h.insert(
            RETRY_AFTER,
            httpdate::fmt_http_date(in_a_minute).parse().unwrap(),
        );
        // HTTP-dates have whole seconds: within one of a minute.
        let wait = retry_after(&h, &clock).unwrap();
        assert!(
            wait <= Duration::from_secs(60) && wait > Duration::from_secs(58),
            "{wait:?}"
        );
        clock.advance(Duration::from_secs(30)).unwrap();
        let later = retry_after(&h, &clock).unwrap();
        assert_eq!(wait - later, Duration::from_secs(30));
        h.insert(RETRY_AFTER, "not a date".parse().unwrap());
        assert_eq!(retry_after(&h, &clock), None);
    }
}
