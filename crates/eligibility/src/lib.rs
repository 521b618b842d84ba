//! The eligibility engine: the programme catalogue and its rule language, and an evaluator
//! that explains every criterion — met, not met, unknown (with the request that would
//! settle it) or not applicable — in English and Simplified Chinese.
//!
//! Pure: no IO. The shipped catalogue is compiled in (`shipped()`); a directory can be
//! loaded by the caller and handed to [`Catalogue::from_files`].

pub mod catalogue;
pub mod eval;
pub mod evidence;
pub mod facts;

pub use catalogue::{Catalogue, CatalogueError, Programme};
pub use cellpath_domain::text::{self, Bi, Lang};
pub use eval::{
    ProgrammeResult, ProgrammeSummary, Status, Verdict, evaluate, screen, screen_summary,
    summarise, verdict,
};
pub use facts::Facts;

/// The catalogue files shipped in `catalogue/`, compiled into the binary.
pub const SHIPPED_FILES: &[(&str, &str)] = &[
    (
        "satri-cel-nmpa.toml",
        include_str!("../../../catalogue/satri-cel-nmpa.toml"),
    ),
    (
        "zolbetuximab-1l.toml",
        include_str!("../../../catalogue/zolbetuximab-1l.toml"),
    ),
    (
        "ct041-st-01.toml",
        include_str!("../../../catalogue/ct041-st-01.toml"),
    ),
    (
        "ct041-st-02.toml",
        include_str!("../../../catalogue/ct041-st-02.toml"),
    ),
    (
        "ct041-st-05.toml",
        include_str!("../../../catalogue/ct041-st-05.toml"),
    ),
    (
        "ibi343-g-hope-001.toml",
        include_str!("../../../catalogue/ibi343-g-hope-001.toml"),
    ),
];

/// The shipped catalogue.
pub fn shipped() -> Result<Catalogue, CatalogueError> {
    Catalogue::from_files(SHIPPED_FILES.iter().copied())
}
