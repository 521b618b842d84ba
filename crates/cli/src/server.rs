//! `cellpath serve`, `cellpath db migrate`, `cellpath audit verify`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use cellpath_eligibility::Catalogue;
use cellpath_store::Store;
use cellpath_web::policy::Role;
use clap::{Args, Subcommand};

#[derive(Args, Clone)]
pub struct DbArgs {
    /// `sqlite://PATH` or `postgres://…`. Default: SQLite in the data folder.
    #[arg(long, env = "CELLPATH_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Where the SQLite database (and later the documents) live.
    #[arg(
        long,
        env = "CELLPATH_DATA_DIR",
        value_name = "DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,
}

impl DbArgs {
    fn url(&self) -> Result<String> {
        if let Some(u) = &self.database_url {
            return Ok(u.clone());
        }
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!("cannot create the data folder {}", self.data_dir.display())
        })?;
        Ok(format!(
            "sqlite://{}",
            self.data_dir.join("cellpath.db").display()
        ))
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
    /// Address to listen on.
    #[arg(long, env = "CELLPATH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Load demo users (their passwords printed, only in demo mode) and a demo case.
    #[arg(long)]
    pub demo: bool,
    /// Mark session cookies Secure (set when serving behind TLS).
    #[arg(long, env = "CELLPATH_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The AES-256 key for documents at rest, 64 hex digits. Without it uploads are refused
    /// (in demo mode a key is made and kept in the data folder).
    #[arg(long, env = "CELLPATH_DOCUMENT_KEY", hide_env_values = true)]
    pub document_key: Option<String>,
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
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain from the first entry to the last.
    Verify(DbArgs),
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn open(db: &DbArgs) -> Result<Store> {
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
        let store = open(&args).await?;
        let n = store.verify_audit().await.map_err(|e| anyhow!("{e}"))?;
        writeln!(out, "audit chain verified: {n} entries")?;
        Ok(())
    })
}

/// Copies the documents folder (encrypted files, never changed once written).
fn copy_documents(from: &std::path::Path, to: &std::path::Path) -> Result<usize> {
    if !from.exists() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
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
        std::fs::create_dir_all(&args.to)
            .with_context(|| format!("cannot create {}", args.to.display()))?;
        let db = args.to.join("cellpath.db");
        store.backup_sqlite(&db).await.map_err(|e| anyhow!("{e}"))?;
        let docs = copy_documents(
            &args.db.data_dir.join("documents"),
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
        copy.close().await;
        std::fs::create_dir_all(&args.data_dir)?;
        let restored_docs = match &docs {
            Some(d) => copy_documents(d, &args.data_dir.join("documents"))?,
            None => 0,
        };
        let staging = args.data_dir.join("cellpath.db.restoring");
        std::fs::copy(&db, &staging).context("copying the backup")?;
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
fn demo_key(data_dir: &std::path::Path) -> Result<[u8; 32]> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("demo-document.key");
    let hex = match std::fs::read_to_string(&path) {
        Ok(h) => h,
        Err(_) => {
            let h = cellpath_web::auth::random_hex(32);
            std::fs::write(&path, &h).context("writing the demo document key")?;
            h
        }
    };
    cellpath_web::parse_key(&hex).map_err(|e| anyhow!("{}: {e}", path.display()))
}

const DEMO_PLAN: &str = include_str!("../../../examples/plans/satri-cel-example.toml");
const DEMO_CASE: &str = include_str!("../../../examples/cases/gastric-cldn18-eligible.toml");

async fn demo(store: &Store) -> Result<()> {
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
    if store.user_by_email(users[0].0).await?.is_some() {
        eprintln!("demo data already loaded: use the passwords printed at its first start");
        return Ok(());
    }
    eprintln!("demo mode — these accounts exist only for trying cellpath out:");
    let mut ids = Vec::new();
    for (email, role, specialty) in users {
        let password = cellpath_web::auth::random_hex(6);
        let id = cellpath_web::create_user(store, email, &password, role, specialty)
            .await
            .map_err(|e| anyhow!("{}", e.message))?;
        eprintln!("  {:<28} {:<12} password {password}", email, role.as_str());
        ids.push(id);
    }
    for (i, text) in cellpath_web::consent::texts().iter().enumerate() {
        store
            .accept_consent(&format!("k-demo-{i}"), &ids[0], &text.kind, &text.version)
            .await?;
    }
    let case = cellpath_domain::native::from_toml(DEMO_CASE).map_err(|e| anyhow!("{e}"))?;
    let record = serde_json::to_string(&case)?;
    let case_id = "c-demo-1";
    store
        .create_case(case_id, &ids[0], &ids[2], "inquiry", &record)
        .await?;
    store
        .add_member(case_id, &ids[1], "caregiver", "view")
        .await?;
    store
        .add_member(case_id, &ids[2], "coordinator", "act")
        .await?;
    store
        .add_member(case_id, &ids[3], "specialist", "act")
        .await?;
    let plan: toml::Value = toml::from_str(DEMO_PLAN)?;
    store
        .put_journey(case_id, &serde_json::to_string(&plan)?)
        .await?;
    store
        .audit("system", "demo.load", Some(case_id), "demo")
        .await?;
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
}

/// Fills what flags and the environment left at their defaults from the configuration file.
fn apply_config(args: &mut ServeArgs) -> Result<()> {
    let Some(path) = &args.config else {
        return Ok(());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        anyhow!(
            "{}",
            cellpath_domain::FileError::from_toml(&path.display().to_string(), &text, &e)
        )
    })?;
    if args.db.database_url.is_none() {
        args.db.database_url = file.database_url;
    }
    if args.db.data_dir == std::path::Path::new(DEFAULT_DATA_DIR)
        && let Some(d) = file.data_dir
    {
        args.db.data_dir = d;
    }
    if args.bind == DEFAULT_BIND
        && let Some(b) = file.bind
    {
        args.bind = b;
    }
    args.secure_cookies |= file.secure_cookies.unwrap_or(false);
    if args.document_key.is_none()
        && let Some(key_file) = file.document_key_file
    {
        let key = std::fs::read_to_string(&key_file)
            .with_context(|| format!("cannot read the document key file {}", key_file.display()))?;
        args.document_key = Some(key.trim().to_owned());
    }
    Ok(())
}

const DEFAULT_DATA_DIR: &str = "data";
const DEFAULT_BIND: &str = "127.0.0.1:8080";

pub fn serve(mut args: ServeArgs, catalogue: Catalogue) -> Result<()> {
    apply_config(&mut args)?;
    runtime()?.block_on(async {
        let store = open(&args.db).await?;
        if args.demo {
            demo(&store).await?;
        }
        let listener = tokio::net::TcpListener::bind(&args.bind)
            .await
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "cellpath serving on http://{addr} ({:?}); health at /healthz, API under /api/v1",
            store.backend()
        );
        let document_key = match (&args.document_key, args.demo) {
            (Some(hex), _) => Some(cellpath_web::parse_key(hex).map_err(|e| anyhow!("{e}"))?),
            (None, true) => Some(demo_key(&args.db.data_dir)?),
            (None, false) => {
                eprintln!("documents are disabled: set CELLPATH_DOCUMENT_KEY (64 hex digits)");
                None
            }
        };
        let state = Arc::new(cellpath_web::AppState {
            store,
            catalogue,
            config: cellpath_web::Config {
                secure_cookies: args.secure_cookies,
                documents_dir: args.db.data_dir.join("documents"),
                document_key,
                ..cellpath_web::Config::default()
            },
        });
        let n = cellpath_web::rescreen_stale(&state)
            .await
            .map_err(|e| anyhow!("re-screening at start: {}", e.message))?;
        if n > 0 {
            eprintln!(
                "re-screened {n} case(s) against catalogue {}",
                state.catalogue.version()
            );
        }
        cellpath_web::serve(listener, state).await?;
        Ok(())
    })
}
