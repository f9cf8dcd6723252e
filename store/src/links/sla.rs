//! A link's SLA: the thresholds it is measured against (a product profile,
//! each value overridable per link), and the breach under way. The
//! evaluation (the worker) records a breach or a recovery by
//! compare-and-set on the link's `sla_breach`, so that of two workers that
//! saw the same thing only one writes it; the same transaction puts it on
//! the link's timeline and on each member connector's (where the event
//! stream and the webhooks carry it).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entity::{connector, connector_event, link, link_member};
use crate::{Error, Result};

/// One product's thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// Average round trip, ms.
    pub latency_ms: f64,
    /// Standard deviation of the round trips, ms.
    pub jitter_ms: f64,
    /// Probes lost, percent.
    pub loss_percent: f64,
}

/// The products' default thresholds, by name.
pub const PROFILES: [(&str, Thresholds); 2] = [
    (
        "standard",
        Thresholds {
            latency_ms: 50.0,
            jitter_ms: 10.0,
            loss_percent: 1.0,
        },
    ),
    (
        "premium",
        Thresholds {
            latency_ms: 20.0,
            jitter_ms: 5.0,
            loss_percent: 0.1,
        },
    ),
];

pub const DEFAULT_PROFILE: &str = "standard";

/// What a link's `sla` column holds: a profile and any overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_percent: Option<f64>,
}

/// A setting the API refuses: the field, a code and why.
pub type Invalid = (String, String, String);

impl SlaSettings {
    pub fn from_json(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("link SLA"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("SLA settings serialize")
    }

    pub fn profile(&self) -> &str {
        self.profile.as_deref().unwrap_or(DEFAULT_PROFILE)
    }

    /// The thresholds in force: the profile's, overridden where set.
    pub fn thresholds(&self) -> Thresholds {
        let base = PROFILES
            .iter()
            .find(|(n, _)| *n == self.profile())
            .map_or(PROFILES[0].1, |(_, t)| *t);
        Thresholds {
            latency_ms: self.latency_ms.unwrap_or(base.latency_ms),
            jitter_ms: self.jitter_ms.unwrap_or(base.jitter_ms),
            loss_percent: self.loss_percent.unwrap_or(base.loss_percent),
        }
    }

    /// Every problem, each with the field (under `at`) at fault.
    pub fn check(&self, at: &str) -> Vec<Invalid> {
        let mut out = Vec::new();
        if let Some(p) = &self.profile
            && !PROFILES.iter().any(|(n, _)| n == p)
        {
            let names: Vec<&str> = PROFILES.iter().map(|(n, _)| *n).collect();
            out.push((
                format!("{at}.profile"),
                "unknown_profile".into(),
                format!(
                    "`{p}` is not an SLA profile; available: {}",
                    names.join(", ")
                ),
            ));
        }
        for (name, value, range) in [
            ("latency_ms", self.latency_ms, (0.1, 10_000.0)),
            ("jitter_ms", self.jitter_ms, (0.1, 10_000.0)),
            ("loss_percent", self.loss_percent, (0.0, 100.0)),
        ] {
            if let Some(v) = value
                && !(v.is_finite() && v >= range.0 && v <= range.1)
            {
                out.push((
                    format!("{at}.{name}"),
                    "out_of_range".into(),
                    format!("{name} must be {} to {}, not {v}", range.0, range.1),
                ));
            }
        }
        out
    }
}

/// One measure above its threshold, in one direction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreachedMeasure {
    /// `latency_ms`, `jitter_ms` or `loss_percent`.
    pub measure: String,
    pub value: f64,
    pub threshold: f64,
    pub from_pe: String,
    pub to_pe: String,
}

/// What a link's `sla_breach` column holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub since: DateTime<Utc>,
    pub measures: Vec<BreachedMeasure>,
}

impl Breach {
    pub fn from_json(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(crate::error::corrupt("link SLA breach"))
    }
}

/// How each breached measure reads on a timeline.
pub fn describe(measures: &[BreachedMeasure]) -> String {
    measures
        .iter()
        .map(|m| {
            format!(
                "{} {:.1} above {:.1} ({} → {})",
                m.measure.replace('_', " "),
                m.value,
                m.threshold,
                m.from_pe,
                m.to_pe
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub const EVENT_BREACHED: &str = "sla_breached";
pub const EVENT_RECOVERED: &str = "sla_recovered";

/// Replaces the link's breach (`was`, as read) with `now`, and records
/// the change on the link's timeline and each live member connector's.
/// False when someone else changed it first (nothing is written).
pub async fn record_change(
    db: &DatabaseConnection,
    link: &link::Model,
    now: Option<&Breach>,
    message: &str,
) -> Result<bool> {
    let tx = crate::db::begin_write(db).await?;
    let mut update = link::Entity::update_many()
        .col_expr(
            link::Column::SlaBreach,
            Expr::value(now.map(|b| serde_json::to_string(b).expect("breach serializes"))),
        )
        .filter(link::Column::Id.eq(link.id));
    update = match &link.sla_breach {
        Some(was) => update.filter(link::Column::SlaBreach.eq(was.clone())),
        None => update.filter(link::Column::SlaBreach.is_null()),
    };
    if update.exec(&tx).await?.rows_affected != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let event = if now.is_some() {
        EVENT_BREACHED
    } else {
        EVENT_RECOVERED
    };
    super::record(
        &tx,
        link.id,
        link.step,
        event,
        None,
        &link.state,
        message,
        "onramp",
    )
    .await?;
    for m in link_member::Entity::find()
        .filter(link_member::Column::LinkId.eq(link.id))
        .filter(link_member::Column::State.ne(super::REMOVED))
        .all(&tx)
        .await?
    {
        let Some(c) = connector::Entity::find_by_id(m.connector_id)
            .one(&tx)
            .await?
        else {
            continue;
        };
        connector_event::Entity::insert(connector_event::ActiveModel {
            connector_id: Set(c.id),
            step: Set(c.step),
            event: Set(format!("link_{event}")),
            from_state: Set(Some(c.state.clone())),
            to_state: Set(c.state.clone()),
            message: Set(format!("link {} ({}): {message}", link.name, link.id)),
            actor: Set("onramp".into()),
            at: Set(Utc::now()),
            link_id: Set(Some(link.id)),
            ..Default::default()
        })
        .exec(&tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Sets the link's SLA settings (already checked).
pub async fn set(db: &impl ConnectionTrait, link_id: Uuid, s: &SlaSettings) -> Result<()> {
    let done = link::Entity::update_many()
        .col_expr(link::Column::Sla, Expr::value(s.to_json()))
        .col_expr(link::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(link::Column::Id.eq(link_id))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound {
            what: format!("link {link_id}"),
        });
    }
    Ok(())
}

/// Active links, for the evaluation.
pub async fn active_links(db: &impl ConnectionTrait) -> Result<Vec<link::Model>> {
    Ok(link::Entity::find()
        .filter(link::Column::State.eq(super::ACTIVE))
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_come_from_the_profile_with_overrides() {
        let s = SlaSettings::default();
        assert_eq!(s.thresholds(), PROFILES[0].1);
        let s = SlaSettings {
            profile: Some("premium".into()),
            loss_percent: Some(0.5),
            ..SlaSettings::default()
        };
        let t = s.thresholds();
        assert_eq!((t.latency_ms, t.loss_percent), (20.0, 0.5));
    }

    #[test]
    fn bad_settings_name_their_fields() {
        let s = SlaSettings {
            profile: Some("gold".into()),
            latency_ms: Some(0.0),
            loss_percent: Some(101.0),
            jitter_ms: Some(f64::NAN),
        };
        let fields: Vec<String> = s.check("sla").into_iter().map(|(f, _, _)| f).collect();
        assert_eq!(
            fields,
            [
                "sla.profile",
                "sla.latency_ms",
                "sla.jitter_ms",
                "sla.loss_percent"
            ]
        );
    }
}
