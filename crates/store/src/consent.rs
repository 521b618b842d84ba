//! Consents: acceptances and withdrawals, per user and kind.

use sqlx::Row;

#[allow(unused_imports)]
use crate::types::ConsentKind;
use crate::{Result, Store, Tx};

/// A consent accepted and not withdrawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConsent {
    pub kind: ConsentKind,
    pub version: String,
    pub accepted_at: String,
}

impl Store {
    /// The consents a user has accepted and not withdrawn.
    pub async fn live_consents(&self, user_id: &str) -> Result<Vec<LiveConsent>> {
        let rows = sqlx::query(
            "SELECT kind, version, accepted_at FROM consents WHERE user_id = $1 \
             AND withdrawn_at IS NULL ORDER BY accepted_at",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LiveConsent {
                    kind: ConsentKind::from_stored(&r.try_get::<String, _>("kind")?)?,
                    version: r.try_get("version")?,
                    accepted_at: r.try_get("accepted_at")?,
                })
            })
            .collect()
    }

    /// Everyone on a case: the owner and the members.
    pub async fn participants(&self, case_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT owner_id AS user_id FROM cases WHERE id = $1 \
             UNION SELECT user_id FROM case_members WHERE case_id = $1",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("user_id")?)).collect()
    }
}

impl Tx {
    pub async fn accept_consent(
        &mut self,
        id: &str,
        user_id: &str,
        kind: ConsentKind,
        version: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, user_id, kind, version, accepted_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(user_id)
        .bind(kind.as_str())
        .bind(version)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Withdraws every live acceptance of `kind`; returns how many were withdrawn.
    pub async fn withdraw_consent(&mut self, user_id: &str, kind: ConsentKind) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE consents SET withdrawn_at = $1 WHERE user_id = $2 AND kind = $3 AND withdrawn_at IS NULL",
        )
        .bind(&self.now)
        .bind(user_id)
        .bind(kind.as_str())
        .execute(&mut *self.tx)
        .await?
        .rows_affected())
    }
}
