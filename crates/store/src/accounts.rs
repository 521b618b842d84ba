//! Accounts: users, sign-in failures, set-password links, API tokens and sessions.

use sqlx::Row;
use sqlx::any::AnyRow;

#[allow(unused_imports)]
use crate::{Result, Store, StoreError, Tx, inserted, is_unique_violation};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub specialty: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    /// `en` or `zh-CN`.
    pub lang: String,
    /// The name others see (the access list); absent until given.
    pub display_name: Option<String>,
}

fn user_from(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        specialty: r.try_get("specialty")?,
        failed_logins: i64::from(r.try_get::<i32, _>("failed_logins")?),
        locked_until: r.try_get("locked_until")?,
        lang: r.try_get("lang")?,
        display_name: r.try_get("display_name")?,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub csrf_token: String,
    pub expires_at: String,
}

/// An API token as its owner sees it (the secret is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenRow {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}
crate::from_row!(ApiTokenRow {
    id,
    name,
    scope,
    created_at,
    expires_at,
    revoked_at
});

impl Store {
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// Accounts in order of e-mail, `limit` from `offset` (the admin's list).
    pub async fn users(&self, offset: i64, limit: i64) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY email LIMIT $1 OFFSET $2")
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from).collect()
    }

    /// (user, scope) of a live API token.
    pub async fn api_token(&self, token_hash: &str, now: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT user_id, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("user_id")?, r.try_get("scope")?)))
            .transpose()
    }

    /// A user's API tokens.
    pub async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiTokenRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, scope, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A live session (not expired at `now`).
    pub async fn session(&self, token_hash: &str, now: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token, expires_at FROM sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                user_id: r.try_get("user_id")?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// A live session and its user, in one query (every signed-in request does this).
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: &str,
    ) -> Result<Option<(Session, User)>> {
        let row = sqlx::query(
            "SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let user = user_from(&r)?;
            Ok((
                Session {
                    user_id: user.id.clone(),
                    csrf_token: r.try_get("csrf_token")?,
                    expires_at: r.try_get("expires_at")?,
                },
                user,
            ))
        })
        .transpose()
    }
}

impl Tx {
    pub async fn create_user(
        &mut self,
        id: &str,
        email: &str,
        password_hash: &str,
        role: &str,
        specialty: Option<&str>,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, specialty, failed_logins, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .bind(role)
        .bind(specialty)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await;
        inserted(r)
    }

    pub async fn set_display_name(&mut self, id: &str, name: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The account's language (`en` or `zh-CN`), chosen on the pages' language switch.
    pub async fn set_lang(&mut self, id: &str, lang: &str) -> Result<()> {
        sqlx::query("UPDATE users SET lang = $1 WHERE id = $2")
            .bind(lang)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records a failed sign-in; after `limit` failures the account is locked until `until`.
    pub async fn login_failed(&mut self, id: &str, limit: i64, until: &str) -> Result<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(limit as i32)
        .bind(until)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn login_succeeded(&mut self, id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_password(&mut self, user_id: &str, password_hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn create_password_link(
        &mut self,
        token_hash: &str,
        user_id: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO password_links (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Uses a set-password link once: returns its user if it was live, and marks it used in
    /// the same statement so that two uses cannot both succeed.
    pub async fn use_password_link(
        &mut self,
        token_hash: &str,
        now: &str,
    ) -> Result<Option<String>> {
        let done = sqlx::query(
            "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT user_id FROM password_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(Some(row.try_get("user_id")?))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_api_token(
        &mut self,
        id: &str,
        token_hash: &str,
        user_id: &str,
        name: &str,
        scope: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, name, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(user_id)
        .bind(name)
        .bind(scope)
        .bind(&self.now)
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn revoke_api_token(&mut self, user_id: &str, id: &str) -> Result<bool> {
        Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(&self.now)
            .bind(id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn create_session(
        &mut self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(&self.now)
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Ends every session and revokes every API token of the account (after a new
    /// password: what the old one let in stops working). Returns (sessions, tokens) ended.
    pub async fn end_sessions_and_tokens(&mut self, user_id: &str) -> Result<(u64, u64)> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        let tokens = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(&self.now)
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok((sessions, tokens))
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
