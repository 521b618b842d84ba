//! The `cellpath` command.

mod bulk;
mod checkpoint;
mod input;
mod render;
mod server;
mod sync;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result, anyhow, bail};
use cellpath_domain::{Date, native};
use cellpath_eligibility::{Catalogue, Lang, Programme, eval};
use clap::{Parser, Subcommand, ValueEnum};

/// cellpath — pre-screening and coordination for CAR-T cell therapy.
///
/// Decision support, not medical advice: every verdict is a pre-screen for the treating
/// team and the MDT to confirm.
#[derive(Parser)]
#[command(name = "cellpath", version, about, long_about)]
struct Cli {
    /// Load the programme catalogue from this folder instead of the built-in one.
    #[arg(long, global = true, env = "CELLPATH_CATALOGUE", value_name = "DIR")]
    catalogue: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the coordination server (SQLite in the data folder by default).
    Serve(server::ServeArgs),
    /// Database maintenance.
    #[command(subcommand)]
    Db(server::DbCommand),
    /// Back up the SQLite database online (PostgreSQL: see docs/operations.md).
    Backup(server::BackupArgs),
    /// Restore a backup into a data folder (stop the server first).
    Restore(server::RestoreArgs),
    /// Audit log maintenance.
    #[command(subcommand)]
    Audit(server::AuditCommand),
    /// Work with the stored documents: `rekey` re-encrypts them all under a new key.
    #[command(subcommand)]
    Documents(server::DocumentsCommand),
    /// The MDT report or the patient's summary of a signed consensus, from the server's data
    /// (`--case`, `--kind`, `--lang`, `--out`); `report verify FILE` checks an issued one.
    Report(server::ReportArgs),
    /// The trials registry: `import PATH…` reads ClinicalTrials.gov studies into the server's
    /// data, keeping every version and what changed; `sync` pulls what changed from the
    /// registry's API.
    #[command(subcommand)]
    Registry(server::RegistryCommand),
    /// Print the server's OpenAPI document (also served at /api/openapi.json).
    Openapi,
    /// Screen a case (native TOML/JSON or a FHIR R4 bundle) against the programmes.
    Screen(ScreenArgs),
    /// Work with case files.
    #[command(subcommand)]
    Case(CaseCommand),
    /// List or show the programmes in the catalogue.
    #[command(subcommand)]
    Programmes(ProgrammesCommand),
    /// Plan a treatment journey from a plan file (TOML): windows for every step, conflicts,
    /// and an iCalendar file for the family's calendar.
    Plan(PlanArgs),
    /// Grade CRS or ICANS by the ASTCT 2019 consensus from a JSON observation.
    #[command(subcommand)]
    Grade(GradeCommand),
    /// Check a catalogue folder and report the first problem with file and line.
    CatalogueCheck {
        /// The folder of programme files (`*.toml`).
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    En,
    #[value(name = "zh-CN")]
    ZhCn,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::En => Lang::En,
            LangArg::ZhCn => Lang::ZhCn,
        }
    }
}

#[derive(clap::Args)]
struct ScreenArgs {
    /// The case: a native case file (.toml or .json), a FHIR R4 JSON bundle, or `-` for
    /// standard input.
    file: String,
    /// Screen only this programme (repeatable). Default: every programme, best first.
    #[arg(long = "programme", value_name = "ID")]
    programmes: Vec<String>,
    /// The screening date (YYYY-MM-DD): ages, washout windows and result dates are
    /// judged as of this day. Default: today (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    as_of: Option<Date>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[arg(long, value_enum, default_value = "en")]
    lang: LangArg,
    #[command(flatten)]
    fhir: input::FhirInput,
}

#[derive(Subcommand)]
enum CaseCommand {
    /// Check a native case file; prints what it holds, or the first problem with its place.
    Validate {
        /// The case file (.toml or .json), or `-` for standard input.
        file: String,
    },
    /// Import a FHIR R4 / mCODE bundle into a native case, printing the case (TOML or
    /// JSON) and, with --report, what was used and skipped per resource.
    Import {
        /// The FHIR JSON file, or `-` for standard input.
        file: String,
        #[arg(long, value_enum, default_value = "toml")]
        to: CaseFormat,
        /// Print the per-resource import report to standard error.
        #[arg(long)]
        report: bool,
        #[command(flatten)]
        fhir: input::FhirInput,
    },
    /// Import a FHIR Bulk Data export (ndjson, one resource per line; a folder of `.ndjson`
    /// files or one file) into one native case file per patient, with a summary.
    ImportBulk {
        /// The export folder, or one `.ndjson` file.
        path: PathBuf,
        /// Where to write the cases (`<patient id>.toml`); created if missing.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Refuse exports larger than this many MiB in all (default 4096).
        #[arg(long, value_name = "MIB", default_value_t = 4096)]
        max_input_mb: u64,
    },
    /// Write a case (native, or FHIR) in another form: `--to fhir` gives an mCODE STU4
    /// bundle whose every resource carries its source.
    Export {
        /// The case file, or `-` for standard input.
        file: String,
        #[arg(long, value_enum, default_value = "fhir")]
        to: ExportFormat,
        #[command(flatten)]
        fhir: input::FhirInput,
    },
    /// Print the JSON Schema of the native case format.
    Schema,
}

#[derive(clap::Args)]
struct PlanArgs {
    /// The plan file (see docs/journey.md), or `-` for standard input.
    file: String,
    #[arg(long, value_enum, default_value = "text")]
    format: PlanFormat,
    #[arg(long, value_enum, default_value = "en")]
    lang: LangArg,
    /// A journey template file instead of the shipped one for the plan's programme.
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// The calendar's timestamp day (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    stamp: Option<Date>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum PlanFormat {
    Text,
    Json,
    Ics,
}

#[derive(Subcommand)]
enum GradeCommand {
    /// Cytokine release syndrome. Input: {"temperature_c": 38.6,
    /// "antipyretics_or_anticytokine_given": false, "hypotension": true, "vasopressors": 1,
    /// "vasopressin": false, "oxygen": {"device": "low-flow-nasal-cannula", "flow_l_min": 4}}
    Crs {
        /// The JSON file, or `-` for standard input.
        file: String,
        /// The language of the reasons.
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
    },
    /// Neurotoxicity (adults). Input: {"ice_score": 6, "consciousness": "awakens-to-voice",
    /// "seizure": "none", "motor_weakness": "none", "cerebral_edema": "none"}, or "ice":
    /// {"orientation": 3, "naming": 2, "commands": 1, "writing": 0, "attention": 0} instead
    /// of "ice_score" (null when the patient cannot be assessed).
    Icans {
        /// The JSON file, or `-` for standard input.
        file: String,
        /// The language of the reasons.
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CaseFormat {
    Toml,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// An mCODE STU4 collection bundle (FHIR R4 JSON).
    Fhir,
}

#[derive(Subcommand)]
enum ProgrammesCommand {
    /// One line per programme: id, kind, status, name.
    List {
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
    },
    /// A programme's criteria, rules, sources and requests.
    Show {
        id: String,
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
    },
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s).map_err(|e| e.to_string())
}

fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days(i64::try_from(secs / 86_400).unwrap_or_default())
}

fn load_catalogue(dir: Option<&Path>) -> Result<Catalogue> {
    let Some(dir) = dir else {
        return cellpath_eligibility::shipped().map_err(|e| anyhow!("built-in catalogue: {e}"));
    };
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the catalogue folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    if files.is_empty() {
        bail!("{}: no programme files (*.toml)", dir.display());
    }
    Catalogue::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .map_err(|e| anyhow!("{e}"))
}

/// The command ran and its answer is "no" — a report that does not match, records refused —
/// as opposed to a failure: exit 1, where errors exit 2.
#[derive(Debug)]
struct Negative(&'static str);

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Negative {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Negative>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Serve(args) => {
            let catalogue = load_catalogue(cli.catalogue.as_deref())?;
            server::serve(args, catalogue)?;
        }
        Command::Db(cmd) => server::db(cmd, &mut out)?,
        Command::Backup(args) => server::backup(args, &mut out)?,
        Command::Restore(args) => server::restore(args, &mut out)?,
        Command::Openapi => {
            serde_json::to_writer_pretty(&mut out, &cellpath_web::openapi())?;
            writeln!(out)?;
        }
        Command::Audit(cmd) => server::audit(cmd, &mut out)?,
        Command::Report(args) => {
            let catalogue = load_catalogue(cli.catalogue.as_deref())?;
            if !server::report(args, catalogue, &mut out)? {
                return Err(Negative("the report does not match").into());
            }
        }
        Command::Documents(cmd) => server::documents(cmd, &mut out)?,
        Command::Registry(cmd) => {
            let catalogue = load_catalogue(cli.catalogue.as_deref())?;
            if !server::registry(cmd, catalogue, &mut out)? {
                return Err(Negative(
                    "some records were refused (named above); the rest were imported",
                )
                .into());
            }
        }
        Command::Screen(args) => {
            let catalogue = load_catalogue(cli.catalogue.as_deref())?;
            let only: Vec<&Programme> = args
                .programmes
                .iter()
                .map(|id| {
                    catalogue.get(id).ok_or_else(|| {
                        anyhow!(
                            "unknown programme `{id}` (known: {})",
                            catalogue.ids().into_iter().collect::<Vec<_>>().join(", ")
                        )
                    })
                })
                .collect::<Result<_>>()?;
            let loaded = input::load_case(&args.file, &args.fhir)?;
            let as_of = args.as_of.unwrap_or_else(today);
            let results = eval::screen(&catalogue, &loaded.case, as_of, &only);
            let lang = Lang::from(args.lang);
            match args.format {
                Format::Json => {
                    let doc = serde_json::json!({
                        "as_of": as_of.to_string(),
                        "disclaimer": render::disclaimer(lang),
                        "results": eval::localise(&results, lang),
                    });
                    serde_json::to_writer_pretty(&mut out, &doc)?;
                    writeln!(out)?;
                }
                Format::Text => {
                    let text = render::screening(&catalogue, &loaded, &results, as_of, lang);
                    out.write_all(text.as_bytes())?;
                }
            }
        }
        Command::Case(CaseCommand::Validate { file }) => {
            let loaded = input::load_case(&file, &input::FhirInput::default())?;
            if loaded.fhir.is_some() {
                bail!("{file} is a FHIR resource, not a native case: use `cellpath case import`");
            }
            writeln!(
                out,
                "{}: valid {} case",
                input::display_name(&file),
                cellpath_domain::CASE_FORMAT
            )?;
            out.write_all(render::case_summary(&loaded.case, Lang::En).as_bytes())?;
        }
        Command::Case(CaseCommand::ImportBulk {
            path,
            out: dir,
            max_input_mb,
        }) => {
            bulk::import_bulk(&path, &dir, max_input_mb, &mut out)?;
        }
        Command::Case(CaseCommand::Export { file, to, fhir }) => {
            let loaded = input::load_case(&file, &fhir)?;
            match to {
                ExportFormat::Fhir => {
                    serde_json::to_writer_pretty(&mut out, &cellpath_fhir::export(&loaded.case))?;
                    writeln!(out)?;
                }
            }
        }
        Command::Case(CaseCommand::Import {
            file,
            to,
            report,
            fhir,
        }) => {
            let loaded = input::load_case(&file, &fhir)?;
            let Some(rep) = &loaded.fhir else {
                bail!("{file} is a native case, not a FHIR resource");
            };
            if report {
                eprint!("{}", render::import_report(rep));
            }
            match to {
                CaseFormat::Toml => {
                    let text = toml::to_string(&loaded.case).context("serialising the case")?;
                    writeln!(
                        out,
                        "# Imported from {} — confirm the lines of therapy, then `cellpath case validate`.",
                        input::display_name(&file)
                    )?;
                    out.write_all(text.as_bytes())?;
                }
                CaseFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &loaded.case)?;
                    writeln!(out)?;
                }
            }
        }
        Command::Case(CaseCommand::Schema) => {
            serde_json::to_writer_pretty(&mut out, &native::json_schema())?;
            writeln!(out)?;
        }
        Command::Programmes(ProgrammesCommand::List { lang }) => {
            let catalogue = load_catalogue(cli.catalogue.as_deref())?;
            out.write_all(render::programme_list(&catalogue, lang.into()).as_bytes())?;
        }
        Command::Programmes(ProgrammesCommand::Show { id, lang }) => {
            let catalogue = load_catalogue(cli.catalogue.as_deref())?;
            let p = catalogue.get(&id).ok_or_else(|| {
                anyhow!(
                    "unknown programme `{id}` (known: {})",
                    catalogue.ids().into_iter().collect::<Vec<_>>().join(", ")
                )
            })?;
            out.write_all(render::programme(p, lang.into()).as_bytes())?;
        }
        Command::Plan(args) => {
            let name = input::display_name(&args.file).to_owned();
            let text = input::load_text(&args.file)?;
            let plan_input: cellpath_care::journey::PlanInput =
                toml::from_str(&text).map_err(|e| {
                    anyhow!(
                        "{}",
                        cellpath_domain::FileError::from_toml(&name, &text, &e)
                    )
                })?;
            let template = match &args.template {
                Some(path) => {
                    let t = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    cellpath_care::journey::Template::from_toml(&path.display().to_string(), &t)
                        .map_err(|e| anyhow!("{e}"))?
                }
                None => cellpath_care::journey::shipped(&plan_input.programme)
                    .ok_or_else(|| {
                        anyhow!(
                            "{name}: no journey template for programme `{}` (shipped: {})",
                            plan_input.programme,
                            cellpath_care::journey::SHIPPED
                                .iter()
                                .map(|(n, _)| n.trim_end_matches(".toml"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?
                    .map_err(|e| anyhow!("{e}"))?,
            };
            let plan = cellpath_care::journey::plan(&template, &plan_input)
                .map_err(|e| anyhow!("{name}: {e}"))?;
            let lang = Lang::from(args.lang);
            match args.format {
                PlanFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &plan)?;
                    writeln!(out)?;
                }
                PlanFormat::Ics => {
                    let stamp = args.stamp.unwrap_or_else(today);
                    out.write_all(
                        cellpath_care::ics::to_ics(&template, &plan, lang, stamp).as_bytes(),
                    )?;
                }
                PlanFormat::Text => {
                    out.write_all(render::plan(&template, &plan, lang).as_bytes())?;
                }
            }
        }
        Command::Grade(g) => {
            let (grading, lang) = match g {
                GradeCommand::Crs { file, lang } => (
                    cellpath_care::grade_crs(&input::load_json::<cellpath_care::CrsInput>(&file)?),
                    lang,
                ),
                GradeCommand::Icans { file, lang } => (
                    cellpath_care::grade_icans(&input::load_json::<cellpath_care::IcansInput>(
                        &file,
                    )?),
                    lang,
                ),
            };
            // The documented contract: grade (null when it cannot be graded, its lower bound
            // then in at_least), graded, reasons (in the asked language).
            let mut doc = serde_json::json!({
                "grade": grading.grade_if_graded(),
                "graded": grading.graded,
                "reasons": grading.reasons_in(Lang::from(lang)),
            });
            if !grading.graded {
                doc["at_least"] = serde_json::json!(grading.grade);
            }
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Command::CatalogueCheck { dir } => {
            let catalogue = load_catalogue(Some(&dir))?;
            writeln!(
                out,
                "{}: {} programmes, {} criteria, version {}",
                dir.display(),
                catalogue.programmes().len(),
                catalogue
                    .programmes()
                    .iter()
                    .map(|p| p.criteria().len())
                    .sum::<usize>(),
                catalogue.version()
            )?;
            // The outcome figures reports cite, when the catalogue has them.
            let folder = dir.join("evidence");
            if folder.is_dir() {
                let mut files = Vec::new();
                for entry in std::fs::read_dir(&folder)
                    .with_context(|| format!("cannot read {}", folder.display()))?
                {
                    let path = entry?.path();
                    if path.extension().is_some_and(|e| e == "toml") {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?;
                        files.push((path.display().to_string(), text));
                    }
                }
                files.sort();
                let evidence = cellpath_eligibility::evidence::Evidence::from_files(
                    files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
                )
                .map_err(|e| anyhow!("{e}"))?;
                writeln!(
                    out,
                    "{}: {} published figures, each with its source and date",
                    folder.display(),
                    evidence.figures().len()
                )?;
            }
        }
    }
    Ok(())
}
