//! Supportive care requests (nutrition, sleep, fatigue, emotional support, TCM / herbal,
//! acupuncture, other) need approval by an oncology specialist on the case; TCM and herbal
//! requests inside the CRS/ICANS risk window — lymphodepletion to day +28 unless the
//! programme says otherwise — are held, with the reason shown.

use cellpath_domain::Date;
use cellpath_domain::text::Bi;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Nutrition,
    Sleep,
    Fatigue,
    EmotionalSupport,
    TcmHerbal,
    Acupuncture,
    Other,
}

/// The risk window: from the first day of lymphodepletion to `days_after_infusion` after
/// day 0 (28 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskWindow {
    pub from: Date,
    pub to: Date,
}

pub const DEFAULT_DAYS_AFTER_INFUSION: i64 = 28;

impl RiskWindow {
    pub fn new(lymphodepletion_start: Date, infusion: Date, days_after: Option<i64>) -> Self {
        Self {
            from: lymphodepletion_start,
            to: infusion.add_days(days_after.unwrap_or(DEFAULT_DAYS_AFTER_INFUSION)),
        }
    }
    pub fn contains(self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Triage {
    /// Waits for an oncology specialist on the case to approve or decline.
    AwaitingApproval,
    /// Not offered for approval until the window closes.
    Held { until: Date, reason: Bi },
}

/// Where a new request goes. `window` is None until lymphodepletion and infusion are dated.
pub fn triage(kind: Kind, requested_for: Date, window: Option<RiskWindow>) -> Triage {
    match (kind, window) {
        (Kind::TcmHerbal, Some(w)) if w.contains(requested_for) => Triage::Held {
            until: w.to.add_days(1),
            reason: Bi::new(
                format!(
                    "TCM and herbal medicines are held from lymphodepletion ({}) to day +28 ({}): they can interact with chemotherapy and make CRS or neurotoxicity harder to read. The oncology team can review it from {}.",
                    w.from,
                    w.to,
                    w.to.add_days(1)
                ),
                format!(
                    "自清淋化疗（{}）至回输后第 28 天（{}）暂停中药及草药：可能与化疗相互作用，并干扰 CRS 或神经毒性的判断。肿瘤团队可于 {} 起评估。",
                    w.from,
                    w.to,
                    w.to.add_days(1)
                ),
            ),
        },
        _ => Triage::AwaitingApproval,
    }
}

/// Who may decide: an oncology specialist assigned to the case (medical oncology or cell
/// therapy). The server checks assignment; this checks the specialty.
pub fn may_approve(specialty: &str) -> bool {
    matches!(specialty, "medical-oncology" | "cell-therapy")
}
