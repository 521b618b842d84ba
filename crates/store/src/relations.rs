//! Care relations: who may open a case in a patient's name.

use sqlx::Row;

use crate::{Result, Store, Tx};

/// A relation between a patient and a caregiver or coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationRow {
    pub id: String,
    pub patient_id: String,
    pub user_id: String,
    /// `requested`, `active` or `revoked`.
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub decided_at: Option<String>,
}
crate::from_row!(RelationRow {
    id,
    patient_id,
    user_id,
    status,
    created_by,
    created_at,
    decided_at
});

impl Store {
    /// Whether `user_id` may act for `patient_id` (an active relation).
    pub async fn relation_active(&self, patient_id: &str, user_id: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM care_relations \
             WHERE patient_id = $1 AND user_id = $2 AND status = 'active'",
        )
        .bind(patient_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The relations a user is in, as the patient or as the other party, newest first.
    pub async fn relations_of(&self, user_id: &str) -> Result<Vec<RelationRow>> {
        Ok(sqlx::query_as(
            "SELECT id, patient_id, user_id, status, created_by, created_at, decided_at \
             FROM care_relations WHERE patient_id = $1 OR user_id = $1 \
             ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn relation(&self, id: &str) -> Result<Option<RelationRow>> {
        Ok(sqlx::query_as(
            "SELECT id, patient_id, user_id, status, created_by, created_at, decided_at \
             FROM care_relations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

impl Tx {
    pub async fn add_relation(
        &mut self,
        id: &str,
        patient_id: &str,
        user_id: &str,
        status: &str,
        by: &str,
    ) -> Result<()> {
        let decided = (status == "active").then(|| self.now.clone());
        sqlx::query(
            "INSERT INTO care_relations (id, patient_id, user_id, status, created_by, created_at, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(patient_id)
        .bind(user_id)
        .bind(status)
        .bind(by)
        .bind(&self.now)
        .bind(decided)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves a relation from `from` to `to`; false when it was not in `from`.
    pub async fn set_relation_status(&mut self, id: &str, from: &[&str], to: &str) -> Result<bool> {
        let mut changed = 0;
        for f in from {
            changed += sqlx::query(
                "UPDATE care_relations SET status = $1, decided_at = $2 WHERE id = $3 AND status = $4",
            )
            .bind(to)
            .bind(&self.now)
            .bind(id)
            .bind(*f)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        }
        Ok(changed == 1)
    }
}
