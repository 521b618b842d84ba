//! The application layer's one door: every use case — JSON handler, page or report — goes
//! through here for access, consent and audit.
//!
//! - [`AppState::authorise`] loads a case, decides access (`policy`) and checks the consents
//!   the action needs, in that order; someone with no relation gets 404.
//! - [`AppState::change`] opens the transaction of a change together with its audit entry:
//!   the entry is written inside the transaction when it commits, so a change without its
//!   entry cannot be committed.
//! - [`AppState::read`] records a read; the answer leaves only after the entry is durable.

use cellpath_store::{CaseRow, ConsentKind, NewAudit, Tx};

use crate::error::{ApiError, ErrorCode};
use crate::policy::{Action, Relation, Role, allows};
use crate::{Actor, AppState};

/// The consents of the patient an action on their case needs.
pub fn consents_for(action: Action) -> &'static [ConsentKind] {
    match action {
        Action::EditRecord | Action::Screen => &[ConsentKind::HealthDataProcessing],
        _ => &[],
    }
}

/// The consents of the patient that anyone in this relation needs for any access to the
/// case (`docs/security.md`): withdrawing one ends that access at once.
///
/// - `health-data-processing`: everyone but the patient; without it the case is frozen —
///   the patient may still read and export it, nobody may change it ([`frozen_allows`]).
/// - `caregiver-access`: caregivers.
/// - `mdt-sharing` and `transfer-abroad`: specialists (the MDT sits in the treating
///   country, so sharing with it is a transfer abroad); their signed opinions stay, sealed.
pub fn consents_for_relation(relation: Relation) -> &'static [ConsentKind] {
    use ConsentKind::*;
    match relation {
        Relation::Owner | Relation::None => &[],
        Relation::Caregiver { .. } => &[HealthDataProcessing, CaregiverAccess],
        Relation::AssignedCoordinator => &[HealthDataProcessing],
        Relation::AssignedSpecialist => &[HealthDataProcessing, MdtSharing, TransferAbroad],
    }
}

/// What the patient may still change on a frozen case (no `health-data-processing`
/// consent): removing people from it and ending calendar links.
pub fn frozen_allows(action: Action) -> bool {
    matches!(action, Action::RemoveMember | Action::RevokeCalendar)
}

/// What the actor is to the case, given their membership row.
pub fn relation_of(
    actor: &Actor,
    case: &CaseRow,
    member: Option<&cellpath_store::Member>,
) -> Relation {
    use cellpath_store::{Access, MemberRole};
    if case.owner_id == actor.id {
        return Relation::Owner;
    }
    let Some(m) = member else {
        return Relation::None;
    };
    match (actor.role, m.role) {
        (Role::Caregiver, MemberRole::Caregiver) => Relation::Caregiver {
            acts: m.access == Access::Act,
        },
        (Role::Coordinator, MemberRole::Coordinator) => Relation::AssignedCoordinator,
        (Role::Specialist, MemberRole::Specialist) => Relation::AssignedSpecialist,
        _ => Relation::None,
    }
}

impl AppState {
    /// Loads a case and decides whether the actor may do `action` on it, including the
    /// consents the action needs. Someone with no relation gets 404, as if the case did not
    /// exist, so ids reveal nothing.
    pub async fn authorise(
        &self,
        actor: &Actor,
        id: &str,
        action: Action,
    ) -> Result<CaseRow, ApiError> {
        // Ids are parsed at the edge: what cannot be a case id names no case.
        let id = cellpath_store::CaseId::parse(id).ok_or_else(ApiError::not_found)?;
        let (case, member) = self
            .store
            .case_for(id.as_str(), &actor.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let rel = relation_of(actor, &case, member.as_ref());
        if rel == Relation::None || actor.role == Role::Admin {
            return Err(ApiError::not_found());
        }
        if !allows(actor.role, rel, action) {
            return Err(ApiError::forbidden(format!(
                "your role may not do this on this case ({action:?})"
            )));
        }
        let mut needs: Vec<ConsentKind> = consents_for(action).to_vec();
        needs.extend(consents_for_relation(rel).iter().copied());
        // A frozen case: the patient reads and exports; only removals remain possible.
        if actor.writes && !(rel == Relation::Owner && frozen_allows(action)) {
            needs.push(ConsentKind::HealthDataProcessing);
        }
        needs.sort_by_key(|k| k.as_str());
        needs.dedup();
        self.require_consents(&case.owner_id, &needs).await?;
        Ok(case)
    }

    /// Refuses unless the patient has accepted the current version of every consent.
    pub async fn require_consents(
        &self,
        patient_id: &str,
        kinds: &[ConsentKind],
    ) -> Result<(), ApiError> {
        if kinds.is_empty() {
            return Ok(());
        }
        let live = self.store.live_consents(patient_id).await?;
        for kind in kinds {
            let Some(text) = crate::consent::current(*kind) else {
                return Err(ApiError::internal(format!("no consent text for {kind}")));
            };
            if !live
                .iter()
                .any(|c| c.kind == *kind && c.version == text.version)
            {
                return Err(ApiError::new(
                    ErrorCode::ConsentRequired,
                    format!("{kind} (version {})", text.version),
                ));
            }
        }
        Ok(())
    }

    /// Opens the transaction of a change by `actor`, which writes its audit entry
    /// (`action`, on `case_id`) when it commits.
    pub async fn change(
        &self,
        actor: &Actor,
        action: impl Into<String>,
        case_id: Option<&str>,
    ) -> Result<Tx, ApiError> {
        self.change_as(&actor.id, &actor.request_id, action, case_id)
            .await
    }

    /// As [`AppState::change`], for an actor that is not a signed-in user (the system, or
    /// someone signing in).
    pub async fn change_as(
        &self,
        actor_id: &str,
        request_id: &str,
        action: impl Into<String>,
        case_id: Option<&str>,
    ) -> Result<Tx, ApiError> {
        Ok(self
            .store
            .begin(NewAudit::new(actor_id, action, case_id, request_id))
            .await?)
    }

    /// Records that `actor` read something; returns once the entry is durable.
    pub async fn read(
        &self,
        actor: &Actor,
        action: &str,
        case_id: Option<&str>,
    ) -> Result<(), ApiError> {
        self.store
            .audit(&actor.id, action, case_id, &actor.request_id)
            .await?;
        Ok(())
    }

    /// Today's date on the application's clock.
    pub fn today(&self) -> Result<cellpath_domain::Date, ApiError> {
        cellpath_domain::Date::parse(&self.store.clock().today()).map_err(ApiError::internal)
    }
}

/// A record version as a page shows it: the parsed record and its screening against the
/// catalogue as of a date, with every explanation.
#[derive(Debug)]
pub struct ScreenedRecord {
    pub record: cellpath_domain::Case,
    pub results: Vec<cellpath_eligibility::eval::ProgrammeResult>,
}

/// Screenings already computed, by case, record version and date (the catalogue is fixed
/// for the process), so that a page shown again costs no parse and no evaluation; bounded,
/// and emptied when full.
#[derive(Debug, Default)]
pub struct ScreenCache {
    map: std::sync::Mutex<
        std::collections::HashMap<
            (String, i64, cellpath_domain::Date),
            std::sync::Arc<ScreenedRecord>,
        >,
    >,
    /// The catalogue screenings use — the shipped one with each trial's status as the
    /// registry last said — and the registry statuses it was made from. Empty until the
    /// first [`AppState::follow_registry_status`].
    trials: std::sync::RwLock<Option<Trials>>,
}

#[derive(Debug)]
struct Trials {
    held: Vec<cellpath_eligibility::catalogue::RegistryStatus>,
    catalogue: std::sync::Arc<cellpath_eligibility::Catalogue>,
}

impl ScreenCache {
    const CAPACITY: usize = 1024;
}

impl AppState {
    /// The case's current record and its screening as of `as_of`, from the cache when the
    /// same record version was screened for that date before. Call after [`Self::authorise`].
    pub async fn screened(
        &self,
        case: &CaseRow,
        as_of: cellpath_domain::Date,
    ) -> Result<std::sync::Arc<ScreenedRecord>, ApiError> {
        let key = (case.id.clone(), case.record_version, as_of);
        let cache = &self.config.screens;
        if let Some(hit) = cache.map.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(hit);
        }
        // Parsing and screening are CPU work: on the bounded pool, not this worker.
        let text = case.record.clone();
        let catalogue = self.screening_catalogue();
        let value = self
            .config
            .cpu
            .run(move || -> Result<ScreenedRecord, ApiError> {
                let record: cellpath_domain::Case =
                    serde_json::from_str(&text).map_err(ApiError::internal)?;
                let results = cellpath_eligibility::screen(&catalogue, &record, as_of, &[]);
                Ok(ScreenedRecord { record, results })
            })
            .await??;
        let value = std::sync::Arc::new(value);
        if let Ok(mut m) = cache.map.lock() {
            if m.len() >= ScreenCache::CAPACITY {
                m.clear();
            }
            m.insert(key, std::sync::Arc::clone(&value));
        }
        Ok(value)
    }

    /// The catalogue every screening uses: a trial's recruitment status is the registry's
    /// where a sync holds a record newer than the catalogue's statement (clinical review,
    /// issue 27), so the pages, the API and the reports frame it alike.
    pub fn screening_catalogue(&self) -> std::sync::Arc<cellpath_eligibility::Catalogue> {
        let trials = self.config.screens.trials.read();
        match trials.as_ref().ok().and_then(|t| t.as_ref()) {
            Some(t) => std::sync::Arc::clone(&t.catalogue),
            None => std::sync::Arc::new(self.catalogue.clone()),
        }
    }

    /// Reads what the registry holds of the studies the catalogue names and, when it
    /// changed, remakes the screening catalogue and empties the screening cache. Run after a
    /// registry import and on the search index's refresh (so other replicas follow).
    pub async fn follow_registry_status(&self) -> Result<(), ApiError> {
        let ids: Vec<&str> = self
            .catalogue
            .programmes()
            .iter()
            .flat_map(|p| p.registry_ids.iter().map(String::as_str))
            .collect();
        let rows = self.store.registry_studies_in(&ids).await?;
        let mut held: Vec<cellpath_eligibility::catalogue::RegistryStatus> = rows
            .into_iter()
            .filter_map(|r| {
                Some(cellpath_eligibility::catalogue::RegistryStatus {
                    last_update: cellpath_domain::PartialDate::parse(r.last_update.as_deref()?)
                        .ok()?,
                    status: r.status?,
                    nct_id: r.nct_id,
                })
            })
            .collect();
        held.sort_by(|a, b| a.nct_id.cmp(&b.nct_id));
        let cache = &self.config.screens;
        let same = cache
            .trials
            .read()
            .ok()
            .is_some_and(|t| t.as_ref().is_some_and(|t| t.held == held));
        if same {
            return Ok(());
        }
        let catalogue = std::sync::Arc::new(self.catalogue.with_registry(&held));
        if let Ok(mut t) = cache.trials.write() {
            *t = Some(Trials { held, catalogue });
        }
        if let Ok(mut m) = cache.map.lock() {
            m.clear();
        }
        Ok(())
    }
}
