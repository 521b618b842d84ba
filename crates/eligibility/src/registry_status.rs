//! The registry's word on a trial's recruitment, where a sync holds it (clinical review,
//! issue 27, item 11): a catalogue's status is a statement as of its date; a later registry
//! record of a trial it names replaces it for screening, attributed to the registry (not to
//! the catalogue's sources). An approved label's status is the regulator's and stands.

use cellpath_domain::{Bi, PartialDate, SourceRef};

use super::{Availability, Catalogue, ProgrammeKind, ProgrammeStatus};

/// What a registry sync holds about one study.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryStatus {
    pub nct_id: String,
    /// The registry's overall status as stored (`recruiting`, `active-not-recruiting`, …).
    pub status: String,
    /// The record's last update at the registry.
    pub last_update: PartialDate,
}

impl RegistryStatus {
    /// Whether the trial takes new patients, by the registry's word. "Enrolling by invitation"
    /// is not open to a patient who asks, and not closed either: confirm with a site.
    pub fn availability(&self) -> Availability {
        match self.status.as_str() {
            "recruiting" | "available" => Availability::Open,
            "suspended" | "temporarily-not-available" => Availability::Suspended,
            "not-yet-recruiting"
            | "active-not-recruiting"
            | "completed"
            | "terminated"
            | "withdrawn"
            | "no-longer-available"
            | "withheld" => Availability::Closed,
            _ => Availability::Unknown,
        }
    }

    /// The registry's word in both languages.
    fn words(&self) -> Bi {
        let (en, zh) = match self.status.as_str() {
            "recruiting" => ("recruiting", "招募中"),
            "not-yet-recruiting" => ("not yet recruiting", "尚未开始招募"),
            "enrolling-by-invitation" => ("enrolling by invitation", "仅限受邀入组"),
            "active-not-recruiting" => ("active, not recruiting", "进行中，不再招募"),
            "suspended" => ("suspended", "已暂停"),
            "terminated" => ("terminated", "已终止"),
            "completed" => ("completed", "已完成"),
            "withdrawn" => ("withdrawn", "已撤回"),
            "available" => ("available (expanded access)", "可获得（扩大使用）"),
            "no-longer-available" => ("no longer available", "不再提供"),
            "temporarily-not-available" => ("temporarily not available", "暂不提供"),
            _ => ("unknown", "未知"),
        };
        Bi::new(en, zh)
    }
}

impl Catalogue {
    /// The catalogue with each trial's status replaced by the registry's, where a synced
    /// record of a study it names is more recent than the catalogue's own statement.
    pub fn with_registry(&self, held: &[RegistryStatus]) -> Catalogue {
        let mut out = self.clone();
        for p in &mut out.programmes {
            if p.kind == ProgrammeKind::ApprovedLabel {
                continue;
            }
            let newest = held
                .iter()
                .filter(|r| {
                    p.registry_ids
                        .iter()
                        .any(|id| id.eq_ignore_ascii_case(&r.nct_id))
                })
                .max_by_key(|r| r.last_update.latest());
            let Some(r) = newest else { continue };
            if r.last_update.latest() <= p.status().as_of.latest() {
                continue;
            }
            let id = format!("registry-{}", r.nct_id.to_ascii_lowercase());
            p.sources.retain(|s| s.id != id);
            p.sources.push(SourceRef {
                id: id.clone(),
                title: format!(
                    "ClinicalTrials.gov {} (the registry, as last synced)",
                    r.nct_id
                ),
                url: format!("https://clinicaltrials.gov/study/{}", r.nct_id),
                date: Some(r.last_update),
            });
            let words = r.words();
            *p.status.get_mut() = ProgrammeStatus {
                value: r.availability(),
                as_of: r.last_update,
                source: id,
                note: Some(Bi::new(
                    format!(
                        "The registry (ClinicalTrials.gov {}) says \"{}\", in its record last updated on {}; it replaces the catalogue's earlier statement.",
                        r.nct_id, words.en, r.last_update
                    ),
                    format!(
                        "登记平台（ClinicalTrials.gov {}）于 {} 更新的记录显示“{}”，取代目录中较早的说明。",
                        r.nct_id, r.last_update, words.zh
                    ),
                )),
            };
        }
        out
    }
}
