//! Measures each active link against its SLA, every `interval`: the
//! latest latency, jitter and loss of the probes between its PEs (from
//! Prometheus), in each direction, against the link's thresholds. Crossing
//! into breach, or back, is recorded once (compare-and-set, so several
//! workers may evaluate) on the link's timeline and its members'.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use onramp_prometheus::PromClient;
use onramp_prometheus::kpi::LinkKpi;
use onramp_store::DatabaseConnection;
use onramp_store::entity::link;
use onramp_store::links::sla::{self, Breach, BreachedMeasure, SlaSettings, Thresholds};

#[derive(Clone, Debug)]
pub struct SlaConfig {
    pub prometheus: PromClient,
    pub interval: Duration,
}

/// The latest value of each measure per direction (from, to).
type Latest = BTreeMap<(String, String), BTreeMap<&'static str, f64>>;

async fn latest(prom: &PromClient, vrf: &str) -> Result<Latest, onramp_prometheus::Error> {
    let mut out = Latest::new();
    let now = Utc::now();
    for kpi in LinkKpi::ALL {
        for s in prom.query(&kpi.promql(vrf), now).await? {
            let Some((_, v)) = s.points.last() else {
                continue;
            };
            let dir = (
                s.labels.get("pe").cloned().unwrap_or_default(),
                s.labels
                    .get("pingCtlOwnerIndex")
                    .cloned()
                    .unwrap_or_default(),
            );
            out.entry(dir).or_default().insert(kpi.name(), *v);
        }
    }
    Ok(out)
}

/// What is above its threshold, per direction, in a stable order.
fn breached(latest: &Latest, t: &Thresholds) -> Vec<BreachedMeasure> {
    let mut out = Vec::new();
    for ((from, to), values) in latest {
        for (name, threshold) in [
            ("latency_ms", t.latency_ms),
            ("jitter_ms", t.jitter_ms),
            ("loss_percent", t.loss_percent),
        ] {
            if let Some(v) = values.get(name)
                && *v > threshold
            {
                out.push(BreachedMeasure {
                    measure: name.into(),
                    value: *v,
                    threshold,
                    from_pe: from.clone(),
                    to_pe: to.clone(),
                });
            }
        }
    }
    out
}

/// Why one link was not evaluated this time.
#[derive(Debug, thiserror::Error)]
enum EvalError {
    #[error(transparent)]
    Store(#[from] onramp_store::Error),
    #[error(transparent)]
    Prometheus(#[from] onramp_prometheus::Error),
}

async fn evaluate(
    db: &DatabaseConnection,
    prom: &PromClient,
    l: &link::Model,
) -> Result<(), EvalError> {
    let settings = SlaSettings::from_json(&l.sla)?;
    let latest = latest(prom, &l.vrf_name).await?;
    if latest.is_empty() {
        // No measurement (fewer than two PEs, or none scraped yet): the
        // SLA is neither met nor breached, so nothing is recorded.
        return Ok(());
    }
    let now = breached(&latest, &settings.thresholds());
    let was = l.sla_breach.as_deref().map(Breach::from_json).transpose()?;
    match (&was, now.is_empty()) {
        (None, false) => {
            let message = format!("SLA breached: {}", sla::describe(&now));
            let breach = Breach {
                since: Utc::now(),
                measures: now,
            };
            if sla::record_change(db, l, Some(&breach), &message).await? {
                tracing::warn!(link = %l.id, %message, "link SLA breached");
            }
        }
        (Some(b), true) => {
            let lasted = Utc::now() - b.since;
            let message = format!(
                "SLA met again after {} s: latency, jitter and loss within the link's thresholds",
                lasted.num_seconds()
            );
            if sla::record_change(db, l, None, &message).await? {
                tracing::info!(link = %l.id, "link SLA met again");
            }
        }
        _ => {}
    }
    Ok(())
}

/// Evaluates every active link each `cfg.interval` until shutdown.
pub async fn run_sla(
    db: DatabaseConnection,
    cfg: SlaConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match sla::active_links(&db).await {
            Ok(links) => {
                for l in links {
                    if let Err(e) = evaluate(&db, &cfg.prometheus, &l).await {
                        tracing::warn!(link = %l.id, error = %e, "SLA evaluation failed; retrying");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading links for the SLA failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_above_its_threshold_is_a_breach() {
        let mut latest = Latest::new();
        latest.insert(
            ("pe1".into(), "pe2".into()),
            BTreeMap::from([
                ("latency_ms", 5.0),
                ("jitter_ms", 1.0),
                ("loss_percent", 60.0),
            ]),
        );
        latest.insert(
            ("pe2".into(), "pe1".into()),
            BTreeMap::from([("latency_ms", 5.0), ("loss_percent", 1.0)]),
        );
        let t = SlaSettings::default().thresholds();
        let b = breached(&latest, &t);
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(
            (
                b[0].measure.as_str(),
                b[0].from_pe.as_str(),
                b[0].to_pe.as_str()
            ),
            ("loss_percent", "pe1", "pe2")
        );
    }
}
