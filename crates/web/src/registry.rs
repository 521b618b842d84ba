//! The trials registry's use cases. Importing studies (the operator's command line now; the
//! sync and the pages come next) stores each study that is new or differs from the version
//! held as its next version, with what changed (`registry::diff`), in one transaction with
//! its audit entry per batch.

use cellpath_registry::Study;
use cellpath_registry::diff::diff;
use cellpath_store::NewStudyVersion;

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
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
    }
}

/// The use case: stores a batch of studies read from `source` (a file name, or a sync
/// page), audited as `actor` (`system` for the command line). A study read twice in one
/// batch keeps the later reading.
pub async fn import_studies(
    state: &Shared,
    actor: &str,
    source: &str,
    studies: &[Study],
) -> Result<ImportCounts, ApiError> {
    let mut counts = ImportCounts::default();
    let mut tx = state
        .change_as(actor, "registry", "registry.import", None)
        .await?;
    let mut seen: std::collections::HashMap<&str, (i64, &Study)> = Default::default();
    for study in studies {
        let id = study.nct_id.as_str();
        let held: Option<(i64, Study)> = match seen.get(id) {
            Some((v, s)) => Some((*v, (*s).clone())),
            None => match state.store.registry_study(id).await? {
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
    }
    tx.commit().await?;
    Ok(counts)
}
