//! The registry's search, as use cases: the index each server keeps (built from the
//! database when the server starts or at the first search, then following the registry
//! from where it stopped), searching it, and the studies for a case.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use cellpath_search::{CaseProfile, Parsed, Request, Results, Site, Sort, StudyIndex, Suggestion};
use serde::Serialize;

use crate::policy::Action;
use crate::{Actor, ApiError, ErrorCode, Shared};

/// Studies read from the database per step of a build.
const BATCH: i64 = 1_000;
/// Segments a refreshed index may be in before they are merged into one.
const MAX_SEGMENTS: usize = 8;
/// Studies made searchable at once while building (a commit writes a segment).
const COMMIT_EVERY: usize = 25_000;
/// How far back a refresh reads again, seconds: a transaction that began before the last
/// refresh and committed after it carries an earlier time than the refresh saw.
const MARGIN_SECS: i64 = 120;

/// Where the index stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Studies in the index.
    pub indexed: u64,
    /// Studies in the registry when the build began.
    pub total: u64,
    /// Every study of the first build is searchable (its merge into one segment may
    /// still be running).
    pub ready: bool,
}

/// Where a server keeps its index.
#[derive(Clone, Debug, Default)]
pub enum Place {
    #[default]
    Memory,
    /// A temporary folder of its own, removed with the index (replicas on PostgreSQL).
    Temp,
    /// A folder it owns (beside an SQLite database).
    Dir(std::path::PathBuf),
}

/// One server's index of the registry.
#[derive(Default)]
pub struct Search {
    place: Place,
    index: RwLock<Option<Arc<StudyIndex>>>,
    /// One build or refresh at a time.
    busy: tokio::sync::Mutex<Watermark>,
    indexed: AtomicU64,
    total: AtomicU64,
    ready: AtomicBool,
}

/// The last study indexed, in the registry's stored order.
#[derive(Default)]
struct Watermark {
    updated_at: String,
    nct_id: String,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("progress", &self.progress())
            .finish()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` moved back by `secs` (the store's clock format).
fn earlier(ts: &str, secs: i64) -> String {
    let Ok(date) = cellpath_domain::Date::parse(ts) else {
        return String::new();
    };
    let num = |r: std::ops::Range<usize>| ts.get(r).and_then(|s| s.parse::<i64>().ok());
    let (Some(hh), Some(mm), Some(ss)) = (num(11..13), num(14..16), num(17..19)) else {
        return String::new();
    };
    let t = date.to_days() * 86_400 + hh * 3600 + mm * 60 + ss - secs;
    u64::try_from(t)
        .map(cellpath_store::rfc3339)
        .unwrap_or_default()
}

impl Search {
    pub fn at(place: Place) -> Self {
        Self {
            place,
            ..Self::default()
        }
    }

    pub fn progress(&self) -> Progress {
        Progress {
            indexed: self.indexed.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            ready: self.ready.load(Ordering::Relaxed),
        }
    }

    /// The index as it stands (none before the first build).
    pub fn index(&self) -> Option<Arc<StudyIndex>> {
        self.current()
    }

    fn current(&self) -> Option<Arc<StudyIndex>> {
        self.index.read().ok().and_then(|g| g.clone())
    }

    /// Builds the index afresh from the database. Searches see the studies indexed so far
    /// while it runs.
    pub async fn rebuild(&self, state: &Shared) -> Result<Progress, ApiError> {
        let mut mark = self.busy.lock().await;
        self.build(state, &mut mark).await
    }

    async fn build(&self, state: &Shared, mark: &mut Watermark) -> Result<Progress, ApiError> {
        let place = self.place.clone();
        let index = tokio::task::spawn_blocking(move || {
            StudyIndex::create_at(match &place {
                Place::Memory => cellpath_search::Where::Memory,
                Place::Temp => cellpath_search::Where::Temp,
                Place::Dir(d) => cellpath_search::Where::Dir(d),
            })
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
        let index = Arc::new(index);
        if let Ok(mut g) = self.index.write() {
            *g = Some(Arc::clone(&index));
        }
        self.ready.store(false, Ordering::Relaxed);
        self.indexed.store(0, Ordering::Relaxed);
        let total = u64::try_from(state.store.registry_count().await?).unwrap_or(0);
        self.total.store(total, Ordering::Relaxed);
        *mark = Watermark::default();
        self.follow(state, &index, mark, "").await?;
        // Every study is searchable from here; the merge below only makes searches cheaper.
        self.ready.store(true, Ordering::Relaxed);
        // One segment from here on: every search pays per segment.
        let merging = Arc::clone(&index);
        tokio::task::spawn_blocking(move || merging.compact())
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        Ok(self.progress())
    }

    /// Indexes what was stored since the last build or refresh. Without an index (a
    /// command-line process, or a server before its first build) it does nothing.
    pub async fn refresh(&self, state: &Shared) -> Result<(), ApiError> {
        let Some(index) = self.current() else {
            return Ok(());
        };
        let mut mark = self.busy.lock().await;
        let since = earlier(&mark.updated_at, MARGIN_SECS);
        // Read again from the margin: what committed late is not lost.
        *mark = Watermark::default();
        self.follow(state, &index, &mut mark, &since).await?;
        // Each refresh that found something left a small segment: merge them now and then.
        if index.segments() > MAX_SEGMENTS {
            tokio::task::spawn_blocking(move || index.compact())
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?;
        }
        Ok(())
    }

    async fn follow(
        &self,
        state: &Shared,
        index: &Arc<StudyIndex>,
        mark: &mut Watermark,
        since: &str,
    ) -> Result<(), ApiError> {
        let mut staged = 0usize;
        let read = |after: Option<(String, String)>| async move {
            let after = after.as_ref().map(|(u, n)| (u.as_str(), n.as_str()));
            state
                .store
                .registry_studies_since(since, after, BATCH)
                .await
        };
        let first =
            (!mark.nct_id.is_empty()).then(|| (mark.updated_at.clone(), mark.nct_id.clone()));
        let mut rows = read(first).await?;
        loop {
            let done = rows.len() < BATCH as usize;
            if let Some(last) = rows.last() {
                mark.updated_at = last.updated_at.clone();
                mark.nct_id = last.nct_id.clone();
            }
            let index = Arc::clone(index);
            let commit = done || staged + rows.len() >= COMMIT_EVERY;
            // The next batch is read from the database while this one is indexed.
            let next = (!done).then(|| read(Some((mark.updated_at.clone(), mark.nct_id.clone()))));
            let staging = tokio::task::spawn_blocking(move || -> Result<usize, ApiError> {
                let mut studies = Vec::with_capacity(rows.len());
                for row in &rows {
                    studies.push(
                        serde_json::from_str::<cellpath_registry::Study>(&row.study)
                            .map_err(ApiError::internal)?,
                    );
                }
                let n = index.stage(&studies).map_err(ApiError::internal)?;
                if commit {
                    index.commit().map_err(ApiError::internal)?;
                }
                Ok(n)
            });
            let (n, next) = match next {
                Some(next) => {
                    let (n, next) = tokio::join!(staging, next);
                    (n, Some(next?))
                }
                None => (staging.await, None),
            };
            let n = n.map_err(ApiError::internal)??;
            staged = if commit { 0 } else { staged + n };
            if commit {
                let indexed = self.current().map(|i| i.len()).unwrap_or(0);
                self.indexed.store(indexed, Ordering::Relaxed);
                if self.total.load(Ordering::Relaxed) < indexed {
                    self.total.store(indexed, Ordering::Relaxed);
                }
            }
            match next {
                Some(next) => rows = next,
                None => return Ok(()),
            }
        }
    }

    /// The index, built first when this server has none yet.
    async fn ensure(&self, state: &Shared) -> Result<Arc<StudyIndex>, ApiError> {
        if let Some(i) = self.current() {
            return Ok(i);
        }
        let mut mark = self.busy.lock().await;
        // Another request may have built it while this one waited.
        if let Some(i) = self.current() {
            return Ok(i);
        }
        self.build(state, &mut mark).await?;
        self.current()
            .ok_or_else(|| ApiError::internal("the search index was not built"))
    }
}

/// Results per page, and the deepest page served.
pub const PAGE: usize = 20;
const MAX_OFFSET: usize = 1_000;

/// A search as asked.
#[derive(Clone, Debug, Default)]
pub struct SearchAsk {
    pub q: String,
    pub sort: Sort,
    /// 1-based.
    pub page: usize,
}

/// What a search found, with how the query was read and where the index stands.
#[derive(Debug, Serialize)]
pub struct Found {
    pub query: Parsed,
    #[serde(flatten)]
    pub results: Results,
    pub page: usize,
    pub per_page: usize,
    pub index: Progress,
}

/// The query read, or a 400 naming `/q` with the reason.
pub fn parse(q: &str) -> Result<Parsed, ApiError> {
    cellpath_search::parse(q)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidSearch, e.to_string()).at("/q"))
}

/// The use case: searches the registry. Anyone signed in may (the registry is public
/// data); nothing of a case is read, so nothing is audited.
pub async fn search(state: &Shared, _actor: &Actor, ask: &SearchAsk) -> Result<Found, ApiError> {
    let query = parse(&ask.q)?;
    let page = ask.page.max(1);
    let offset = (page - 1) * PAGE;
    if offset > MAX_OFFSET {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("at most {} pages; narrow the search", MAX_OFFSET / PAGE + 1),
        )
        .at("/page"));
    }
    let index = state.config.search.ensure(state).await?;
    let sort = ask.sort;
    let q = query.clone();
    let results = tokio::task::spawn_blocking(move || {
        index.search(&Request {
            query: &q,
            sort,
            offset,
            limit: PAGE,
            facets: true,
            snippets: true,
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Found {
        query,
        results,
        page,
        per_page: PAGE,
        index: state.config.search.progress(),
    })
}

/// What of the record the suggestions rest on, and what is not known.
#[derive(Debug, Serialize)]
pub struct ForCase {
    pub suggestions: Vec<Suggestion>,
    /// The record's facts used, each `None` when the record does not say.
    pub site: Option<Site>,
    pub cldn18_positive: Option<bool>,
    pub her2_positive: Option<bool>,
    pub prior_lines: Option<u32>,
    pub countries: Vec<String>,
    pub index: Progress,
}

/// The search profile of a record: only what it says.
pub fn profile(record: &cellpath_domain::Case) -> CaseProfile {
    use cellpath_domain::{CancerSite, Histology};
    let primary = record.primary.as_ref();
    let site = primary.and_then(|p| p.site).and_then(|s| match s {
        CancerSite::Stomach => Some(Site::Stomach),
        CancerSite::Gej => Some(Site::Gej),
        CancerSite::Oesophagus => Some(Site::Oesophagus),
        CancerSite::Pancreas => Some(Site::Pancreas),
        _ => None,
    });
    let adenocarcinoma = primary.and_then(|p| p.histology).map(|h| {
        matches!(
            h,
            Histology::Adenocarcinoma
                | Histology::IntestinalType
                | Histology::DiffuseType
                | Histology::SignetRingCell
                | Histology::DuctalAdenocarcinoma
        )
    });
    // Membranous staining at 2+ or stronger in some tumour cells; each study sets its own
    // threshold, which the suggestion does not judge.
    let cldn18_positive = record.cldn18.last().and_then(|r| {
        let p = r
            .staining
            .percent_at_or_above(cellpath_domain::Intensity::TWO);
        if p.low > 0.0 {
            Some(true)
        } else if p.high <= 0.0 {
            Some(false)
        } else {
            None
        }
    });
    let her2_positive = record
        .her2
        .iter()
        .rev()
        .find_map(|r| r.status())
        .and_then(|s| match s {
            cellpath_domain::Her2Status::Positive => Some(true),
            cellpath_domain::Her2Status::Negative => Some(false),
            _ => None,
        });
    let prior_lines = cellpath_domain::lines::lines_of_therapy(record)
        .map(|l| u32::try_from(l.lines.len()).unwrap_or(u32::MAX));
    CaseProfile {
        site,
        adenocarcinoma,
        cldn18_positive,
        her2_positive,
        prior_lines,
        // The programme's destination: the platform's first target is treatment in China.
        countries: vec!["China".to_owned()],
    }
}

/// The use case: recruiting registry studies for a case, ranked, each with why. Reading
/// the case's record needs the reader's access to the case and is audited.
pub async fn for_case(state: &Shared, actor: &Actor, case_id: &str) -> Result<ForCase, ApiError> {
    let case = state.authorise(actor, case_id, Action::ReadCase).await?;
    let record: cellpath_domain::Case =
        serde_json::from_str(&case.record).map_err(ApiError::internal)?;
    let p = profile(&record);
    let index = state.config.search.ensure(state).await?;
    let ask = p.clone();
    let suggestions = tokio::task::spawn_blocking(move || index.for_case(&ask, 10))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    state
        .read(actor, "registry.for-case", Some(&case.id))
        .await?;
    Ok(ForCase {
        suggestions,
        site: p.site,
        cldn18_positive: p.cldn18_positive,
        her2_positive: p.her2_positive,
        prior_lines: p.prior_lines,
        countries: p.countries,
        index: state.config.search.progress(),
    })
}

pub mod http {
    //! The search's API routes.

    use axum::Json;
    use axum::extract::{Path, Query, State};
    use serde::Deserialize;

    use crate::{Actor, ApiError, Shared};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SearchQuery {
        #[serde(default)]
        q: String,
        #[serde(default)]
        sort: Option<cellpath_search::Sort>,
        #[serde(default)]
        page: Option<usize>,
    }

    pub async fn search(
        State(state): State<Shared>,
        actor: Actor,
        Query(q): Query<SearchQuery>,
    ) -> Result<Json<super::Found>, ApiError> {
        let ask = super::SearchAsk {
            q: q.q,
            sort: q.sort.unwrap_or_default(),
            page: q.page.unwrap_or(1),
        };
        Ok(Json(super::search(&state, &actor, &ask).await?))
    }

    pub async fn for_case(
        State(state): State<Shared>,
        actor: Actor,
        Path(id): Path<String>,
    ) -> Result<Json<super::ForCase>, ApiError> {
        Ok(Json(super::for_case(&state, &actor, &id).await?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_move_back_across_days_months_and_years() {
        assert_eq!(
            super::earlier("2026-11-29T08:00:00Z", 120),
            "2026-11-29T07:58:00Z"
        );
        assert_eq!(
            super::earlier("2026-03-01T00:01:00Z", 120),
            "2026-02-28T23:59:00Z"
        );
        assert_eq!(
            super::earlier("2024-03-01T00:00:00Z", 1),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            super::earlier("2027-01-01T00:00:30Z", 60),
            "2026-12-31T23:59:30Z"
        );
        assert_eq!(super::earlier("", 60), "");
    }
}
