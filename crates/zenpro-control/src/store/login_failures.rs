//! Failed password logins per (username, client address), for the login rate limit. Kept in
//! the database so the limit holds across replicas.

use uuid::Uuid;
use zenpro_types::Error;

use super::Store;
use crate::q;

impl Store {
    /// Failures of (username, address) since `since` (stored time text), and the oldest of them.
    pub async fn login_failures_since(
        &self,
        username: &str,
        address: &str,
        since: &str,
    ) -> Result<(i64, Option<String>), Error> {
        let rows: Vec<crate::db::Row> = self
            .all(q!(
                "SELECT COUNT(*) AS n, MIN(created) AS oldest FROM login_failures WHERE username = ? AND address = ? AND created > ?",
                username,
                address,
                since
            ))
            .await?;
        Ok(rows.first().map(|r| (r.i64("n"), r.opt_str("oldest"))).unwrap_or((0, None)))
    }

    /// Record a failure and forget failures older than `forget_before`.
    pub async fn record_login_failure(&self, username: &str, address: &str, forget_before: &str) -> Result<(), Error> {
        self.exec(q!("DELETE FROM login_failures WHERE created < ?", forget_before), "conflict").await?;
        self.exec(
            q!(
                "INSERT INTO login_failures (id, username, address, created) VALUES (?, ?, ?, ?)",
                Uuid::new_v4(),
                username,
                address,
                crate::now_text()
            ),
            "conflict",
        )
        .await
        .map(|_| ())
    }

    /// Forget the failures of (username, address) after a successful login.
    pub async fn clear_login_failures(&self, username: &str, address: &str) -> Result<(), Error> {
        self.exec(q!("DELETE FROM login_failures WHERE username = ? AND address = ?", username, address), "conflict")
            .await
            .map(|_| ())
    }
}
