//! Passwords (argon2id, hashed off the async threads), session tokens (random, stored only
//! as SHA-256 hashes) and the session cookie.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "cellpath_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sign-in failures before a temporary lock-out, and its length.
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT_SECS: u64 = 15 * 60;
pub const SESSION_SECS: u64 = 12 * 3600;

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id that sorts by creation time (microseconds), then at random: rows stored in the same
/// second keep their order.
pub fn sortable_id(prefix: &str) -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{prefix}-{micros:014x}{}", random_hex(4))
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        // argon2id with the crate's recommended parameters and a random salt.
        let hash: PasswordHash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(hash.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Verifies a password on a blocking thread. An unknown user is checked against a dummy
/// hash so that timing does not reveal which e-mails exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// A real argon2id hash of a random password, made once, for unknown e-mails.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(random_hex(16).as_bytes())
            .map(|h: PasswordHash| h.to_string())
            .unwrap_or_default()
    })
}

/// The session token from a Cookie header.
pub fn session_token(cookie_header: Option<&str>) -> Option<String> {
    cookie_header?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty()).then(|| v.to_owned())
    })
}

pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}
