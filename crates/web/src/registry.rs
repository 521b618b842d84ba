//! The trials registry's use cases. Importing studies (a file from the command line, or a
//! page of a sync) stores each study that is new or differs from the version held as its
//! next version, with what changed (`registry::diff`), in one transaction with its audit
//! entry per batch. A change to a study a catalogue programme names (status, eligibility
//! text, sites) flags the programme for review in the same transaction, tells the
//! coordinators of every screened case, and — when the change closes recruitment —
//! re-screens those cases at once; otherwise their screenings read as stale until re-run.

use std::collections::BTreeMap;

use cellpath_registry::Study;
use cellpath_registry::diff::{Change, diff};
use cellpath_store::{MemberRole, NewFlag, NewStudyVersion, SyncRow, Tx};

use crate::{ApiError, Shared};

/// What one import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    /// Studies not held before (version 1).
    pub new: usize,
    /// Studies held that differ: a new version.
    pub changed: usize,
    /// Studies exactly as held.
    pub unchanged: usize,
    /// Catalogue programmes flagged for review because a study they name changed.
    pub flagged: usize,
    /// Cases re-screened at once because such a study stopped recruiting.
    pub rescreened: usize,
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
        self.flagged += o.flagged;
        self.rescreened += o.rescreened;
    }
}

/// The use case: stores a batch of studies read from `source` (a file name), audited as
/// `actor` (`system` for the command line). A study read twice in one batch keeps the later
/// reading.
pub async fn import_studies(
    state: &Shared,
    actor: &str,
    source: &str,
    studies: &[Study],
) -> Result<ImportCounts, ApiError> {
    let mut tx = state
        .change_as(actor, "registry", "registry.import", None)
        .await?;
    let counts = import_in(state, &mut tx, source, studies).await?;
    tx.commit().await?;
    follow_in_search(state).await;
    Ok(counts)
}

/// This server's search index takes in what was just stored (other replicas follow on
/// their own refresh). A failure here leaves the import stored and is caught up on the
/// next refresh.
async fn follow_in_search(state: &Shared) {
    if let Err(e) = state.config.search.refresh(state).await {
        tracing::warn!(error = ?e.code, "the search index did not follow the registry; the next refresh will");
    }
    if let Err(e) = state.follow_registry_status().await {
        tracing::warn!(error = ?e.code, "screenings did not take in the registry's statuses; the next refresh will");
    }
}

/// A study stored as a new version with what changed.
struct Changed {
    nct_id: String,
    version: i64,
    changes: Vec<Change>,
}

async fn import_in(
    state: &Shared,
    tx: &mut Tx,
    source: &str,
    studies: &[Study],
) -> Result<ImportCounts, ApiError> {
    let mut counts = ImportCounts::default();
    let mut seen: std::collections::HashMap<&str, (i64, &Study)> = Default::default();
    let mut changed = Vec::new();
    // What is held of the batch, read at once rather than study by study.
    let ids: Vec<&str> = studies.iter().map(|s| s.nct_id.as_str()).collect();
    let mut held_rows: std::collections::HashMap<String, cellpath_store::RegistryStudyRow> = state
        .store
        .registry_studies_in(&ids)
        .await?
        .into_iter()
        .map(|r| (r.nct_id.clone(), r))
        .collect();
    for study in studies {
        let id = study.nct_id.as_str();
        let held: Option<(i64, Study)> = match seen.get(id) {
            Some((v, s)) => Some((*v, (*s).clone())),
            None => match held_rows.remove(id) {
                Some(row) => Some((
                    row.version,
                    serde_json::from_str(&row.study).map_err(ApiError::internal)?,
                )),
                None => None,
            },
        };
        let (version, changes) = match &held {
            Some((_, old)) if old == study => {
                counts.unchanged += 1;
                continue;
            }
            Some((v, old)) => {
                counts.changed += 1;
                (v + 1, diff(old, study))
            }
            None => {
                counts.new += 1;
                (1, Vec::new())
            }
        };
        let json = serde_json::to_string(study).map_err(ApiError::internal)?;
        let status = study
            .status
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        tx.put_study_version(&NewStudyVersion {
            nct_id: id,
            version,
            status: status.as_deref(),
            last_update: study.last_update.as_deref(),
            study: &json,
            changes: &serde_json::to_string(&changes).map_err(ApiError::internal)?,
            source,
        })
        .await?;
        seen.insert(id, (version, study));
        if !changes.is_empty() {
            changed.push(Changed {
                nct_id: id.to_owned(),
                version,
                changes,
            });
        }
    }
    let flagged = flag_programmes(state, tx, &changed).await?;
    counts.flagged += flagged.flags;
    counts.rescreened += flagged.rescreened;
    Ok(counts)
}

/// The changes a programme's criteria and availability rest on.
fn reviewable(c: &Change) -> bool {
    matches!(
        c,
        Change::Status { .. }
            | Change::Eligibility { .. }
            | Change::SiteAdded { .. }
            | Change::SiteRemoved { .. }
            | Change::SiteStatus { .. }
    )
}

#[derive(Default)]
struct Flagged {
    flags: usize,
    rescreened: usize,
}

/// Flags every catalogue programme naming a changed study, tells the coordinators of the
/// screened cases, and re-screens them at once when recruitment closed.
async fn flag_programmes(
    state: &Shared,
    tx: &mut Tx,
    changed: &[Changed],
) -> Result<Flagged, ApiError> {
    let mut out = Flagged::default();
    // programme → whether one of its changes closes recruitment
    let mut programmes: BTreeMap<&str, bool> = BTreeMap::new();
    for c in changed {
        let relevant: Vec<&Change> = c.changes.iter().filter(|x| reviewable(x)).collect();
        if relevant.is_empty() {
            continue;
        }
        let closes = relevant.iter().any(|x| x.closes_recruitment());
        for p in state.catalogue.programmes() {
            if !p
                .registry_ids
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&c.nct_id))
            {
                continue;
            }
            let id = crate::auth::sortable_id("f");
            tx.raise_flag(&NewFlag {
                id: &id,
                programme_id: &p.id,
                nct_id: &c.nct_id,
                study_version: c.version,
                changes: &serde_json::to_string(&relevant).map_err(ApiError::internal)?,
                closes,
            })
            .await?;
            out.flags += 1;
            *programmes.entry(p.id.as_str()).or_default() |= closes;
        }
    }
    if programmes.is_empty() {
        return Ok(out);
    }
    let closes = programmes.values().any(|c| *c);
    let kind = if closes {
        "programme-closed"
    } else {
        "programme-source-changed"
    };
    let text = crate::messages::notice(kind).en;
    for case_id in state.store.screened_cases().await? {
        for m in state.store.members(&case_id).await? {
            if m.role == MemberRole::Coordinator {
                let nid = crate::auth::sortable_id("n");
                tx.notify(&nid, &m.user_id, Some(&case_id), kind, &text)
                    .await?;
            }
        }
        if closes && crate::cases::rescreen_in(state, tx, &case_id).await? {
            out.rescreened += 1;
        }
    }
    Ok(out)
}

/// How a sync's page went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PageDone {
    pub counts: ImportCounts,
    /// Whether that was the last page (the sync is finished).
    pub finished: bool,
}

/// Starts a sync of `query` reading changes since `since` (none: everything), or resumes
/// the unfinished one of the same query. Answers the sync as it stands.
pub async fn start_sync(
    state: &Shared,
    actor: &str,
    query: &str,
    since: Option<&str>,
    resume: bool,
) -> Result<SyncRow, ApiError> {
    if resume && let Some(row) = state.store.unfinished_sync(query).await? {
        return Ok(row);
    }
    let id = crate::auth::sortable_id("y");
    let mut tx = state
        .change_as(actor, "registry", "registry.sync.start", None)
        .await?;
    tx.start_sync(&id, query, since).await?;
    tx.commit().await?;
    state
        .store
        .unfinished_sync(query)
        .await?
        .ok_or_else(|| ApiError::internal("the sync just started is not found"))
}

/// One page of a sync: its studies imported and the sync advanced to `next_page` (finished
/// when none), in one transaction with its audit entry, so that a broken sync resumes at
/// the first page not stored.
pub async fn sync_page(
    state: &Shared,
    actor: &str,
    sync: &SyncRow,
    page: i64,
    studies: &[Study],
    next_page: Option<&str>,
) -> Result<PageDone, ApiError> {
    let mut tx = state
        .change_as(actor, "registry", "registry.sync.page", None)
        .await?;
    let source = format!("sync {} page {page}", sync.id);
    let counts = import_in(state, &mut tx, &source, studies).await?;
    tx.advance_sync(&sync.id, next_page, studies.len() as i64)
        .await?;
    tx.commit().await?;
    follow_in_search(state).await;
    Ok(PageDone {
        counts,
        finished: next_page.is_none(),
    })
}

/// A change to a programme's registry study, as a screening made before it reads it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SourceChange {
    pub flag_id: String,
    pub programme_id: String,
    pub nct_id: String,
    pub raised_at: String,
    /// Whether it closed recruitment.
    pub closes: bool,
    /// Whether the programme's review is done.
    pub reviewed: bool,
    /// What changed (the `registry` crate's changes).
    pub changes: serde_json::Value,
}

impl SourceChange {
    fn from_row(f: cellpath_store::FlagRow) -> Self {
        SourceChange {
            changes: serde_json::from_str(&f.changes).unwrap_or(serde_json::Value::Null),
            flag_id: f.id,
            programme_id: f.programme_id,
            nct_id: f.nct_id,
            raised_at: f.raised_at,
            closes: f.closes,
            reviewed: f.reviewed_at.is_some(),
        }
    }
}

/// Every source change of the catalogue's programmes, newest first.
pub async fn source_changes(state: &Shared) -> Result<Vec<SourceChange>, ApiError> {
    Ok(state
        .store
        .programme_flags(false)
        .await?
        .into_iter()
        .filter(|f| state.catalogue.get(&f.programme_id).is_some())
        .map(SourceChange::from_row)
        .collect())
}

/// Those raised after a screening: it is stale until re-run. Told apart by their ids, which
/// sort by the microsecond (a re-screening made in the flag's own change is newer than the
/// flag), else by their timestamps.
pub fn changes_since<'a>(
    all: &'a [SourceChange],
    screening_id: &str,
    screened_at: &str,
) -> Vec<&'a SourceChange> {
    fn micros(id: &str) -> Option<&str> {
        id.split_once('-').and_then(|(_, rest)| rest.get(..14))
    }
    all.iter()
        .filter(|c| match (micros(&c.flag_id), micros(screening_id)) {
            (Some(flag), Some(screening)) => flag > screening,
            _ => c.raised_at.as_str() > screened_at,
        })
        .collect()
}

/// The flags not yet reviewed, inside a change (what a new screening carries).
pub(crate) async fn open_source_changes(tx: &mut Tx) -> Result<Vec<SourceChange>, ApiError> {
    Ok(tx
        .open_flags()
        .await?
        .into_iter()
        .map(SourceChange::from_row)
        .collect())
}

/// A study as held, with every version and what changed: public registry data, for every
/// signed-in role.
pub async fn study(
    state: &Shared,
    actor: &crate::Actor,
    nct_id: &str,
) -> Result<serde_json::Value, ApiError> {
    let id = cellpath_registry::NctId::try_from(nct_id.trim().to_uppercase())
        .map_err(|_| ApiError::not_found())?;
    let Some(row) = state.store.registry_study(id.as_str()).await? else {
        return Err(ApiError::not_found());
    };
    let versions = state.store.registry_versions(id.as_str()).await?;
    state.read(actor, "registry.study.read", None).await?;
    let programmes: Vec<&str> = state
        .catalogue
        .programmes()
        .iter()
        .filter(|p| {
            p.registry_ids
                .iter()
                .any(|r| r.eq_ignore_ascii_case(id.as_str()))
        })
        .map(|p| p.id.as_str())
        .collect();
    Ok(serde_json::json!({
        "nct_id": row.nct_id,
        "version": row.version,
        "study": serde_json::from_str::<serde_json::Value>(&row.study).map_err(ApiError::internal)?,
        "programmes": programmes,
        "versions": versions.iter().map(|v| serde_json::json!({
            "version": v.version,
            "at": v.at,
            "source": v.source,
            "changes": serde_json::from_str::<serde_json::Value>(&v.changes).unwrap_or_default(),
        })).collect::<Vec<_>>(),
    }))
}

/// Who reviews flagged programmes: the coordinators (and the administrator); specialists
/// may read them.
fn may_read_flags(actor: &crate::Actor) -> Result<(), ApiError> {
    use crate::policy::Role;
    if matches!(
        actor.role,
        Role::Coordinator | Role::Specialist | Role::Admin
    ) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "flagged programmes are for the care team",
        ))
    }
}

/// The programmes flagged because their study changed, newest first (open ones only
/// unless `all`).
pub async fn flags(
    state: &Shared,
    actor: &crate::Actor,
    all: bool,
) -> Result<Vec<SourceChange>, ApiError> {
    may_read_flags(actor)?;
    let list = source_changes(state)
        .await?
        .into_iter()
        .filter(|c| all || !c.reviewed)
        .collect();
    state.read(actor, "registry.flags.read", None).await?;
    Ok(list)
}

/// Longest review note, characters.
const MAX_NOTE: usize = 2_000;

/// Marks a flag reviewed with the reviewer's note (what was done to the catalogue entry),
/// audited. A coordinator's or the administrator's act; once only.
pub async fn review_flag(
    state: &Shared,
    actor: &crate::Actor,
    flag_id: &str,
    note: &str,
) -> Result<(), ApiError> {
    use crate::policy::Role;
    if !matches!(actor.role, Role::Coordinator | Role::Admin) {
        return Err(ApiError::forbidden(
            "a coordinator reviews flagged programmes",
        ));
    }
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE {
        return Err(ApiError::bad_request(
            crate::ErrorCode::InvalidBody,
            format!("a review note has 1–{MAX_NOTE} characters"),
        )
        .at("/note"));
    }
    if state.store.programme_flag(flag_id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let mut tx = state.change(actor, "registry.flag.review", None).await?;
    if !tx.review_flag(flag_id, &actor.id, note).await? {
        return Err(ApiError::of(crate::ErrorCode::AlreadyReviewed));
    }
    tx.commit().await?;
    Ok(())
}

pub mod http {
    //! The registry's API routes.

    use axum::Json;
    use axum::body::Bytes;
    use axum::extract::{Path, Query, State};
    use axum::http::StatusCode;
    use serde::Deserialize;
    use serde_json::{Value, json};

    use crate::{Actor, ApiError, Shared};

    pub async fn study(
        State(state): State<Shared>,
        actor: Actor,
        Path(id): Path<String>,
    ) -> Result<Json<Value>, ApiError> {
        Ok(Json(super::study(&state, &actor, &id).await?))
    }

    #[derive(Deserialize)]
    pub struct FlagsQuery {
        #[serde(default)]
        all: bool,
    }

    pub async fn flags(
        State(state): State<Shared>,
        actor: Actor,
        Query(q): Query<FlagsQuery>,
    ) -> Result<Json<Value>, ApiError> {
        let list = super::flags(&state, &actor, q.all).await?;
        Ok(Json(json!({ "flags": list })))
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Review {
        note: String,
    }

    pub async fn review(
        State(state): State<Shared>,
        actor: Actor,
        Path(id): Path<String>,
        body: Bytes,
    ) -> Result<StatusCode, ApiError> {
        let r: Review = crate::cases::parse_json(&body)?;
        super::review_flag(&state, &actor, &id, &r.note).await?;
        Ok(StatusCode::NO_CONTENT)
    }
}

/// A draft catalogue programme (TOML) from a study held: its eligibility text split into
/// items, each a clinician-judgement item with the rule cellpath recognised beside it as a
/// suggestion to confirm (`registry::draft`). For the coordinator (and the administrator).
pub async fn draft(state: &Shared, actor_id: &str, nct_id: &str) -> Result<String, ApiError> {
    let (study, version) = held(state, nct_id).await?;
    let tx = state
        .change_as(actor_id, "registry", "registry.draft", None)
        .await?;
    tx.commit().await?;
    Ok(cellpath_registry::draft::draft_toml(
        &study,
        version,
        &state.today()?.to_string(),
    ))
}

/// [`draft`] for a person: a coordinator's (or the administrator's) act.
pub async fn draft_for(
    state: &Shared,
    actor: &crate::Actor,
    nct_id: &str,
) -> Result<String, ApiError> {
    may_draft(actor)?;
    draft(state, &actor.id, nct_id).await
}

/// A study held and its eligibility items as the draft splits them, for a coordinator to
/// confirm one by one.
pub struct DraftItems {
    pub nct_id: String,
    pub title: String,
    pub version: i64,
    pub items: Vec<cellpath_registry::draft::Item>,
}

fn may_draft(actor: &crate::Actor) -> Result<(), ApiError> {
    use crate::policy::Role;
    if matches!(actor.role, Role::Coordinator | Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a coordinator drafts catalogue programmes",
        ))
    }
}

async fn held(state: &Shared, nct_id: &str) -> Result<(Study, i64), ApiError> {
    let id = cellpath_registry::NctId::try_from(nct_id.trim().to_uppercase())
        .map_err(|_| ApiError::not_found())?;
    let Some(row) = state.store.registry_study(id.as_str()).await? else {
        return Err(ApiError::not_found());
    };
    let study: Study = serde_json::from_str(&row.study).map_err(ApiError::internal)?;
    Ok((study, row.version))
}

/// The use case: the items to confirm (the coordinator's, or the administrator's).
pub async fn draft_items(
    state: &Shared,
    actor: &crate::Actor,
    nct_id: &str,
) -> Result<DraftItems, ApiError> {
    may_draft(actor)?;
    let (study, version) = held(state, nct_id).await?;
    Ok(DraftItems {
        nct_id: study.nct_id.as_str().to_owned(),
        title: study.title.clone(),
        version,
        items: cellpath_registry::draft::split(study.eligibility.as_deref().unwrap_or("")),
    })
}

/// Longest text of one confirmed item, characters.
const MAX_ITEM_TEXT: usize = 4_000;

/// The use case: the programme as the coordinator confirmed it item by item
/// (`registry::draft::confirmed_toml`), checked as a catalogue file before it is handed
/// out, audited. A decision per item, in the order of [`draft_items`].
pub async fn confirm_draft(
    state: &Shared,
    actor: &crate::Actor,
    nct_id: &str,
    decisions: &[cellpath_registry::draft::Decision],
) -> Result<String, ApiError> {
    may_draft(actor)?;
    let (study, version) = held(state, nct_id).await?;
    let n = cellpath_registry::draft::split(study.eligibility.as_deref().unwrap_or("")).len();
    if decisions.len() != n {
        return Err(ApiError::bad_request(
            crate::ErrorCode::InvalidBody,
            format!(
                "{} decisions for {n} items: the study changed since the form was made; open it again",
                decisions.len()
            ),
        ));
    }
    for (i, d) in decisions.iter().enumerate() {
        for (field, text) in [("en", &d.en), ("zh", &d.zh)] {
            if text
                .as_deref()
                .is_some_and(|t| t.chars().count() > MAX_ITEM_TEXT)
            {
                return Err(ApiError::bad_request(
                    crate::ErrorCode::InvalidBody,
                    format!("item {}: at most {MAX_ITEM_TEXT} characters", i + 1),
                )
                .at(format!("/items/{i}/{field}")));
            }
        }
    }
    let text = cellpath_registry::draft::confirmed_toml(
        &study,
        version,
        &state.today()?.to_string(),
        decisions,
    );
    let name = format!("{}-draft.toml", study.nct_id.as_str().to_lowercase());
    cellpath_eligibility::catalogue::Catalogue::from_files([(name.as_str(), text.as_str())])
        .map_err(|e| ApiError::bad_request(crate::ErrorCode::InvalidBody, e.to_string()))?;
    let tx = state.change(actor, "registry.draft.confirm", None).await?;
    tx.commit().await?;
    Ok(text)
}
