// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! `cellpath serve`, `cellpath db migrate`, `cellpath audit verify`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use cellpath_eligibility::Catalogue;
use cellpath_store::{Access, MemberRole, NewAudit, Store};
use cellpath_web::policy::Role;
use clap::{Args, Subcommand};

#[derive(Args, Clone)]
pub struct DbArgs {
    /// `sqlite://PATH` or `postgres://…`. Default: SQLite in the data folder.
    #[arg(long, env = "CELLPATH_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Where the SQLite database and the documents live [default: data].
    #[arg(long, env = "CELLPATH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DbArgs {
    fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }

    fn url(&self) -> Result<String> {
        if let Some(u) = &self.database_url {
            return Ok(u.clone());
        }
        let dir = self.data_dir();
        cellpath_web::private_fs::dir(&dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
        // The owner's alone before SQLite opens it; its WAL and shm files follow its mode.
        let db = dir.join("cellpath.db");
        cellpath_web::private_fs::file(&db)
            .with_context(|| format!("cannot create {}", db.display()))?;
        for side in ["cellpath.db-wal", "cellpath.db-shm", "demo-document.key"] {
            let p = dir.join(side);
            if p.exists() {
                cellpath_web::private_fs::file(&p)
                    .with_context(|| format!("cannot protect {}", p.display()))?;
            }
        }
        if dir.join("documents").exists() {
            cellpath_web::private_fs::dir(&dir.join("documents"))?;
        }
        Ok(format!("sqlite://{}", db.display()))
    }
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// A TOML configuration file (docs/operations.md); flags and environment variables
    /// take precedence over it.
    #[arg(long, env = "CELLPATH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CELLPATH_BIND")]
    pub bind: Option<String>,
    /// Load demo users (their passwords printed, only in demo mode) and a demo case.
    #[arg(long)]
    pub demo: bool,
    /// Mark session cookies Secure (set when serving behind TLS).
    #[arg(long, env = "CELLPATH_SECURE_COOKIES", num_args = 0..=1, default_missing_value = "true")]
    pub secure_cookies: Option<bool>,
    /// The AES-256 key for documents at rest, 64 hex digits. Without it uploads are refused
    /// (in demo mode a key is made and kept in the data folder).
    #[arg(long, env = "CELLPATH_DOCUMENT_KEY", hide_env_values = true)]
    pub document_key: Option<String>,
    /// The local emergency number the caregiver diary tells people to call first
    /// [default: 120, mainland China].
    #[arg(long, env = "CELLPATH_EMERGENCY_NUMBER", value_name = "NUMBER")]
    pub emergency_number: Option<String>,
    /// The largest FHIR import the server reads, in MiB, refused before it is read
    /// [default: 64].
    #[arg(long, env = "CELLPATH_FHIR_MAX_INPUT_MB", value_name = "MIB")]
    pub fhir_max_input_mb: Option<u64>,
    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
    /// Seconds between audit checkpoints (one is also written at start and at shutdown).
    #[arg(long, env = "CELLPATH_CHECKPOINT_SECS", default_value_t = 60)]
    pub checkpoint_secs: u64,
    /// Audit entries after which a checkpoint is written without waiting for the interval
    /// (a busy server's unseen window is bounded by count as well as by time).
    #[arg(long, env = "CELLPATH_CHECKPOINT_ENTRIES", default_value_t = 1000)]
    pub checkpoint_entries: u64,
    /// A reverse proxy whose X-Forwarded-For is believed for the client's address (sign-in
    /// throttling); repeat, or separate with commas [default: none].
    #[arg(
        long = "trusted-proxy",
        env = "CELLPATH_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP"
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Minutes a safety alert waits for an acknowledgement before it escalates to the next
    /// person on call, then to the whole team [default: 15, a default, not a standard —
    /// set the centre's own].
    #[arg(long, env = "CELLPATH_ALERT_ACK_MINUTES", value_name = "MINUTES")]
    pub alert_ack_minutes: Option<u64>,
    /// Where people reach this server, for the links in e-mails
    /// [default: http:// and the bind address].
    #[arg(long, env = "CELLPATH_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Send notifications by e-mail through this SMTP server too:
    /// `smtp://user:password@host:587` (STARTTLS), `smtps://…:465` (TLS), or
    /// `smtp://127.0.0.1:25?tls=none` for a relay on this machine [default: no e-mail].
    #[arg(
        long,
        env = "CELLPATH_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// The sender's address of those e-mails (needed with --smtp-url).
    #[arg(long, env = "CELLPATH_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// A PEM file of the certificate authority the SMTP server's certificate comes from,
    /// when it is not a public one [default: the web's public roots].
    #[arg(long, env = "CELLPATH_SMTP_CA", value_name = "FILE")]
    pub smtp_ca: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Apply the migrations (also done at every start).
    Migrate(DbArgs),
}

#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The backup folder to create (must not exist): the database and the documents.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup folder to restore (or a bare database file).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The data folder to restore into (stop the server first).
    #[arg(
        long,
        env = "CELLPATH_DATA_DIR",
        value_name = "DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,
    /// Replace an existing database.
    #[arg(long)]
    pub force: bool,
    /// Restore even a copy older than the last signed audit checkpoint (it loses the entries
    /// since, and the checkpoints will say so).
    #[arg(long)]
    pub allow_older: bool,
    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain from the first entry to the last, and against the
    /// signed checkpoints of its head (truncation or rewriting is reported with the entries
    /// that disagree).
    Verify(VerifyArgs),
}

/// `cellpath report`: a report of a signed consensus from the server's data, or `verify` a
/// report file against it.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    #[command(flatten)]
    pub db: DbArgs,
    /// The case.
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    /// `mdt` (the MDT second-opinion report) or `patient` (the summary for the patient).
    #[arg(long, default_value = "mdt")]
    pub kind: String,
    /// `en` or `zh-CN`.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// The consensus version [default: the latest signed].
    #[arg(long)]
    pub version: Option<i64>,
    /// Where to write the report [default: standard output].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// `html` or `pdf` [default: the extension of --out, else html].
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Import ClinicalTrials.gov studies: API v2 JSON (single studies, arrays, API pages) and
    /// legacy XML, files or folders (read recursively). Each study new or changed since the
    /// version held is stored as its next version with what changed; bad records are named
    /// with file and JSON pointer and the rest import. Exit 1 when any record was refused.
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Pull what changed from the ClinicalTrials.gov API v2: the studies of a query (the
    /// gastric and GEJ cancers by default) and those the catalogue's programmes name, updated
    /// since the last sync; rate-limited, retried, resumed where a broken sync stopped. A
    /// change to a programme's study flags it for review and tells the coordinators.
    Sync(crate::sync::SyncArgs),
    /// Draft a catalogue programme (TOML) from a study held: its eligibility text split into
    /// inclusion and exclusion items, each a clinician-judgement item with the rule cellpath
    /// recognised (age, ECOG, HER2, CLDN18.2, prior lines, washouts) beside it as a
    /// suggestion to confirm — never a curated criterion.
    Draft {
        /// The study's NCT number.
        nct_id: String,
        /// Where to write the draft [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// The `.json` and `.xml` files of the paths given, folders read recursively, in order.
fn registry_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read the folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                if e.is_dir()
                    || e.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("json") || x.eq_ignore_ascii_case("xml")
                    })
                {
                    walk(&e, out)?;
                }
            }
        } else if p.exists() {
            out.push(p.to_owned());
        } else {
            return Err(anyhow!("{}: no such file or folder", p.display()));
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    Ok(out)
}

/// `cellpath registry draft`.
fn draft(
    nct_id: &str,
    file: Option<PathBuf>,
    db: &DbArgs,
    catalogue: Catalogue,
    out: &mut impl Write,
) -> Result<bool> {
    runtime()?.block_on(async {
        let store = open(db).await?;
        let state = std::sync::Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config::default(),
        });
        let text = match cellpath_web::registry::draft(&state, "system", nct_id).await {
            Ok(t) => t,
            Err(e) if e.status() == 404 => {
                return Err(anyhow!(
                    "{nct_id} is not held here: import or sync it first"
                ));
            }
            Err(e) => return Err(api_error(e)),
        };
        match file {
            Some(f) => {
                std::fs::write(&f, &text)
                    .with_context(|| format!("cannot write {}", f.display()))?;
                writeln!(
                    out,
                    "draft written to {} (every criterion to confirm)",
                    f.display()
                )?;
            }
            None => out.write_all(text.as_bytes())?,
        }
        Ok(true)
    })
}

/// `cellpath registry …`. Answers false when some record was refused.
pub fn registry(cmd: RegistryCommand, catalogue: Catalogue, out: &mut impl Write) -> Result<bool> {
    let (paths, db) = match cmd {
        RegistryCommand::Import { paths, db } => (paths, db),
        RegistryCommand::Sync(args) => return crate::sync::sync(args, catalogue, out),
        RegistryCommand::Draft {
            nct_id,
            out: file,
            db,
        } => return draft(&nct_id, file, &db, catalogue, out),
    };
    let files = registry_files(&paths)?;
    runtime()?.block_on(async {
        let store = open(&db).await?;
        let state = std::sync::Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config::default(),
        });
        let progress = std::io::stderr().is_terminal();
        let mut counts = cellpath_web::registry::ImportCounts::default();
        let mut refused = 0usize;
        // The next files are read and parsed on another thread while one is stored.
        let (send, receive) = std::sync::mpsc::sync_channel(2);
        let reader = {
            let files = files.clone();
            std::thread::spawn(move || {
                for file in files {
                    let read = std::fs::read(&file)
                        .with_context(|| format!("cannot read {}", file.display()))
                        .map(|bytes| {
                            let name = file.display().to_string();
                            let read = cellpath_registry::read(&name, &bytes);
                            (name, read)
                        });
                    let failed = read.is_err();
                    if send.send(read).is_err() || failed {
                        return;
                    }
                }
            })
        };
        for (i, next) in receive.iter().enumerate() {
            if progress {
                eprint!("\rreading {}/{} files", i + 1, files.len());
            }
            let (name, read) = next?;
            for e in &read.errors {
                if progress {
                    eprintln!();
                }
                eprintln!("refused: {e}");
            }
            refused += read.errors.len();
            counts +=
                cellpath_web::registry::import_studies(&state, "system", &name, &read.studies)
                    .await
                    .map_err(api_error)?;
        }
        let _ = reader.join();
        if progress {
            eprintln!();
        }
        writeln!(
            out,
            "{} files: {} studies new, {} changed (a new version each), {} unchanged; \
             {} programmes flagged for review, {} cases re-screened; {} records refused",
            files.len(),
            counts.new,
            counts.changed,
            counts.unchanged,
            counts.flagged,
            counts.rescreened,
            refused
        )?;
        Ok(refused == 0)
    })
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Whether a report file is, byte for byte, the report of a signed consensus in this
    /// server's data; whether it was superseded and the record changed since. Exit 0 when it
    /// matches, 1 when it does not.
    Verify {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// An API error as the command line says it: the code's sentence and the detail.
pub(crate) fn api_error(e: cellpath_web::ApiError) -> anyhow::Error {
    match &e.detail {
        Some(d) => anyhow!("{} ({d})", e.code.message(cellpath_domain::Lang::En)),
        None => anyhow!("{}", e.code.message(cellpath_domain::Lang::En)),
    }
}

/// Runs `cellpath report`; answers whether a verified file matched.
pub fn report(args: ReportArgs, catalogue: Catalogue, out: &mut impl Write) -> Result<bool> {
    runtime()?.block_on(async {
        let db = match &args.command {
            Some(ReportCommand::Verify { db, .. }) => db,
            None => &args.db,
        };
        let store = open(db).await?;
        let state = std::sync::Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config::default(),
        });
        match args.command {
            Some(ReportCommand::Verify { file, .. }) => {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let v = cellpath_web::reports::verify(&state, None, &bytes)
                    .await
                    .map_err(api_error)?;
                use cellpath_web::reports::Verified;
                match &v {
                    Verified::Matches {
                        case_id,
                        version,
                        kind,
                        lang,
                        code,
                        superseded,
                        record_changed_since,
                    } => {
                        writeln!(
                            out,
                            "{}: matches the {kind} report ({lang}) of case {case_id}, consensus version {version}, code {code}",
                            file.display()
                        )?;
                        writeln!(
                            out,
                            "{}",
                            if *superseded {
                                "superseded: a later consensus version amends it"
                            } else {
                                "current: no later consensus version"
                            }
                        )?;
                        writeln!(
                            out,
                            "{}",
                            if *record_changed_since {
                                "the record changed after this consensus"
                            } else {
                                "the record has not changed since"
                            }
                        )?;
                        Ok(true)
                    }
                    Verified::Altered { case_id, version } => {
                        writeln!(
                            out,
                            "{}: does NOT match: it names case {case_id}, consensus version {version}, but its content differs from the report this server makes for it",
                            file.display()
                        )?;
                        Ok(false)
                    }
                    Verified::NotAReport => {
                        writeln!(out, "{}: not a cellpath report", file.display())?;
                        Ok(false)
                    }
                }
            }
            None => {
                let case = args
                    .case
                    .as_deref()
                    .ok_or_else(|| anyhow!("give --case ID (or `report verify FILE`)"))?;
                let kind = cellpath_report::Kind::parse(&args.kind)
                    .ok_or_else(|| anyhow!("--kind: `mdt` or `patient`, not `{}`", args.kind))?;
                let lang = match args.lang.as_str() {
                    "en" => cellpath_domain::Lang::En,
                    "zh-CN" => cellpath_domain::Lang::ZhCn,
                    other => return Err(anyhow!("--lang: `en` or `zh-CN`, not `{other}`")),
                };
                let r = cellpath_web::reports::report_for_operator(
                    &state,
                    case,
                    args.version,
                    kind,
                    lang,
                )
                .await
                .map_err(api_error)?;
                use cellpath_web::reports::Format;
                let format = match args.format.as_deref() {
                    Some(f) => Format::parse(f)
                        .ok_or_else(|| anyhow!("--format: `html` or `pdf`, not `{f}`"))?,
                    None => match args.out.as_ref().and_then(|p| p.extension()) {
                        Some(e) if e.eq_ignore_ascii_case("pdf") => Format::Pdf,
                        _ => Format::Html,
                    },
                };
                let code = r.code.clone();
                let version = r.consensus_version;
                let bytes = cellpath_web::reports::render(r, format)
                    .await
                    .map_err(api_error)?;
                match &args.out {
                    Some(path) => {
                        std::fs::write(path, bytes)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        writeln!(
                            out,
                            "{}: the {} report ({}) of consensus version {}, code {}",
                            path.display(),
                            kind.as_str(),
                            args.lang,
                            version,
                            code
                        )?;
                    }
                    None => out.write_all(&bytes)?,
                }
                Ok(true)
            }
        }
    })
}

#[derive(Subcommand)]
pub enum DocumentsCommand {
    /// Re-encrypt every stored document under a new key (stop the server first). Each
    /// document is decrypted with the old key, checked against its SHA-256, encrypted with
    /// the new key and replaced atomically; then start the server with the new key.
    Rekey(RekeyArgs),
}

#[derive(Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// A file holding the current key (64 hex digits).
    #[arg(long, value_name = "FILE")]
    pub old_key_file: PathBuf,
    /// A file holding the new key (64 hex digits).
    #[arg(long, value_name = "FILE")]
    pub new_key_file: PathBuf,
}

fn key_from(path: &std::path::Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    cellpath_web::parse_key(text.trim()).map_err(|e| anyhow!("{}: {e}", path.display()))
}

pub fn documents(cmd: DocumentsCommand, out: &mut impl Write) -> Result<()> {
    let DocumentsCommand::Rekey(args) = cmd;
    use cellpath_web::documents::{cipher_for, open_stored, seal_chunked};
    let old = cipher_for(&key_from(&args.old_key_file)?).map_err(|e| anyhow!("{e}"))?;
    let new = cipher_for(&key_from(&args.new_key_file)?).map_err(|e| anyhow!("{e}"))?;
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let folder = args.db.data_dir().join("documents");
        let ids = store.document_ids().await.map_err(|e| anyhow!("{e}"))?;
        let mut n = 0;
        for id in &ids {
            let in_db = store.document_bytes(id).await.map_err(|e| anyhow!("{e}"))?;
            let path = folder.join(format!("{id}.enc"));
            let stored = match &in_db {
                Some(b) => b.clone(),
                None => std::fs::read(&path)
                    .with_context(|| format!("document {id}: {}", path.display()))?,
            };
            let plain = open_stored(&old, &stored).map_err(|e| anyhow!("document {id}: {e}"))?;
            let resealed = seal_chunked(&new, &plain).map_err(|e| anyhow!("document {id}: {e}"))?;
            if in_db.is_some() {
                let mut tx = store
                    .begin(cellpath_store::NewAudit::new(
                        "system",
                        "document.rekey",
                        None,
                        "rekey",
                    ))
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                tx.replace_document_bytes(id, &resealed)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                tx.commit().await.map_err(|e| anyhow!("{e}"))?;
            } else {
                // Write beside, then rename: a crash leaves the old file or the new, never half.
                let tmp = path.with_extension("rekey");
                cellpath_web::private_fs::write(&tmp, &resealed)?;
                std::fs::rename(&tmp, &path)?;
            }
            n += 1;
        }
        writeln!(
            out,
            "{n} documents re-encrypted under the new key; start the server with it"
        )?;
        Ok(())
    })
}

/// Where the audit checkpoints and their signing key are.
#[derive(Args, Clone, Debug, Default)]
pub struct CheckpointArgs {
    /// The Ed25519 key that signs the audit checkpoints (64 hex digits; made on first start)
    /// [default: audit-signing.key in the data folder]. Keep it off the database's disk.
    #[arg(long, env = "CELLPATH_AUDIT_KEY_FILE", value_name = "FILE")]
    pub audit_key: Option<PathBuf>,
    /// The append-only file of signed checkpoints [default: audit-checkpoints.jsonl in the
    /// data folder]. Keep it off the database's disk, or ship it to a log host.
    #[arg(long, env = "CELLPATH_AUDIT_CHECKPOINTS", value_name = "FILE")]
    pub audit_checkpoints: Option<PathBuf>,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) async fn open(db: &DbArgs) -> Result<Store> {
    let url = db.url()?;
    let store = Store::connect(&url)
        .await
        .map_err(|e| anyhow!("cannot open the database: {e}"))?;
    store.migrate().await.map_err(|e| anyhow!("{e}"))?;
    Ok(store)
}

pub fn db(cmd: DbCommand, out: &mut impl Write) -> Result<()> {
    let DbCommand::Migrate(args) = cmd;
    runtime()?.block_on(async {
        let store = open(&args).await?;
        writeln!(out, "migrations applied ({:?})", store.backend())?;
        Ok(())
    })
}

pub fn audit(cmd: AuditCommand, out: &mut impl Write) -> Result<()> {
    let AuditCommand::Verify(args) = cmd;
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let n = store.verify_audit().await.map_err(|e| anyhow!("{e}"))?;
        writeln!(out, "audit chain verified: {n} entries")?;
        let places = crate::checkpoint::Places::new(
            &args.db.data_dir(),
            args.checkpoints.audit_key.clone(),
            args.checkpoints.audit_checkpoints.clone(),
        );
        let Some(agreement) = against_checkpoints(&store, &places).await? else {
            writeln!(
                out,
                "no signed checkpoints in {}: truncation or rewriting cannot be ruled out",
                places.log.display()
            )?;
            return Ok(());
        };
        match agreement {
            crate::checkpoint::Agreement::Agrees { checkpoints, last_seq } => {
                writeln!(
                    out,
                    "agrees with {checkpoints} signed checkpoints (the chain has {last_seq} entries)"
                )?;
                Ok(())
            }
            crate::checkpoint::Agreement::Truncated { last_seq, checkpoint_seq, at } => Err(anyhow!(
                "the audit log was truncated: it ends at entry {last_seq}, but the checkpoint of {at} signed entry {checkpoint_seq}"
            )),
            crate::checkpoint::Agreement::Rewritten { since, seq, at } => Err(anyhow!(
                "the audit log was rewritten: entry {seq} differs from the checkpoint of {at}; entries {} to {seq} disagree (entry {since} and before agree)",
                since + 1
            )),
        }
    })
}

/// How a database's audit chain compares with the signed checkpoints at `places`; None when
/// there are no checkpoints (or no key) to compare with.
async fn against_checkpoints(
    store: &Store,
    places: &crate::checkpoint::Places,
) -> Result<Option<crate::checkpoint::Agreement>> {
    let checkpoints = crate::checkpoint::read(&places.log)?;
    if checkpoints.is_empty() || !places.key.exists() {
        return Ok(None);
    }
    let public = crate::checkpoint::public_key(&places.key)?;
    let entries = store
        .audit_entries(None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let last = entries.last().map_or(0, |e| e.seq);
    let hash_at = |seq: i64| {
        entries
            .iter()
            .find(|e| e.seq == seq)
            .map(|e| e.hash.clone())
    };
    crate::checkpoint::compare(&checkpoints, &public, last, hash_at).map(Some)
}

/// Signs and appends a checkpoint of the chain's head, unless it is the one last written.
async fn checkpoint_now(
    store: &Store,
    key: &ed25519_dalek::SigningKey,
    log: &std::path::Path,
    last: &mut Option<i64>,
) -> Result<()> {
    let Some(head) = store.audit_head().await.map_err(|e| anyhow!("{e}"))? else {
        return Ok(());
    };
    if *last == Some(head.seq) {
        return Ok(());
    }
    let c = crate::checkpoint::Checkpoint::sign(key, head.seq, &head.hash, &store.now());
    crate::checkpoint::append(log, &c)?;
    *last = Some(head.seq);
    Ok(())
}

/// Copies the documents folder (encrypted files, never changed once written).
fn copy_documents(from: &std::path::Path, to: &std::path::Path) -> Result<usize> {
    if !from.exists() {
        return Ok(0);
    }
    cellpath_web::private_fs::dir(to)?;
    let mut n = 0;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "enc")
            && let Some(name) = path.file_name()
        {
            std::fs::copy(&path, to.join(name))
                .with_context(|| format!("copying {}", path.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// `cellpath backup`: an online, consistent copy of the SQLite database, then the
/// documents, into a new folder. The database is copied first: documents are written
/// before their rows, so every document the copy names is there.
pub fn backup(args: BackupArgs, out: &mut impl Write) -> Result<()> {
    if args.to.exists() {
        return Err(anyhow!(
            "{} already exists: choose a new folder",
            args.to.display()
        ));
    }
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        cellpath_web::private_fs::dir(&args.to)
            .with_context(|| format!("cannot create {}", args.to.display()))?;
        let db = args.to.join("cellpath.db");
        // The copy is health data: the owner's alone (0600 in a 0700 folder), like the live
        // database. VACUUM INTO fills an empty file and keeps its mode.
        cellpath_web::private_fs::file(&db)?;
        store.backup_sqlite(&db).await.map_err(|e| anyhow!("{e}"))?;
        cellpath_web::private_fs::file(&db)?;
        let docs = copy_documents(
            &args.db.data_dir().join("documents"),
            &args.to.join("documents"),
        )?;
        let copy = Store::connect(&format!("sqlite://{}", db.display()))
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let n = copy
            .verify_audit()
            .await
            .map_err(|e| anyhow!("the copy does not verify: {e}"))?;
        copy.close().await;
        writeln!(
            out,
            "backup written to {} ({n} audit entries verified, {docs} documents)",
            args.to.display()
        )?;
        Ok(())
    })
}

/// `cellpath restore`: checks the backup's audit chain, then puts the database (atomically)
/// and the documents in place.
pub fn restore(args: RestoreArgs, out: &mut impl Write) -> Result<()> {
    let target = args.data_dir.join("cellpath.db");
    if target.exists() && !args.force {
        return Err(anyhow!(
            "{} exists: stop the server and pass --force to replace it",
            target.display()
        ));
    }
    let (db, docs) = if args.from.is_dir() {
        (
            args.from.join("cellpath.db"),
            Some(args.from.join("documents")),
        )
    } else {
        (args.from.clone(), None)
    };
    let mut header = [0u8; 16];
    let is_sqlite = std::fs::File::open(&db)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok()
        && &header == b"SQLite format 3\0";
    if !is_sqlite {
        return Err(anyhow!("{} is not a SQLite database", db.display()));
    }
    runtime()?.block_on(async {
        let copy = Store::connect(&format!("sqlite://{}?mode=ro", db.display()))
            .await
            .map_err(|e| anyhow!("cannot open the backup: {e}"))?;
        let n = copy
            .verify_audit()
            .await
            .map_err(|e| anyhow!("the backup does not verify: {e}"))?;
        // A copy older than the last signed checkpoint would silently drop audit entries.
        let places = crate::checkpoint::Places::new(
            &args.data_dir,
            args.checkpoints.audit_key.clone(),
            args.checkpoints.audit_checkpoints.clone(),
        );
        if let Some(agreement) = against_checkpoints(&copy, &places).await?
            && !matches!(agreement, crate::checkpoint::Agreement::Agrees { .. })
            && !args.allow_older
        {
            copy.close().await;
            return Err(anyhow!(
                "the backup disagrees with the signed audit checkpoints ({agreement:?}): it is older than the last checkpoint or was altered; pass --allow-older to restore it anyway"
            ));
        }
        copy.close().await;
        cellpath_web::private_fs::dir(&args.data_dir)?;
        let restored_docs = match &docs {
            Some(d) => copy_documents(d, &args.data_dir.join("documents"))?,
            None => 0,
        };
        let staging = args.data_dir.join("cellpath.db.restoring");
        std::fs::copy(&db, &staging).context("copying the backup")?;
        // The restored database is the owner's alone, whatever the backup's mode was.
        cellpath_web::private_fs::file(&staging)?;
        for side in ["cellpath.db-wal", "cellpath.db-shm"] {
            let _ = std::fs::remove_file(args.data_dir.join(side));
        }
        std::fs::rename(&staging, &target).context("putting the backup in place")?;
        writeln!(
            out,
            "restored {} into {} ({n} audit entries verified, {restored_docs} documents)",
            args.from.display(),
            target.display()
        )?;
        Ok(())
    })
}

/// Demo mode only: a document key kept beside the demo database (never do this with real
/// data — give the key through the environment from a secret store).
/// The demo's document key: made at the first demo start in the data folder (0600), never
/// shipped with the code.
fn demo_key(data_dir: &std::path::Path) -> Result<[u8; 32]> {
    cellpath_web::private_fs::dir(data_dir)?;
    let path = data_dir.join("demo-document.key");
    let hex = match std::fs::read_to_string(&path) {
        Ok(h) => h,
        Err(_) => {
            let h = cellpath_web::auth::random_hex(32);
            cellpath_web::private_fs::write(&path, h.as_bytes())
                .context("writing the demo document key")?;
            h
        }
    };
    cellpath_web::parse_key(&hex).map_err(|e| anyhow!("{}: {e}", path.display()))
}

const DEMO_PLAN: &str = include_str!("../../../examples/plans/satri-cel-example.toml");
const DEMO_CASE: &str = include_str!("../../../examples/cases/gastric-cldn18-eligible.toml");

async fn demo(state: &cellpath_web::AppState) -> Result<()> {
    let users = [
        ("patient@demo.cellpath", Role::Patient, None),
        ("caregiver@demo.cellpath", Role::Caregiver, None),
        ("coordinator@demo.cellpath", Role::Coordinator, None),
        (
            "oncologist@demo.cellpath",
            Role::Specialist,
            Some("medical-oncology"),
        ),
        (
            "pathologist@demo.cellpath",
            Role::Specialist,
            Some("pathology"),
        ),
        ("admin@demo.cellpath", Role::Admin, None),
    ];
    let store = &state.store;
    if store.user_by_email(users[0].0).await?.is_some() {
        eprintln!("demo data already loaded: use the passwords printed at its first start");
        return Ok(());
    }
    eprintln!("demo mode — these accounts exist only for trying cellpath out:");
    let mut ids = Vec::new();
    let mut passwords = Vec::new();
    for (_, _, _) in users {
        let password = cellpath_web::auth::random_hex(6);
        let hash = cellpath_web::auth::hash_password(password.clone())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        passwords.push((password, hash));
        ids.push(format!("u-{}", cellpath_web::auth::random_hex(8)));
    }
    let case = cellpath_domain::native::from_toml(DEMO_CASE).map_err(|e| anyhow!("{e}"))?;
    let record = serde_json::to_string(&case)?;
    let case_id = "c-demo-1";
    let plan: toml::Value = toml::from_str(DEMO_PLAN)?;
    // The whole demo is one change with one audit entry: all of it, or nothing.
    let mut tx = store
        .begin(NewAudit::new("system", "demo.load", Some(case_id), "demo"))
        .await?;
    for ((email, role, specialty), (id, (_, hash))) in users.iter().zip(ids.iter().zip(&passwords))
    {
        tx.create_user(id, email, hash, role.as_str(), *specialty)
            .await?;
    }
    for (i, text) in cellpath_web::consent::texts().iter().enumerate() {
        tx.accept_consent(&format!("k-demo-{i}"), &ids[0], text.kind, &text.version)
            .await?;
    }
    tx.create_case(cellpath_store::NewCase {
        id: case_id,
        owner_id: &ids[0],
        created_by: &ids[2],
        state: "inquiry",
        record: &record,
    })
    .await?;
    tx.add_member(case_id, &ids[1], MemberRole::Caregiver, Access::View)
        .await?;
    tx.add_member(case_id, &ids[2], MemberRole::Coordinator, Access::Act)
        .await?;
    tx.add_member(case_id, &ids[3], MemberRole::Specialist, Access::Act)
        .await?;
    tx.put_journey(case_id, &serde_json::to_string(&plan)?)
        .await?;
    // The demo patient has invited the coordinator, who may open further cases for them.
    tx.add_relation("rel-demo-coordinator", &ids[0], &ids[2], "active", &ids[0])
        .await?;
    tx.commit().await?;
    for ((email, role, _), (password, _)) in users.iter().zip(&passwords) {
        eprintln!("  {:<28} {:<12} password {password}", email, role.as_str());
    }
    eprintln!(
        "  demo case {case_id}: owned by the patient; caregiver (view), coordinator and oncologist assigned"
    );
    Ok(())
}

/// The configuration file: every key optional.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    bind: Option<String>,
    secure_cookies: Option<bool>,
    /// A file holding the document key (64 hex digits), kept out of the configuration.
    document_key_file: Option<PathBuf>,
    emergency_number: Option<String>,
    fhir_max_input_mb: Option<u64>,
    #[serde(default)]
    trusted_proxies: Vec<std::net::IpAddr>,
    alert_ack_minutes: Option<u64>,
    public_url: Option<String>,
    /// A file holding the SMTP address (it may hold a password), kept out of the
    /// configuration.
    smtp_url_file: Option<PathBuf>,
    mail_from: Option<String>,
    smtp_ca: Option<PathBuf>,
    /// Vital signs that alert on their own: `[vital_limits]` with any of
    /// `systolic_at_most`, `spo2_at_most`, `respiratory_rate_at_least`, … (NEWS2's by default).
    vital_limits: Option<cellpath_care::monitoring::VitalLimits>,
}

/// Settings after precedence: flags > environment > configuration file > defaults. Clap
/// already puts a flag before its environment variable; the file fills only what neither
/// gave, and the defaults what nobody gave.
#[derive(Debug, PartialEq)]
struct Settings {
    database_url: Option<String>,
    data_dir: PathBuf,
    bind: String,
    secure_cookies: bool,
    document_key: Option<cellpath_web::Secret<String>>,
    emergency_number: String,
    fhir_max_input_mb: u64,
    trusted_proxies: Vec<std::net::IpAddr>,
    alert_ack_minutes: u64,
    public_url: String,
    mail: Option<MailSettings>,
    vital_limits: cellpath_care::monitoring::VitalLimits,
}

/// Where and as whom e-mail is sent.
#[derive(Debug, PartialEq)]
struct MailSettings {
    smtp_url: cellpath_web::Secret<String>,
    from: String,
    ca: Option<PathBuf>,
}

fn resolve(args: &ServeArgs, file: ConfigFile) -> Result<Settings> {
    let document_key = match (&args.document_key, file.document_key_file) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(key_file)) => Some(
            std::fs::read_to_string(&key_file)
                .with_context(|| {
                    format!("cannot read the document key file {}", key_file.display())
                })?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let emergency_number = args
        .emergency_number
        .clone()
        .or(file.emergency_number)
        .unwrap_or_else(|| cellpath_care::diary::Emergency::default().number);
    if emergency_number.is_empty()
        || emergency_number.len() > 20
        || !emergency_number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
    {
        return Err(anyhow!(
            "emergency number `{emergency_number}`: use digits (and + - or spaces), at most 20"
        ));
    }
    let alert_ack_minutes = args
        .alert_ack_minutes
        .or(file.alert_ack_minutes)
        .unwrap_or(cellpath_care::oncall::DEFAULT_ACK_WINDOW_SECS / 60);
    if !(1..=24 * 60).contains(&alert_ack_minutes) {
        return Err(anyhow!(
            "alert acknowledgement window {alert_ack_minutes} minutes: between 1 and 1440"
        ));
    }
    let bind = args
        .bind
        .clone()
        .or(file.bind)
        .unwrap_or_else(|| DEFAULT_BIND.to_owned());
    let public_url = args
        .public_url
        .clone()
        .or(file.public_url)
        .unwrap_or_else(|| format!("http://{bind}"));
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        return Err(anyhow!(
            "public URL `{public_url}`: it starts with http:// or https://"
        ));
    }
    let smtp_url = match (&args.smtp_url, &file.smtp_url_file) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the SMTP address file {}", f.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let mail = match (smtp_url, args.mail_from.clone().or(file.mail_from)) {
        (Some(url), Some(from)) => Some(MailSettings {
            smtp_url: cellpath_web::Secret::new(url),
            from,
            ca: args.smtp_ca.clone().or(file.smtp_ca),
        }),
        (Some(_), None) => {
            return Err(anyhow!(
                "--smtp-url needs --mail-from, the address e-mails are sent from"
            ));
        }
        (None, _) => None,
    };
    Ok(Settings {
        alert_ack_minutes,
        public_url: public_url.trim_end_matches('/').to_owned(),
        mail,
        vital_limits: file.vital_limits.unwrap_or_default(),
        database_url: args.db.database_url.clone().or(file.database_url),
        data_dir: args
            .db
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        bind,
        secure_cookies: args.secure_cookies.or(file.secure_cookies).unwrap_or(false),
        document_key: document_key.map(cellpath_web::Secret::new),
        emergency_number,
        fhir_max_input_mb: args
            .fhir_max_input_mb
            .or(file.fhir_max_input_mb)
            .unwrap_or(DEFAULT_FHIR_MAX_INPUT_MB),
        trusted_proxies: if args.trusted_proxies.is_empty() {
            file.trusted_proxies
        } else {
            args.trusted_proxies.clone()
        },
    })
}

fn read_config(path: Option<&std::path::Path>) -> Result<ConfigFile> {
    let Some(path) = path else {
        return Ok(ConfigFile::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        anyhow!(
            "{}",
            cellpath_domain::FileError::from_toml(&path.display().to_string(), &text, &e)
        )
    })
}

const DEFAULT_DATA_DIR: &str = "data";
const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_FHIR_MAX_INPUT_MB: u64 = 64;

/// Logs to standard error: the access log and errors, never personal or clinical data
/// (`RUST_LOG` adjusts the level; default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

pub fn serve(args: ServeArgs, catalogue: Catalogue) -> Result<()> {
    let settings = resolve(&args, read_config(args.config.as_deref())?)?;
    init_tracing();
    let db = DbArgs {
        database_url: settings.database_url.clone(),
        data_dir: Some(settings.data_dir.clone()),
    };
    runtime()?.block_on(async {
        let store = open(&db).await?;
        let listener = tokio::net::TcpListener::bind(&settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let addr = listener.local_addr()?;
        let document_key = match (&settings.document_key, args.demo) {
            (Some(hex), _) => {
                Some(cellpath_web::parse_key(hex.expose()).map_err(|e| anyhow!("{e}"))?)
            }
            (None, true) => Some(demo_key(&settings.data_dir)?),
            (None, false) => {
                eprintln!("documents are disabled: set CELLPATH_DOCUMENT_KEY (64 hex digits)");
                None
            }
        };
        let documents_in_database = store.backend() == cellpath_store::Backend::Postgres;
        let search_place = if documents_in_database {
            cellpath_web::search::Place::Temp
        } else {
            cellpath_web::search::Place::Dir(settings.data_dir.join("search-index"))
        };
        let state = Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config {
                secure_cookies: settings.secure_cookies,
                documents_dir: settings.data_dir.join("documents"),
                document_key: document_key.map(cellpath_web::Secret::new),
                documents_in_database,
                emergency: cellpath_care::diary::Emergency {
                    number: settings.emergency_number.clone(),
                },
                demo: args.demo,
                trusted_proxies: settings.trusted_proxies.clone(),
                max_fhir: usize::try_from(settings.fhir_max_input_mb.saturating_mul(1024 * 1024))
                    .unwrap_or(usize::MAX),
                // Beside SQLite the index has the data folder; replicas on PostgreSQL each
                // keep their own in a temporary folder.
                search: Arc::new(cellpath_web::search::Search::at(search_place)),
                alert_ack_window: std::time::Duration::from_secs(settings.alert_ack_minutes * 60),
                vital_limits: settings.vital_limits,
                public_url: settings.public_url.clone(),
                mailer: mailer(settings.mail.as_ref())?,
                ..cellpath_web::Config::default()
            },
        });
        if args.demo {
            demo(&state).await?;
        }
        let searcher = search_follower(Arc::clone(&state));
        // Safety alerts escalate and e-mails go out from here, every few seconds.
        let alerting = cellpath_web::notify::spawn_background(Arc::clone(&state));
        let n = cellpath_web::rescreen_stale(&state)
            .await
            .map_err(|e| anyhow!("at start: {e}"))?;
        if n > 0 {
            eprintln!(
                "re-screened {n} case(s) against catalogue {}",
                state.catalogue.version()
            );
        }
        // Signed checkpoints of the audit chain's head: now, at an interval, and at shutdown.
        let places = crate::checkpoint::Places::new(
            &settings.data_dir,
            args.checkpoints.audit_key.clone(),
            args.checkpoints.audit_checkpoints.clone(),
        );
        let key = crate::checkpoint::signing_key(&places.key)?;
        let mut last = None;
        checkpoint_now(&state.store, &key, &places.log, &mut last).await?;
        let ticker = {
            let state = Arc::clone(&state);
            let key = key.clone();
            let log = places.log.clone();
            let every = std::time::Duration::from_secs(args.checkpoint_secs.max(1));
            let entries = i64::try_from(args.checkpoint_entries.max(1)).unwrap_or(i64::MAX);
            tokio::spawn(async move {
                let mut last = last;
                let mut since = std::time::Instant::now();
                loop {
                    // Looks each second: on time, or sooner when enough entries came in.
                    tokio::time::sleep(std::time::Duration::from_secs(1).min(every)).await;
                    let due = since.elapsed() >= every
                        || match state.store.audit_head().await {
                            Ok(Some(head)) => head.seq - last.unwrap_or(0) >= entries,
                            _ => false,
                        };
                    if !due {
                        continue;
                    }
                    since = std::time::Instant::now();
                    if let Err(e) = checkpoint_now(&state.store, &key, &log, &mut last).await {
                        tracing::error!(error = %e, "audit checkpoint failed");
                    }
                }
            })
        };
        // Last line before serving: scripts wait for it.
        eprintln!(
            "cellpath serving on http://{addr} ({:?}); open it in a browser; health at /healthz, API under /api/v1",
            state.store.backend()
        );
        cellpath_web::serve_with(listener, Arc::clone(&state), Some(cellpath_pages::pages())).await?;
        ticker.abort();
        searcher.abort();
        alerting.abort();
        let mut last = None;
        checkpoint_now(&state.store, &key, &places.log, &mut last).await?;
        Ok(())
    })
}

/// The e-mail channel the settings name, checked now (a bad address stops the start, never
/// the first alert).
fn mailer(mail: Option<&MailSettings>) -> Result<Option<Arc<dyn cellpath_web::mail::Channel>>> {
    let Some(m) = mail else {
        return Ok(None);
    };
    let ca = match &m.ca {
        Some(p) => Some(
            std::fs::read(p)
                .with_context(|| format!("cannot read the SMTP CA file {}", p.display()))?,
        ),
        None => None,
    };
    let smtp = cellpath_web::mail::Smtp::parse(m.smtp_url.expose(), &m.from, ca.as_deref())
        .map_err(|e| anyhow!("--smtp-url: {e}"))?;
    if smtp.tls() == cellpath_web::mail::Tls::None {
        eprintln!("e-mail goes to the SMTP relay without TLS (tls=none): keep it on this machine");
    }
    Ok(Some(Arc::new(smtp)))
}

/// How often a server takes in what other replicas stored in the registry.
const SEARCH_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// Builds the search index from the database in the background (searches see what is
/// indexed so far), then follows the registry.
fn search_follower(state: Arc<cellpath_web::AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match state.config.search.rebuild(&state).await {
            Ok(p) => tracing::info!(
                studies = p.indexed,
                seconds = started.elapsed().as_secs_f64(),
                "search index built"
            ),
            Err(e) => tracing::error!(error = ?e.code, "the search index could not be built"),
        }
        if let Err(e) = state.follow_registry_status().await {
            tracing::error!(error = ?e.code, "screenings could not read the registry's statuses");
        }
        loop {
            tokio::time::sleep(SEARCH_REFRESH).await;
            if let Err(e) = state.config.search.refresh(&state).await {
                tracing::error!(error = ?e.code, "the search index could not follow the registry");
            }
            if let Err(e) = state.follow_registry_status().await {
                tracing::error!(error = ?e.code, "screenings could not follow the registry's statuses");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn file() -> ConfigFile {
        ConfigFile {
            database_url: Some("sqlite://from-file.db".into()),
            data_dir: Some(PathBuf::from("file-data")),
            bind: Some("127.0.0.1:7000".into()),
            secure_cookies: Some(true),
            document_key_file: None,
            emergency_number: None,
            fhir_max_input_mb: Some(8),
            trusted_proxies: vec!["10.0.0.2".parse().expect("ip")],
            ..ConfigFile::default()
        }
    }

    #[test]
    fn flags_beat_the_file_even_when_equal_to_the_default() {
        let cli = Cli::try_parse_from(["x", "--bind", DEFAULT_BIND, "--data-dir", "data"])
            .expect("parse");
        let s = resolve(&cli.serve, file()).expect("resolve");
        assert_eq!(s.bind, DEFAULT_BIND);
        assert_eq!(s.data_dir, PathBuf::from("data"));
        // What no flag gave comes from the file.
        assert_eq!(s.database_url.as_deref(), Some("sqlite://from-file.db"));
        assert!(s.secure_cookies);
    }

    #[test]
    fn the_file_beats_the_defaults_and_defaults_fill_the_rest() {
        let cli = Cli::try_parse_from(["x"]).expect("parse");
        let s = resolve(&cli.serve, file()).expect("resolve");
        assert_eq!(s.bind, "127.0.0.1:7000");
        let s = resolve(&cli.serve, ConfigFile::default()).expect("resolve");
        assert_eq!(s.bind, DEFAULT_BIND);
        assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert!(!s.secure_cookies);
        assert_eq!(s.fhir_max_input_mb, DEFAULT_FHIR_MAX_INPUT_MB);
        assert_eq!(
            resolve(&cli.serve, file())
                .expect("resolve")
                .fhir_max_input_mb,
            8
        );
        let cli = Cli::try_parse_from(["x", "--fhir-max-input-mb", "2"]).expect("parse");
        assert_eq!(
            resolve(&cli.serve, file())
                .expect("resolve")
                .fhir_max_input_mb,
            2
        );
    }

    #[test]
    fn the_document_key_is_never_printed() {
        let cli = Cli::try_parse_from(["x", "--document-key", &"ab".repeat(32)]).expect("parse");
        let s = resolve(&cli.serve, ConfigFile::default()).expect("resolve");
        let shown = format!("{s:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
