//! `/_sim/clock`, the same on every simulator: read the simulator's time and,
//! when it runs on a manual [`Clock`], move it forward.
//!
//! | Method | Path | Effect |
//! |---|---|---|
//! | GET | `/_sim/clock` | `{"manual": bool, "now": RFC 3339, "advanced_ms": n}` |
//! | POST | `/_sim/clock/advance` | `{"ms": n}`: moves a manual clock `n` ms on; 409 on the system clock |

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onramp_clock::Clock;
use serde::Deserialize;
use serde_json::json;

/// The routes, for a simulator whose state `S` yields its clock.
pub(crate) fn routes<S>(clock_of: fn(&S) -> Clock) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/_sim/clock",
            get(move |State(sim): State<S>| async move { view(&clock_of(&sim)) }),
        )
        .route(
            "/_sim/clock/advance",
            post(move |State(sim): State<S>, body: Bytes| async move {
                advance(&clock_of(&sim), &body)
            }),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: u64,
}

fn view(clock: &Clock) -> Response {
    axum::Json(json!({
        "manual": clock.is_manual(),
        "now": clock.utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "advanced_ms": u64::try_from(clock.advanced().as_millis()).unwrap_or(u64::MAX),
    }))
    .into_response()
}

fn advance(clock: &Clock, body: &[u8]) -> Response {
    let req: Advance = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid body: {e}; expected {{\"ms\": <milliseconds>}}"),
            );
        }
    };
    match clock.advance(Duration::from_millis(req.ms)) {
        Ok(()) => view(clock),
        Err(e) => error(
            StatusCode::CONFLICT,
            format!("{e}: start the simulator with `clock: Clock::manual()`"),
        ),
    }
}

/// The control plane's error body (`message`, and `error` for the AWS
/// simulator's readers).
fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "message": message, "error": message })),
    )
        .into_response()
}
