//! The report as a PDF: laid out by Typst (as a library) from the same model and words as
//! the HTML, tagged, PDF/A-2a, with the fonts embedded. The fonts are shipped: a subset of
//! Noto Sans CJK SC (GB 2312, Latin, Greek, punctuation and symbols; see `fonts/README.md`),
//! so a report looks the same on every server and needs nothing installed. The bytes are
//! reproducible — the document date is the day the consensus was signed and the identifier
//! is the report's code — so a PDF can be verified by rendering it again.
//!
//! Typst is heavy to compile: it stays in this crate, behind plain functions.

use std::sync::OnceLock;

use cellpath_report::{Claim, Report};
use typst::foundations::{Dict, Smart, Value};
use typst::text::Font;
use typst_as_lib::TypstEngine;
use typst_as_lib::TypstTemplateCollection;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

static REGULAR: &[u8] = include_bytes!("../fonts/NotoSansSC-Regular-subset.otf");
static BOLD: &[u8] = include_bytes!("../fonts/NotoSansSC-Bold-subset.otf");
static REPORT: &str = include_str!("report.typ");
static BLANK: &str = include_str!("blank.typ");

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the report could not be laid out: {0}")]
    Layout(String),
    #[error("the PDF could not be written: {0}")]
    Export(String),
    #[error("the report has no signature date to date the document with")]
    NoDate,
}

fn engine() -> &'static TypstEngine<TypstTemplateCollection> {
    static ENGINE: OnceLock<TypstEngine<TypstTemplateCollection>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        TypstEngine::builder()
            .fonts([REGULAR, BOLD])
            .with_static_source_file_resolver([("report.typ", REPORT), ("blank.typ", BLANK)])
            .build()
    })
}

fn messages<T: std::fmt::Debug>(errors: impl IntoIterator<Item = T>) -> String {
    errors
        .into_iter()
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn options(ident: &str) -> Result<PdfOptions, PdfError> {
    Ok(PdfOptions {
        ident: Smart::Custom(ident.to_owned()),
        creator: Smart::Custom(Some("cellpath".to_owned())),
        timestamp: None,
        page_ranges: None,
        standards: PdfStandards::new(&[PdfStandard::A_2a])
            .map_err(|e| PdfError::Export(e.message().to_string()))?,
        tagged: true,
        pretty: false,
    })
}

/// The day the document is dated: the last signature's.
fn issued(report: &Report) -> Result<(i64, i64, i64), PdfError> {
    report
        .signatures
        .iter()
        .filter_map(|s| {
            let mut p = s.date.splitn(3, '-').map(str::parse::<i64>);
            Some((p.next()?.ok()?, p.next()?.ok()?, p.next()?.ok()?))
        })
        .max()
        .ok_or(PdfError::NoDate)
}

/// The report as a PDF.
pub fn pdf(report: &Report) -> Result<Vec<u8>, PdfError> {
    let (year, month, day) = issued(report)?;
    let data = serde_json::json!({
        "report": report,
        "words": cellpath_report::html::words(report),
        "claim": format!("cellpath-report:{}", cellpath_report::claim_line(report)),
        "issued": { "year": year, "month": month, "day": day },
    });
    let mut inputs = Dict::new();
    inputs.insert("data".into(), Value::Str(data.to_string().into()));
    let doc: PagedDocument = engine()
        .compile_with_input("report.typ", inputs)
        .output
        .map_err(|e| PdfError::Layout(e.to_string()))?;
    typst_pdf::pdf(&doc, &options(&report.code)?).map_err(|e| PdfError::Export(messages(e)))
}

/// One blank page with the same engine and fonts: the floor the report's time is measured
/// against.
pub fn blank() -> Result<Vec<u8>, PdfError> {
    let doc: PagedDocument = engine()
        .compile("blank.typ")
        .output
        .map_err(|e| PdfError::Layout(e.to_string()))?;
    let mut o = options("blank")?;
    o.standards = PdfStandards::default();
    typst_pdf::pdf(&doc, &o).map_err(|e| PdfError::Export(messages(e)))
}

/// What an issued PDF says it is (its keywords carry the claim line), or `None`.
pub fn claim(bytes: &[u8]) -> Option<Claim> {
    if !bytes.starts_with(b"%PDF-") {
        return None;
    }
    let needle = b"cellpath-report:";
    let at = bytes.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let end = bytes[at..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"=;-_.".contains(b)))
        .map_or(bytes.len(), |n| at + n);
    cellpath_report::parse_claim(std::str::from_utf8(&bytes[at..end]).ok()?)
}

/// The characters of a report no shipped font has a glyph for (each once, in order): what
/// would print as an empty box. Whitespace is not counted.
pub fn uncovered(report: &Report) -> Vec<char> {
    static FONTS: OnceLock<Vec<Font>> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        [REGULAR, BOLD]
            .into_iter()
            .flat_map(|b| Font::iter(typst::foundations::Bytes::new(b.to_vec())))
            .collect()
    });
    let text = serde_json::json!({
        "report": report,
        "words": cellpath_report::html::words(report),
    })
    .to_string();
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c.is_whitespace() || out.contains(&c) {
            continue;
        }
        if !fonts.iter().all(|f| f.info().coverage.contains(c as u32)) {
            out.push(c);
        }
    }
    out
}
