//! `GET /v1/events`: every connector state change as a Server-Sent Events
//! stream, so portals and CI pipelines never poll.
//!
//! Each timeline row (`connector_events`) becomes one SSE event:
//!
//! ```text
//! id: 42
//! event: connector.state_changed
//! data: {"id":42,"connector_id":"…","kind":"aws-hosted-vif","from_state":…}
//! ```
//!
//! The stream reads the database, not a broker: every API process polls for
//! rows past its cursor ([`POLL_INTERVAL`], in batches of [`BATCH`]), so any
//! number of API processes serve streams and a worker needs nothing more
//! than its transaction. A connection is taken from the pool for each poll
//! and given back; an idle stream holds none. Dropping the response (the
//! client went away) drops the poll loop.
//!
//! Scope: a `customer` key sees its own tenant's connectors only; `ops` and
//! `admin` keys see every tenant's (they read every tenant already).
//!
//! Where it starts: after `Last-Event-ID` (the header an `EventSource` sends
//! when it reconnects) or else after `?after=<id>`; with neither, at the
//! newest event when the request arrived, so only later events come.
//! `?after=0` replays everything in scope. The first frame carries no data,
//! only `id:` set to that starting cursor, so a client that reconnects
//! before any event has come still resumes where it began.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use onramp_store::connectors as store;
use sea_orm::DatabaseConnection;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, Problem, Unauthenticated, problem_json};

/// How often a stream looks for new rows once it has caught up.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Event ids considered per poll; a full batch is followed at once by the
/// next, so a replay from `after=0` streams at database speed.
pub(crate) const BATCH: u64 = 500;

/// A comment line this often keeps proxies from closing an idle stream and
/// lets the server notice a client that went away.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Polls that may fail in a row before the stream ends; the client
/// reconnects with `Last-Event-ID` and loses nothing.
const MAX_FAILED_POLLS: u32 = 10;

/// Asked of an `EventSource` for its reconnection delay, in milliseconds.
const RETRY: Duration = Duration::from_secs(2);

const LAST_EVENT_ID: &str = "last-event-id";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_events))
}

/// One state change of one connector: the `data:` of a
/// `connector.state_changed` event. It lives in the store because webhook
/// deliveries send the same JSON.
pub(crate) use onramp_store::event_payload::StateChange as ConnectorStateChange;

/// Where the stream starts and what it carries. Unknown parameters are
/// ignored (proxies and polyfills add cache-busters).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Start after this event id; `0` replays every event in scope.
    /// `Last-Event-ID`, when sent, wins. Without either the stream starts
    /// at the newest event, so only events after the request come.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Only this connector's events.
    connector: Option<Uuid>,
    /// Only events of connectors of this kind.
    #[param(example = "aws-hosted-vif")]
    kind: Option<String>,
}

/// Stream connector state changes (Server-Sent Events).
///
/// Every state change of every connector in scope, as it is committed, in
/// id order: `id:` is the event id, `event:` is `connector.state_changed`
/// and `data:` is a `ConnectorStateChange` as JSON. A customer key sees its
/// own tenant's connectors; an `ops` or `admin` key sees every tenant's.
///
/// Resuming: send `Last-Event-ID` (an `EventSource` does so when it
/// reconnects) or `?after=<id>` to get exactly the events after that id.
/// With neither the stream starts now and carries only later events;
/// `?after=0` replays all. The first frame has no data, only `id:` (the
/// starting cursor) and `retry:`, so resuming works even before the first
/// event. Comment lines (`:`) keep an idle stream open; ignore them.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<i64>, Header,
            description = "Resume after this event id; wins over `after`"),
    ),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "An endless `text/event-stream`; each event's `data:` is one state change as JSON",
            body = ConnectorStateChange, content_type = "text/event-stream"),
        (status = 400, description = "The query string cannot be read", body = Problem, content_type = problem_json()),
        Unauthenticated,
        (status = 422, description = "Bad `after`, `connector`, `kind` or `Last-Event-ID`; `errors` names it", body = Problem, content_type = problem_json()),
    ))]
async fn stream_events(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(pairs) = query.map_err(|e| crate::body::query_problem(&e.body_text()))?;
    let q = parse_query(pairs)?;
    let last_event_id = last_event_id(&headers)?;
    let scope = tenant.read_scope();
    if let Some(id) = q.connector {
        let visible = store::get(&state.db, id)
            .await?
            .is_some_and(|c| scope.is_none_or(|t| t == c.tenant_id));
        if !visible {
            // Another tenant's connector reads as unknown, as elsewhere.
            return Err(Problem::field(
                "connector",
                "unknown_connector",
                format!("there is no connector {id}"),
            ));
        }
    }
    let after = match last_event_id.or(q.after) {
        Some(id) => id,
        // Fixed now, not at the first poll: an event committed while the
        // response is on its way is still "after the request".
        None => {
            store::events_since(&state.db, scope, None, None, None, BATCH)
                .await?
                .1
        }
    };
    tracing::info!(tenant = %tenant.name, role = %tenant.role, after, connector = ?q.connector, kind = ?q.kind, "event stream opened");
    let poller = Poller {
        db: state.db.clone(),
        scope,
        connector: q.connector,
        kind: q.kind,
        after,
        pending: VecDeque::new(),
        opened: false,
        caught_up: false,
        failed_polls: 0,
    };
    let sse = Sse::new(poller.into_stream())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"));
    // nginx buffers responses unless told not to, which would hold events.
    Ok(([(HeaderName::from_static("x-accel-buffering"), "no")], sse).into_response())
}

fn parse_query(pairs: Vec<(String, String)>) -> Result<EventsQuery, Problem> {
    let mut q = EventsQuery::default();
    let mut errors = Vec::new();
    let mut seen: Vec<&'static str> = Vec::new();
    for (key, value) in pairs {
        let field = match key.as_str() {
            "after" => "after",
            "connector" => "connector",
            "kind" => "kind",
            _ => continue,
        };
        if seen.contains(&field) {
            errors.push(FieldError {
                field: field.into(),
                code: "repeated".into(),
                detail: format!("{field} is given more than once"),
            });
            continue;
        }
        seen.push(field);
        let value = value.trim();
        match field {
            "after" => match parse_event_id(value) {
                Ok(id) => q.after = Some(id),
                Err(detail) => errors.push(FieldError {
                    field: "after".into(),
                    code: "invalid_value".into(),
                    detail: format!("after {detail}"),
                }),
            },
            "connector" => match Uuid::parse_str(value) {
                Ok(id) => q.connector = Some(id),
                Err(_) => errors.push(FieldError {
                    field: "connector".into(),
                    code: "invalid_value".into(),
                    detail: format!("connector must be a connector id (a UUID), not `{value}`"),
                }),
            },
            _ => match value.parse::<onramp_state_machines::ConnectorKind>() {
                Ok(kind) => q.kind = Some(kind.as_str().to_string()),
                Err(e) => errors.push(FieldError {
                    field: "kind".into(),
                    code: "unknown_kind".into(),
                    detail: format!(
                        "{e}; supported: {}",
                        onramp_state_machines::ConnectorKind::list()
                    ),
                }),
            },
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(Problem::invalid(errors))
    }
}

/// An event id as a client sends it back: a non-negative integer.
fn parse_event_id(value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(id),
        _ => Err(format!(
            "must be an event id (an integer, 0 or more), not `{value}`"
        )),
    }
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(v) = headers.get(LAST_EVENT_ID) else {
        return Ok(None);
    };
    let invalid = |detail: String| {
        Problem::field("Last-Event-ID", "invalid_value", detail)
            .with_hint("send back the `id:` of the last event received, or omit the header")
    };
    let text = v
        .to_str()
        .map_err(|_| invalid("Last-Event-ID is not ASCII".into()))?
        .trim();
    // An EventSource that has seen no id sends none; an empty one means
    // the same.
    if text.is_empty() {
        return Ok(None);
    }
    parse_event_id(text)
        .map(Some)
        .map_err(|d| invalid(format!("Last-Event-ID {d}")))
}

/// One stream's cursor and the events read but not yet sent.
struct Poller {
    db: DatabaseConnection,
    scope: Option<Uuid>,
    connector: Option<Uuid>,
    kind: Option<String>,
    /// Every event id up to this one has been read (or judged never to
    /// come, see `store::events_since`).
    after: i64,
    pending: VecDeque<Event>,
    opened: bool,
    /// The last poll found nothing more to read: wait before the next.
    caught_up: bool,
    failed_polls: u32,
}

impl Poller {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures::stream::unfold(self, |mut p| async move {
            let event = p.next().await?;
            Some((Ok(event), p))
        })
    }

    /// The next frame, or `None` to end the stream.
    async fn next(&mut self) -> Option<Event> {
        if !self.opened {
            self.opened = true;
            return Some(
                Event::default()
                    .comment("onramp connector events")
                    .id(self.after.to_string())
                    .retry(RETRY),
            );
        }
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if self.caught_up {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            if !self.poll().await {
                return None;
            }
        }
    }

    /// Reads the next batch into `pending`; false once the database has
    /// failed too often in a row.
    async fn poll(&mut self) -> bool {
        let read = store::events_since(
            &self.db,
            self.scope,
            self.connector,
            self.kind.as_deref(),
            Some(self.after),
            BATCH,
        )
        .await;
        let (rows, through) = match read {
            Ok(r) => r,
            Err(e) => {
                self.failed_polls += 1;
                self.caught_up = true;
                tracing::warn!(error = %e, failed_polls = self.failed_polls, "event stream poll failed");
                return self.failed_polls < MAX_FAILED_POLLS;
            }
        };
        self.failed_polls = 0;
        // A full batch means more is waiting: read on without a pause.
        self.caught_up = through - self.after < BATCH as i64;
        self.after = through;
        for (e, c) in rows {
            let change = ConnectorStateChange::new(e, &c);
            match Event::default()
                .id(change.id.to_string())
                .event(change.channel_name())
                .json_data(&change)
            {
                Ok(ev) => self.pending.push_back(ev),
                Err(err) => {
                    tracing::error!(event = change.id, error = %err, "event not serializable")
                }
            }
        }
        true
    }
}
