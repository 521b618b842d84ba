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

/// Decrypts a stored document of either format: chunked (`sealed`), or the older single
/// piece (a 12-byte nonce, then AES-256-GCM of the whole); fails on a wrong key or altered
/// bytes.
pub fn open_stored(cipher: &Aes256Gcm, stored: &[u8]) -> Result<Vec<u8>, String> {
    if crate::sealed::is_chunked(stored) {
        return crate::sealed::Reader::new(stored, cipher.clone())
            .and_then(crate::sealed::Reader::read_all)
            .map_err(|e| e.to_string());
    }
    unseal(cipher, stored)
}

/// Seals a whole document in the chunked format (for tools that hold it anyway).
pub fn seal_chunked(cipher: &Aes256Gcm, plain: &[u8]) -> Result<Vec<u8>, String> {
    let mut w =
        crate::sealed::Writer::new(Vec::new(), cipher.clone()).map_err(|e| e.to_string())?;
    w.push(plain).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())
}

fn unseal(cipher: &Aes256Gcm, stored: &[u8]) -> Result<Vec<u8>, String> {
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
    pub name: Option<String>,
}

/// What an upload turned out to be, once received.
struct Received {
    sniffed: &'static str,
    size: u64,
    sha256: String,
}

/// Receives an upload into `tmp`, sealed chunk by chunk as it arrives: neither the plain
/// document nor its ciphertext is ever held whole in memory.
async fn receive(
    body: Body,
    tmp: &std::path::Path,
    cipher: Aes256Gcm,
    max: usize,
) -> Result<Received, ApiError> {
    use futures_util::StreamExt;
    let too_large = || {
        ApiError::new(
            ErrorCode::TooLarge,
            format!("documents are limited to {} MB", max / (1024 * 1024)),
        )
    };
    let file = crate::private_fs::create(tmp).map_err(ApiError::internal)?;
    let mut writer = crate::sealed::Writer::new(std::io::BufWriter::new(file), cipher)
        .map_err(ApiError::internal)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(16);
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidBody,
                "the upload broke off or was too large",
            )
        })?;
        size += piece.len() as u64;
        if size > max as u64 {
            return Err(too_large());
        }
        if head.len() < 16 {
            let take = (16 - head.len()).min(piece.len());
            head.extend_from_slice(&piece[..take]);
        }
        hasher.update(&piece);
        writer.push(&piece).map_err(ApiError::internal)?;
    }
    let sniffed = sniff(&head).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedType,
            "send a PDF, a PNG or JPEG image, or a zipped DICOM study",
        )
    })?;
    let out = writer.finish().map_err(ApiError::internal)?;
    out.into_inner()
        .map_err(|e| ApiError::internal(e.error().to_string()))?
        .sync_all()
        .map_err(ApiError::internal)?;
    Ok(Received {
        sniffed,
        size,
        sha256: hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

/// `POST /cases/{id}/documents`: streamed to disk encrypted in chunks as it arrives; then
/// its type is checked (a ZIP inspected record by record), the case's quota applied, and the
/// row written with its audit entry.
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
    let did = crate::auth::sortable_id("d");
    let dir = state.config.documents_dir.clone();
    let dir2 = dir.clone();
    tokio::task::spawn_blocking(move || crate::private_fs::dir(&dir2))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    // The scratch file sits beside the documents, so that the final rename is atomic.
    let tmp = dir.join(format!("{did}.part"));
    let result = accept_upload(
        &state, &actor, &id, &q, &headers, body, &tmp, &did, cipher, max,
    )
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn accept_upload(
    state: &Shared,
    actor: &Actor,
    id: &str,
    q: &UploadQuery,
    headers: &HeaderMap,
    body: Body,
    tmp: &std::path::Path,
    did: &str,
    cipher: Aes256Gcm,
    max: usize,
) -> Result<Response, ApiError> {
    let got = receive(body, tmp, cipher.clone(), max).await?;
    let sniffed = got.sniffed;
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
        let limit = (max as u64).saturating_mul(8);
        let (path, key, size) = (tmp.to_owned(), cipher.clone(), got.size);
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)
                .map_err(|_| crate::zipcheck::ZipError::Malformed("unreadable"))?;
            let mut src =
                crate::sealed::RandomAccess::new(std::io::BufReader::new(file), key, size)
                    .map_err(|_| crate::zipcheck::ZipError::Malformed("unreadable"))?;
            crate::zipcheck::check_dicom_zip(&mut src, limit)
        })
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
        .documents(id)
        .await?
        .iter()
        .map(|d| d.size)
        .sum();
    let quota = state.config.case_quota as i64;
    let size = i64::try_from(got.size).map_err(ApiError::internal)?;
    if used.saturating_add(size) > quota {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "the case's documents are limited to {} MB in all",
                quota / 1_000_000
            ),
        ));
    }
    let filename = with_true_extension(
        &safe_filename(q.name.as_deref().unwrap_or_default()),
        sniffed,
    );
    let mut tx = state.change(actor, "document.upload", Some(id)).await?;
    tx.add_document(did, id, &actor.id, &filename, sniffed, size, &got.sha256)
        .await?;
    if state.config.documents_in_database {
        // The sealed bytes commit with the row and its audit entry, readable by every
        // replica, a database chunk at a time.
        let mut file = tokio::fs::File::open(tmp)
            .await
            .map_err(ApiError::internal)?;
        let mut seq = 0i64;
        loop {
            let mut buf = vec![0u8; cellpath_store::DOCUMENT_CHUNK];
            let mut filled = 0;
            while filled < buf.len() {
                let n = tokio::io::AsyncReadExt::read(&mut file, &mut buf[filled..])
                    .await
                    .map_err(ApiError::internal)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            buf.truncate(filled);
            tx.put_document_chunk(did, seq, &buf).await?;
            seq += 1;
        }
        tx.commit().await?;
    } else {
        // Rename into place, then commit: a row always has its file; a crash before the
        // commit leaves an orphan file, never a row without one.
        let final_path = path_of(state, did);
        tokio::fs::rename(tmp, &final_path)
            .await
            .map_err(ApiError::internal)?;
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

/// The document's plain bytes as a response body: a chunked document from its file is
/// decrypted record by record on a blocking thread and streamed (each record is
/// authenticated, and a cut document fails at its end); an older single-piece document, or
/// one kept in the database, is decrypted whole and checked against its SHA-256.
async fn plain_body(
    state: &Shared,
    did: &str,
    cipher: Aes256Gcm,
    sha256: &str,
) -> Result<Body, ApiError> {
    let in_db = state.store.document_bytes(did).await?;
    let path = path_of(state, did);
    if in_db.is_none() {
        let mut head = [0u8; 4];
        let chunked = {
            use tokio::io::AsyncReadExt;
            let mut f = tokio::fs::File::open(&path)
                .await
                .map_err(ApiError::internal)?;
            f.read_exact(&mut head).await.is_ok() && crate::sealed::is_chunked(&head)
        };
        if chunked {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
            tokio::task::spawn_blocking(move || {
                let run = || -> std::io::Result<()> {
                    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
                    let mut reader = crate::sealed::Reader::new(file, cipher)?;
                    while let Some(chunk) = reader.next_chunk()? {
                        if tx.blocking_send(Ok(chunk)).is_err() {
                            return Ok(()); // the client went away
                        }
                    }
                    Ok(())
                };
                if let Err(e) = run() {
                    tracing::error!(error = %e, "document could not be read");
                    let _ = tx.blocking_send(Err(e));
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            return Ok(Body::from_stream(stream));
        }
    }
    let stored = match in_db {
        Some(bytes) => bytes,
        None => tokio::fs::read(&path).await.map_err(ApiError::internal)?,
    };
    let plain = open_stored(&cipher, &stored).map_err(ApiError::internal)?;
    if sha256_hex(&plain) != sha256 {
        return Err(ApiError::internal(
            "a stored document does not match its SHA-256",
        ));
    }
    Ok(Body::from(plain))
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
    let body = plain_body(&state, &did, cipher, &doc.sha256).await?;
    state
        .store
        .audit(&actor.id, "document.download", Some(&id), &actor.request_id)
        .await?;
    let mut h = HeaderMap::new();
    // The type sniffed at upload, stored with the row.
    let content_type = match doc.content_type.as_str() {
        "application/pdf" => "application/pdf",
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "application/zip" => "application/zip",
        _ => "application/octet-stream",
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
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
    Ok((StatusCode::OK, h, body).into_response())
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
