//! Signed checkpoints of the audit chain's head (`docs/security.md`), after Certificate
//! Transparency's signed tree heads: at an interval and at shutdown the server signs
//! `(seq, hash, time)` of the last audit entry with an Ed25519 key kept outside the database
//! and appends it to a file outside the database. Truncating the log, or rewriting entries and
//! re-hashing the chain, then disagrees with a checkpoint: `audit verify` says which entries,
//! and `restore` refuses a copy older than the last checkpoint.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// One signed checkpoint, a line of JSON in the checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    /// The signer's public key (hex), so a reader can check it is the expected one.
    pub key: String,
    /// Ed25519 over [`Checkpoint::message`], hex.
    pub signature: String,
}

impl Checkpoint {
    fn message(seq: i64, hash: &str, at: &str) -> String {
        format!("cellpath-audit-checkpoint/1\n{seq}\n{hash}\n{at}\n")
    }

    pub fn sign(key: &SigningKey, seq: i64, hash: &str, at: &str) -> Self {
        let sig = key.sign(Self::message(seq, hash, at).as_bytes());
        Self {
            seq,
            hash: hash.to_owned(),
            at: at.to_owned(),
            key: hex(key.verifying_key().as_bytes()),
            signature: hex(&sig.to_bytes()),
        }
    }

    /// Checks the signature with `public` (hex).
    pub fn verify(&self, public: &str) -> Result<()> {
        if self.key != public {
            bail!(
                "checkpoint {} is signed by another key ({})",
                self.seq,
                self.key
            );
        }
        let key: [u8; 32] = unhex(public)?
            .try_into()
            .map_err(|_| anyhow!("a public key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|e| anyhow!("public key: {e}"))?;
        let sig: [u8; 64] = unhex(&self.signature)?
            .try_into()
            .map_err(|_| anyhow!("a signature is 64 bytes"))?;
        key.verify(
            Self::message(self.seq, &self.hash, &self.at).as_bytes(),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| {
            anyhow!(
                "checkpoint {} at {}: the signature does not verify",
                self.seq,
                self.at
            )
        })
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        bail!("not hex");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| anyhow!("{e}")))
        .collect()
}

/// Where the key and the checkpoints are: by default beside the database, in the data folder
/// (outside the database itself); a deployment should point them elsewhere (another disk,
/// a secret store, a log host).
pub struct Places {
    pub key: PathBuf,
    pub log: PathBuf,
}

impl Places {
    pub fn new(data_dir: &Path, key: Option<PathBuf>, log: Option<PathBuf>) -> Self {
        Self {
            key: key.unwrap_or_else(|| data_dir.join("audit-signing.key")),
            log: log.unwrap_or_else(|| data_dir.join("audit-checkpoints.jsonl")),
        }
    }
}

/// The signing key at `path`, made (0600) when missing.
pub fn signing_key(path: &Path) -> Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let seed: [u8; 32] = unhex(&text)
                .with_context(|| format!("{}", path.display()))?
                .try_into()
                .map_err(|_| anyhow!("{}: a key is 32 bytes (64 hex digits)", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom_seed(&mut seed)?;
            if let Some(dir) = path.parent() {
                cellpath_web::private_fs::dir(dir)?;
            }
            cellpath_web::private_fs::write(path, hex(&seed).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(anyhow!("{}: {e}", path.display())),
    }
}

fn getrandom_seed(seed: &mut [u8; 32]) -> Result<()> {
    let hexed = cellpath_web::auth::random_hex(32);
    let bytes = unhex(&hexed)?;
    seed.copy_from_slice(&bytes);
    Ok(())
}

/// The public key (hex) of the key at `path`, for `audit verify`.
pub fn public_key(path: &Path) -> Result<String> {
    Ok(hex(signing_key(path)?.verifying_key().as_bytes()))
}

/// Appends a checkpoint (the file is only ever appended to).
pub fn append(log: &Path, c: &Checkpoint) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    writeln!(f, "{}", serde_json::to_string(c)?)?;
    f.sync_all()?;
    Ok(())
}

/// Every checkpoint in the file, in order (none when the file is missing).
pub fn read(log: &Path) -> Result<Vec<Checkpoint>> {
    let f = match std::fs::File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow!("{}: {e}", log.display())),
    };
    std::io::BufReader::new(f)
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().is_ok_and(|l| !l.trim().is_empty()))
        .map(|(i, l)| {
            let l = l?;
            serde_json::from_str(&l)
                .with_context(|| format!("{}:{}: not a checkpoint", log.display(), i + 1))
        })
        .collect()
}

/// How the chain in the database compares with the checkpoints.
#[derive(Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Every checkpoint's entry is there with the checkpoint's hash.
    Agrees { checkpoints: usize, last_seq: i64 },
    /// The database is shorter than a checkpoint says it was: entries were removed.
    Truncated {
        last_seq: i64,
        checkpoint_seq: i64,
        at: String,
    },
    /// An entry's hash differs from a checkpoint's: entries after `since` (the last
    /// checkpoint that agrees, 0 if none) up to `seq` were rewritten.
    Rewritten { since: i64, seq: i64, at: String },
}

/// Compares the chain (`hash_at(seq)`, `last_seq`) with signed checkpoints, after checking
/// each signature with `public`.
pub fn compare(
    checkpoints: &[Checkpoint],
    public: &str,
    last_seq: i64,
    hash_at: impl Fn(i64) -> Option<String>,
) -> Result<Agreement> {
    let mut since = 0;
    for c in checkpoints {
        c.verify(public)?;
        if c.seq > last_seq {
            return Ok(Agreement::Truncated {
                last_seq,
                checkpoint_seq: c.seq,
                at: c.at.clone(),
            });
        }
        if hash_at(c.seq).as_deref() != Some(c.hash.as_str()) {
            return Ok(Agreement::Rewritten {
                since,
                seq: c.seq,
                at: c.at.clone(),
            });
        }
        since = c.seq;
    }
    Ok(Agreement::Agrees {
        checkpoints: checkpoints.len(),
        last_seq,
    })
}
