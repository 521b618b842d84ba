//! For tests: a fresh database per test: a SQLite file in a temp folder, or — when
//! `CELLPATH_TEST_POSTGRES` names a server (CI sets it) — a new PostgreSQL database there.

use crate::Store;

pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}_{}_{}",
        std::process::id(),
        t,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub async fn fresh() -> TestDb {
    match std::env::var("CELLPATH_TEST_POSTGRES") {
        Ok(base) if !base.is_empty() => {
            sqlx::any::install_default_drivers();
            let name = format!("cellpath_test_{}", unique());
            let admin = sqlx::AnyPool::connect(&base)
                .await
                .expect("connect to the PostgreSQL server named by CELLPATH_TEST_POSTGRES");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("create the test database");
            admin.close().await;
            let url = match base.rfind('/') {
                Some(i)
                    if base[..i].contains('@')
                        || base[..i].ends_with(|c: char| c.is_ascii_digit()) =>
                {
                    format!("{}/{name}", &base[..i])
                }
                _ => format!("{base}/{name}"),
            };
            let store = Store::connect(&url).await.expect("connect");
            store.migrate().await.expect("migrate");
            TestDb {
                store,
                url,
                _dir: None,
            }
        }
        _ => {
            let dir = std::env::temp_dir().join(format!("cellpath-store-{}", unique()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let url = format!("sqlite://{}", dir.join("cellpath.db").display());
            let store = Store::connect(&url).await.expect("connect");
            store.migrate().await.expect("migrate");
            TestDb {
                store,
                url,
                _dir: Some(TempDir(dir)),
            }
        }
    }
}

/// Single changes for storage tests, each its own transaction with a `test` audit entry.
pub struct Direct<'a>(pub &'a Store);

pub fn direct(store: &Store) -> Direct<'_> {
    Direct(store)
}

impl Direct<'_> {
    async fn begin(&self) -> crate::Result<crate::Tx> {
        self.0
            .begin(crate::NewAudit::new("test", "test", None, "test"))
            .await
    }

    pub async fn create_user(
        &self,
        id: &str,
        email: &str,
        hash: &str,
        role: &str,
        specialty: Option<&str>,
    ) -> crate::Result<()> {
        let mut tx = self.begin().await?;
        tx.create_user(id, email, hash, role, specialty).await?;
        tx.commit().await.map(|_| ())
    }

    pub async fn login_failed(&self, id: &str, limit: i64, until: &str) -> crate::Result<()> {
        let mut tx = self.begin().await?;
        tx.login_failed(id, limit, until).await?;
        tx.commit().await.map(|_| ())
    }

    pub async fn login_succeeded(&self, id: &str) -> crate::Result<()> {
        let mut tx = self.begin().await?;
        tx.login_succeeded(id).await?;
        tx.commit().await.map(|_| ())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> crate::Result<()> {
        let mut tx = self.begin().await?;
        tx.create_session(token_hash, user_id, csrf, expires_at)
            .await?;
        tx.commit().await.map(|_| ())
    }

    pub async fn delete_session(&self, token_hash: &str) -> crate::Result<()> {
        let mut tx = self.begin().await?;
        tx.delete_session(token_hash).await?;
        tx.commit().await.map(|_| ())
    }

    pub async fn create_case(
        &self,
        id: &str,
        owner: &str,
        by: &str,
        state: &str,
        record: &str,
    ) -> crate::Result<crate::CaseRow> {
        let mut tx = self.begin().await?;
        let c = tx
            .create_case(crate::NewCase {
                id,
                owner_id: owner,
                created_by: by,
                state,
                record,
            })
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn update_record(
        &self,
        id: &str,
        expected: Option<i64>,
        record: &str,
    ) -> crate::Result<crate::CaseRow> {
        let mut tx = self.begin().await?;
        let c = tx.update_record(id, expected, record).await?;
        tx.commit().await?;
        Ok(c)
    }
}
