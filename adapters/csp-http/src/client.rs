//! The HTTP client the adapters build and the text they make of what went
//! wrong.

use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One HTTP exchange; CSPs answer long-running starts quickly, so this is
/// generous. A request may set its own (GCP's `operations/wait`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A client with our timeouts and `user_agent`.
pub fn http_client(user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(user_agent)
        .build()
        .unwrap_or_else(|e| {
            // Only a broken TLS setup gets here; a client without our
            // timeouts beats an adapter that cannot start.
            tracing::error!(error = %e, "cannot build the configured HTTP client; using defaults");
            reqwest::Client::new()
        })
}

/// The start of a body, for messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// `e` and every cause under it: reqwest's own Display stops at "error
/// sending request", which does not say connection refused or TLS.
pub fn error_chain(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL (no secrets in ours) and the cause.
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_trimmed_and_cut() {
        assert_eq!(snippet(b"  short \n"), "short");
        let long = "é".repeat(300);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), 201);
        assert!(s.ends_with('…'));
    }
}
