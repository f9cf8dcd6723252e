//! Hands Prometheus its scrape targets: every PE with an SNMP agent
//! (`snmp_target`), as a file-based service discovery file that Prometheus
//! watches. Rewritten when the inventory changes (looked at every
//! `interval`), by renaming a complete file into place so that Prometheus
//! never reads half of one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use onramp_store::DatabaseConnection;
use onramp_store::entity::pe_router;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// The service discovery file (`…/targets/onramp-pes.json`), in a
    /// directory Prometheus's `file_sd_configs` reads.
    pub sd_file: PathBuf,
    /// How often the inventory is looked at.
    pub interval: Duration,
}

/// The file's content: one group per PE, labelled with its name (what the
/// KPI queries select on).
pub async fn targets(db: &DatabaseConnection) -> onramp_store::Result<String> {
    let pes = pe_router::Entity::find()
        .filter(pe_router::Column::SnmpTarget.is_not_null())
        .order_by_asc(pe_router::Column::Name)
        .all(db)
        .await?;
    let groups: Vec<_> = pes
        .into_iter()
        .filter_map(|p| {
            let target = p.snmp_target?;
            Some(json!({"targets": [target], "labels": {"pe": p.name}}))
        })
        .collect();
    Ok(serde_json::to_string_pretty(&groups).expect("JSON serializes"))
}

fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    // Prometheus reads only `*.json`: the temporary name must not match.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

/// Keeps `cfg.sd_file` equal to the inventory's PE targets until shutdown.
pub async fn run_telemetry(
    db: DatabaseConnection,
    cfg: TelemetryConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut written: Option<String> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        match targets(&db).await {
            Ok(content) if written.as_ref() != Some(&content) => {
                match write_atomically(&cfg.sd_file, &content) {
                    Ok(()) => {
                        tracing::info!(file = %cfg.sd_file.display(), "Prometheus PE targets written");
                        written = Some(content);
                    }
                    Err(e) => tracing::warn!(
                        file = %cfg.sd_file.display(),
                        error = %e,
                        "Prometheus PE targets not written; retrying"
                    ),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the PE targets failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}
