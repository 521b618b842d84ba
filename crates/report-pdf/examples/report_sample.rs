//! Writes the example report's PDFs — both kinds, both languages — into a folder, for the
//! reader's-tools check (`scripts/pdf-check.sh`: pdftotext against the golden text, pdffonts,
//! pdfinfo). `cargo run -p cellpath-report-pdf --example report_sample -- DIR`

use cellpath_domain::Lang;
use cellpath_report::{Kind, sample};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: sample DIR (where to write the PDFs)")?,
    );
    std::fs::create_dir_all(&dir)?;
    for kind in [Kind::Mdt, Kind::Patient] {
        for lang in [Lang::En, Lang::ZhCn] {
            let report = sample(kind, lang);
            let path = dir.join(format!("{}-{}.pdf", kind.as_str(), report.lang));
            std::fs::write(&path, cellpath_report_pdf::pdf(&report)?)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
