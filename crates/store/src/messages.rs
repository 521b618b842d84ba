//! Messages on a case and in-app notifications.

#[allow(unused_imports)]
use crate::{Result, Store, StoreError, Tx, inserted, is_unique_violation};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub author_id: String,
    pub body: String,
    pub created_at: String,
}
crate::from_row!(MessageRow {
    id,
    author_id,
    body,
    created_at
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRow {
    pub id: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub text: String,
    pub created_at: String,
    pub read_at: Option<String>,
    /// The safety alert it tells of (its words are made from the alert when read).
    pub alert_id: Option<String>,
}
crate::from_row!(NotificationRow {
    id,
    case_id,
    kind,
    text,
    created_at,
    read_at,
    alert_id
});

impl Store {
    /// A case's messages, oldest first.
    pub async fn messages(&self, case_id: &str) -> Result<Vec<MessageRow>> {
        Ok(sqlx::query_as(
            "SELECT id, author_id, body, created_at FROM messages WHERE case_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A user's notifications, newest first.
    /// How many of one's notices of new messages on a case are unread.
    pub async fn unread_messages(&self, user_id: &str, case_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM notifications \
             WHERE user_id = $1 AND case_id = $2 AND kind = 'message' AND read_at IS NULL",
        )
        .bind(user_id)
        .bind(case_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn notifications(&self, user_id: &str) -> Result<Vec<NotificationRow>> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, kind, text, created_at, read_at, alert_id FROM notifications \
             WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Tx {
    pub async fn add_message(
        &mut self,
        id: &str,
        case_id: &str,
        author: &str,
        body: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO messages (id, case_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(case_id)
            .bind(author)
            .bind(body)
            .bind(&self.now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn notify(
        &mut self,
        id: &str,
        user_id: &str,
        case_id: Option<&str>,
        kind: &str,
        text: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, case_id, kind, text, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(case_id)
        .bind(kind)
        .bind(text)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Marks one of the user's notifications read; false when it is not theirs.
    pub async fn mark_read(&mut self, user_id: &str, id: &str) -> Result<bool> {
        Ok(
            sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3")
                .bind(&self.now)
                .bind(id)
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?
                .rows_affected()
                == 1,
        )
    }
}
