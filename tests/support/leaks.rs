//! Where a secret must not be: anywhere onramp keeps data or writes logs.

use anyhow::{Result, bail};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::Stack;

impl Stack {
    /// Fails if `secret` is in the database (every table; for SQLite the
    /// raw database and WAL files, so nothing escapes a query) or in any
    /// log the API and workers wrote. `what` names it in the failure.
    pub(crate) async fn assert_kept_nowhere(&self, secret: &str, what: &str) -> Result<()> {
        let needle = secret.as_bytes();
        let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        for entry in std::fs::read_dir(self.dir.path())?.flatten() {
            let p = entry.path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let is_db = name.starts_with("onramp.db");
            let is_log = name.ends_with(".log");
            if (is_db || is_log) && contains(&std::fs::read(&p)?) {
                bail!("{what} found in clear in {}", p.display());
            }
        }
        if self.db.get_database_backend() == DbBackend::Postgres {
            let tables = self
                .db
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
                ))
                .await?;
            for t in tables {
                let table: String = t.try_get("", "table_name")?;
                let sql = format!(
                    "SELECT count(*) AS n FROM \"{table}\" t WHERE t::text LIKE '%' || $1 || '%'"
                );
                let row = self
                    .db
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        &sql,
                        [secret.into()],
                    ))
                    .await?;
                let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
                if n > 0 {
                    bail!("{what} found in clear in table {table}");
                }
            }
        }
        Ok(())
    }
}
