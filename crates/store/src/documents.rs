//! Document metadata (the encrypted bytes live where `documents` storage says).

use sqlx::Row;
use sqlx::any::AnyRow;

#[allow(unused_imports)]
use crate::{Result, Store, StoreError, Tx, inserted, is_unique_violation};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub case_id: String,
    pub uploader_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
}

fn document_from(r: &AnyRow) -> Result<Document> {
    Ok(Document {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        uploader_id: r.try_get("uploader_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    pub async fn documents(&self, case_id: &str) -> Result<Vec<Document>> {
        let rows =
            sqlx::query("SELECT * FROM documents WHERE case_id = $1 ORDER BY created_at, id")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(document_from).collect()
    }

    pub async fn document(&self, case_id: &str, id: &str) -> Result<Option<Document>> {
        let row = sqlx::query("SELECT * FROM documents WHERE case_id = $1 AND id = $2")
            .bind(case_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(document_from).transpose()
    }
}

impl Tx {
    #[allow(clippy::too_many_arguments)]
    pub async fn add_document(
        &mut self,
        id: &str,
        case_id: &str,
        uploader: &str,
        filename: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO documents (id, case_id, uploader_id, filename, content_type, size, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(case_id)
        .bind(uploader)
        .bind(filename)
        .bind(content_type)
        .bind(size)
        .bind(sha256)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

/// Size of one stored chunk of a document's encrypted bytes.
pub const CHUNK: usize = 1024 * 1024;

impl Store {
    /// A document's encrypted bytes kept in the database, reassembled; `None` when the
    /// database holds no chunk of it (it lives in a folder).
    /// Every document's id (for re-encrypting them all under a new key).
    pub async fn document_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM documents ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(sqlx::Row::try_get::<String, _>(r, "id")?))
            .collect()
    }

    pub async fn document_bytes(&self, document_id: &str) -> Result<Option<Vec<u8>>> {
        let rows =
            sqlx::query("SELECT bytes FROM document_chunks WHERE document_id = $1 ORDER BY seq")
                .bind(document_id)
                .fetch_all(&self.pool)
                .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(&r.try_get::<Vec<u8>, _>("bytes")?);
        }
        Ok(Some(out))
    }
}

impl Tx {
    /// Keeps a document's encrypted bytes in the database, in chunks, inside the same
    /// transaction as its row.
    /// One chunk of a document's stored bytes, in order from 0.
    pub async fn put_document_chunk(
        &mut self,
        document_id: &str,
        seq: i64,
        bytes: &[u8],
    ) -> Result<()> {
        sqlx::query("INSERT INTO document_chunks (document_id, seq, bytes) VALUES ($1, $2, $3)")
            .bind(document_id)
            .bind(seq)
            .bind(bytes.to_vec())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Replaces a document's stored bytes (re-encryption under a new key).
    pub async fn replace_document_bytes(&mut self, document_id: &str, bytes: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM document_chunks WHERE document_id = $1")
            .bind(document_id)
            .execute(&mut *self.tx)
            .await?;
        self.put_document_bytes(document_id, bytes).await
    }

    pub async fn put_document_bytes(&mut self, document_id: &str, bytes: &[u8]) -> Result<()> {
        for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
            sqlx::query(
                "INSERT INTO document_chunks (document_id, seq, bytes) VALUES ($1, $2, $3)",
            )
            .bind(document_id)
            .bind(seq as i64)
            .bind(chunk.to_vec())
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}
