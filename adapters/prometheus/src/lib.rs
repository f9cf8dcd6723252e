//! Prometheus, as onramp reads it: the HTTP API's instant and range
//! queries ([`PromClient`]), and the PromQL of each customer KPI over the
//! series the SNMP exporter makes of the PEs' agents ([`kpi`]).

pub mod kpi;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Prometheus at {url} is unreachable: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("Prometheus refused the query ({kind}): {detail}")]
    Query { kind: String, detail: String },
    #[error("Prometheus answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("Prometheus's answer is not what its API documents: {0}")]
    Protocol(String),
}

/// One series: its labels and its points (unix seconds, value), oldest
/// first. Points that are not numbers (NaN, ±Inf) are left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(i64, f64)>,
}

#[derive(Clone, Debug)]
pub struct PromClient {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

impl PromClient {
    /// `base`: where Prometheus serves, e.g. `http://127.0.0.1:9090`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Protocol(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `promql` evaluated every `step` from `start` to `end`.
    pub async fn query_range(
        &self,
        promql: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
    ) -> Result<Vec<Series>, Error> {
        let params = [
            ("query", promql.to_string()),
            ("start", start.timestamp().to_string()),
            ("end", end.timestamp().to_string()),
            ("step", format!("{}s", step.as_secs().max(1))),
        ];
        self.ask("/api/v1/query_range", &params, "matrix").await
    }

    /// `promql` evaluated at `at`: each series with one point.
    pub async fn query(&self, promql: &str, at: DateTime<Utc>) -> Result<Vec<Series>, Error> {
        let params = [
            ("query", promql.to_string()),
            ("time", at.timestamp().to_string()),
        ];
        self.ask("/api/v1/query", &params, "vector").await
    }

    async fn ask(
        &self,
        path: &str,
        params: &[(&str, String)],
        expect: &str,
    ) -> Result<Vec<Series>, Error> {
        let url = format!("{}{path}", self.base);
        let r = self
            .http
            .post(&url)
            .form(params)
            .send()
            .await
            .map_err(|e| Error::Unreachable {
                url: self.base.clone(),
                detail: e.to_string(),
            })?;
        let status = r.status();
        let body = r.text().await.map_err(|e| Error::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        })?;
        let env: Envelope = serde_json::from_str(&body).map_err(|_| Error::Status {
            status: status.as_u16(),
            detail: body.chars().take(300).collect(),
        })?;
        if env.status != "success" {
            return Err(Error::Query {
                kind: env.error_type.unwrap_or_else(|| "error".into()),
                detail: env.error.unwrap_or_default(),
            });
        }
        let data = env
            .data
            .ok_or_else(|| Error::Protocol("success without data".into()))?;
        if data.result_type != expect {
            return Err(Error::Protocol(format!(
                "expected a {expect}, got a {}",
                data.result_type
            )));
        }
        Ok(data
            .result
            .into_iter()
            .map(|s| Series {
                labels: s.metric,
                points: s
                    .values
                    .into_iter()
                    .chain(s.value)
                    .filter_map(|(t, v)| {
                        let v: f64 = v.parse().ok()?;
                        v.is_finite().then_some((t as i64, v))
                    })
                    .collect(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;

    async fn serve(body: &'static str, status: u16) -> String {
        let app = Router::new().route(
            "/api/v1/query_range",
            post(move || async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    body,
                )
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn client(base: &str) -> PromClient {
        PromClient::new(base, Duration::from_secs(5)).unwrap()
    }

    #[tokio::test]
    async fn a_matrix_reads_as_series_without_the_non_numbers() {
        let base = serve(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"pe":"pe1"},"values":[[1700000000,"1.5"],[1700000015,"NaN"],[1700000030,"2"]]}]}}"#,
            200,
        )
        .await;
        let s = client(&base)
            .query_range("up", Utc::now(), Utc::now(), Duration::from_secs(15))
            .await
            .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels["pe"], "pe1");
        assert_eq!(s[0].points, [(1_700_000_000, 1.5), (1_700_000_030, 2.0)]);
    }

    #[tokio::test]
    async fn refusals_and_outages_say_what_happened() {
        let base = serve(
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#,
            400,
        )
        .await;
        let e = client(&base)
            .query_range("up{", Utc::now(), Utc::now(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Query { kind, .. } if kind == "bad_data"),
            "{e}"
        );
        let e = client("http://127.0.0.1:9")
            .query_range("up", Utc::now(), Utc::now(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        let base = serve("<html>bad gateway</html>", 502).await;
        let e = client(&base)
            .query_range("up", Utc::now(), Utc::now(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Status { status: 502, .. }), "{e}");
    }
}
