//! Documents on a case: PDF reports, images and zipped DICOM studies. Uploads are size
//! limited, their type is sniffed from the bytes (a declared type that disagrees is refused),
//! file names are made harmless, and the bytes are stored encrypted (AES-256-GCM, a random
//! nonce per file) with a key from configuration. Only those who may read the case download.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::policy::Action;
use crate::{Actor, ApiError, ErrorCode, Shared};

/// What the bytes say a file is.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"PK\x03\x04") {
        // A zipped DICOM study arrives as a ZIP archive.
        Some("application/zip")
    } else {
        None
    }
}

/// Characters that change how text is displayed without being seen: direction overrides
/// and isolates (U+202E makes `scan\u{202E}gnp.exe` show as `scanexe.png`), zero-width
/// characters and the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// A file name safe to store and to send back: no directories, no control, direction or
/// invisible characters, no quotes, at most 200 characters; never empty.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !invisible(*c)
                && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':')
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "document".to_owned()
    } else {
        cleaned
    }
}

/// The name with the extension of what the file is: `report.html` holding a PDF is stored
/// as `report.pdf`, so that nothing downstream opens it as a web page.
pub fn with_true_extension(name: &str, sniffed: &str) -> String {
    let (good, ext): (&[&str], &str) = match sniffed {
        "application/pdf" => (&["pdf"], "pdf"),
        "image/png" => (&["png"], "png"),
        "image/jpeg" => (&["jpg", "jpeg"], "jpg"),
        "application/zip" => (&["zip"], "zip"),
        _ => (&[], "bin"),
    };
    let (stem, current) = match name.rsplit_once('.') {
        Some((stem, e)) if !stem.is_empty() => (stem, Some(e.to_ascii_lowercase())),
        _ => (name, None),
    };
    match current {
        Some(e) if good.contains(&e.as_str()) => name.to_owned(),
        _ => format!("{stem}.{ext}"),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Encrypts a document: a random 12-byte nonce, then AES-256-GCM of the bytes.
pub fn seal(cipher: &Aes256Gcm, plain: &[u8]) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), plain)
        .map_err(|e| e.to_string())?;
    let mut stored = nonce.to_vec();
    stored.extend_from_slice(&sealed);
    Ok(stored)
}

/// Decrypts what [`seal`] stored; fails on a wrong key or altered bytes.
pub fn unseal(cipher: &Aes256Gcm, stored: &[u8]) -> Result<Vec<u8>, String> {
    if stored.len() < 12 {
        return Err("stored document shorter than its nonce".into());
    }
    let (nonce, sealed) = stored.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| "nonce".to_owned())?;
    cipher
        .decrypt(&Nonce::from(nonce), sealed)
        .map_err(|_| "cannot decrypt: a wrong key, or altered bytes".to_owned())
}

/// The cipher for a 32-byte key.
pub fn cipher_for(key: &[u8; 32]) -> Result<Aes256Gcm, String> {
    Aes256Gcm::new_from_slice(key).map_err(|e| e.to_string())
}

fn cipher(state: &Shared) -> Result<Aes256Gcm, ApiError> {
    let key = state.config.document_key.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::DocumentsDisabled,
            "documents need an encryption key (CELLPATH_DOCUMENT_KEY)",
        )
    })?;
    Aes256Gcm::new_from_slice(key.expose()).map_err(ApiError::internal)
}

fn path_of(state: &Shared, id: &str) -> std::path::PathBuf {
    state.config.documents_dir.join(format!("{id}.enc"))
}

/// `?name=` gives the file name; absent, the document is called "document".
#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: Option<String>,
}

pub async fn upload(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::EditRecord).await?;
    let cipher = cipher(&state)?;
    let max = state.config.max_document;
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(
            ErrorCode::TooLarge,
            format!("documents are limited to {} MB", max / (1024 * 1024)),
        )
    })?;
    let sniffed = sniff(&bytes).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedType,
            "send a PDF, a PNG or JPEG image, or a zipped DICOM study",
        )
    })?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if let Some(d) = declared.filter(|d| d != "application/octet-stream")
        && d != sniffed
    {
        return Err(ApiError::new(
            ErrorCode::Mislabelled,
            format!("declared {d}, but the file is {sniffed}"),
        ));
    }
    if sniffed == "application/zip" {
        let max = (state.config.max_document as u64).saturating_mul(8);
        let zip = bytes.clone();
        tokio::task::spawn_blocking(move || crate::zipcheck::check_dicom_zip(&zip, max))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::UnsupportedType,
                    format!("the ZIP is refused: {e}"),
                )
            })?;
    }
    // A per-case quota: one case cannot fill the disk.
    let used: i64 = state
        .store
        .documents(&id)
        .await?
        .iter()
        .map(|d| d.size)
        .sum();
    let quota = state.config.case_quota as i64;
    if used.saturating_add(bytes.len() as i64) > quota {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "the case's documents are limited to {} MB in all",
                quota / 1_000_000
            ),
        ));
    }
    let did = crate::auth::sortable_id("d");
    let stored = seal(&cipher, &bytes).map_err(ApiError::internal)?;
    let filename = with_true_extension(
        &safe_filename(q.name.as_deref().unwrap_or_default()),
        sniffed,
    );
    let size = i64::try_from(bytes.len()).map_err(ApiError::internal)?;
    let mut tx = state.change(&actor, "document.upload", Some(&id)).await?;
    tx.add_document(
        &did,
        &id,
        &actor.id,
        &filename,
        sniffed,
        size,
        &sha256_hex(&bytes),
    )
    .await?;
    if state.config.documents_in_database {
        // The bytes commit with the row and its audit entry, readable by every replica.
        tx.put_document_bytes(&did, &stored).await?;
        tx.commit().await?;
    } else {
        // Write then rename, so that a crash never leaves a half-written file in place; the
        // row commits last, so a row always has its file.
        let final_path = path_of(&state, &did);
        let tmp = final_path.with_extension("part");
        let dir = state.config.documents_dir.clone();
        let (tmp2, stored2) = (tmp.clone(), stored.clone());
        let write = async {
            tokio::task::spawn_blocking(move || {
                crate::private_fs::dir(&dir)?;
                crate::private_fs::write(&tmp2, &stored2)
            })
            .await
            .map_err(std::io::Error::other)??;
            tokio::fs::rename(&tmp, &final_path).await
        };
        if let Err(e) = write.await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(ApiError::internal(e));
        }
        if let Err(e) = tx.commit().await {
            let _ = tokio::fs::remove_file(&final_path).await;
            return Err(e.into());
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": did, "filename": filename, "content_type": sniffed, "size": size})),
    )
        .into_response())
}

pub async fn list(
    State(state): State<Shared>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let docs = state.store.documents(&id).await?;
    state
        .store
        .audit(&actor.id, "document.list", Some(&id), &actor.request_id)
        .await?;
    Ok(Json(json!({
        "documents": docs.iter().map(|d| json!({
            "id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size,
            "sha256": d.sha256, "uploaded_by": d.uploader_id, "created_at": d.created_at,
        })).collect::<Vec<_>>()
    })))
}

pub async fn download(
    State(state): State<Shared>,
    actor: Actor,
    Path((id, did)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state.authorise(&actor, &id, Action::ReadCase).await?;
    let doc = state
        .store
        .document(&id, &did)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let cipher = cipher(&state)?;
    let stored = match state.store.document_bytes(&did).await? {
        Some(bytes) => bytes,
        None => tokio::fs::read(path_of(&state, &did))
            .await
            .map_err(ApiError::internal)?,
    };
    let plain = unseal(&cipher, &stored).map_err(ApiError::internal)?;
    if sha256_hex(&plain) != doc.sha256 {
        return Err(ApiError::internal("nonce"));
    }
    state
        .store
        .audit(&actor.id, "document.download", Some(&id), &actor.request_id)
        .await?;
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(sniff(&plain).unwrap_or("application/octet-stream")),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let ascii: String = doc
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = doc
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((StatusCode::OK, h, plain).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_and_names() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"PK\x03\x04...."), Some("application/zip"));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\a\\report.pdf"), "report.pdf");
        assert_eq!(safe_filename("\u{0}\u{7}\"<>"), "document");
        assert_eq!(safe_filename(".hidden"), "hidden");
        assert_eq!(safe_filename("病理报告.pdf"), "病理报告.pdf");
        assert_eq!(safe_filename(&"a".repeat(500)).len(), 200);
    }
}
