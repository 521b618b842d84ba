//! Full-text search over the trials registry.
//!
//! One tantivy document per study, its text split by [`analyzer`] (Latin words, jieba for
//! Chinese), queried in the language of [`query`] with Chinese words expanded through the
//! sourced table in [`terms`]; facets, snippets, sorting, and [`StudyIndex::for_case`].
//! The index lives beside a server (in memory or in a folder it owns) and is rebuilt from
//! the database at start, so replicas on one PostgreSQL each keep their own.

pub mod analyzer;
pub mod case;
pub mod index;
pub mod query;
pub mod terms;

pub use case::{CaseProfile, Reason, Site, Suggestion};
pub use index::{
    FacetCount, FacetGroup, Hit, Request, Results, Snippet, Sort, Span, StudyIndex, Summary,
    TextField, Where,
};
pub use query::{FacetKey, Parsed, QueryError, parse};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index folder {0}: {1}")]
    Io(String, std::io::Error),
    #[error("search index holds a summary it cannot read: {0}")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
