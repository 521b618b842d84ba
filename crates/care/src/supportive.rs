//! Supportive care requests (nutrition, sleep, fatigue, emotional support, TCM / herbal,
//! supplements, acupuncture, other) need approval by an oncology specialist on the case.
//! TCM, herbal and supplement requests whose period touches a CRS/ICANS risk window — each
//! lymphodepletion to day +28 after its infusion (a programme may set its own span), for
//! every infusion the plan holds — are held, with the reason shown. The rule fails closed:
//! without a plan that dates the windows, such a request is held because the window cannot
//! be checked.

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
    /// Dietary supplements (vitamins, "immune boosters" and the like): the journey forbids
    /// them in the risk window as it does herbal medicines.
    Supplements,
    Acupuncture,
    Other,
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .map_err(|_| format!("unknown kind of supportive care `{s}`"))
    }
}

impl Kind {
    /// Held inside a risk window (and whenever the window cannot be checked).
    pub fn held_in_window(self) -> bool {
        matches!(self, Self::TcmHerbal | Self::Supplements)
    }
}

/// The risk window: from the first day of lymphodepletion to `days_after_infusion` after
/// day 0 (28 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskWindow {
    pub from: Date,
    pub to: Date,
    /// How many days after the infusion it lasts.
    pub days_after: i64,
    /// The window starts at the first bridging dose (the plan records bridging therapy),
    /// not at lymphodepletion.
    pub from_bridging: bool,
}

pub const DEFAULT_DAYS_AFTER_INFUSION: i64 = 28;

impl RiskWindow {
    pub fn new(lymphodepletion_start: Date, infusion: Date, days_after: Option<i64>) -> Self {
        let days_after = days_after.unwrap_or(DEFAULT_DAYS_AFTER_INFUSION);
        Self {
            from: lymphodepletion_start,
            to: infusion.add_days(days_after),
            days_after,
            from_bridging: false,
        }
    }
    /// The same window opened earlier, at the first bridging dose (chemotherapy too).
    pub fn from_bridging(mut self, first_dose: Date) -> Self {
        if first_dose < self.from {
            self.from = first_dose;
            self.from_bridging = true;
        }
        self
    }
    pub fn contains(self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }
    /// True when the period `from..=to` shares a day with the window.
    pub fn overlaps(self, from: Date, to: Date) -> bool {
        from <= self.to && self.from <= to
    }
}

/// The risk windows of a plan: one per infusion, or why they cannot be known.
pub type Windows = Result<Vec<RiskWindow>, Bi>;

/// The windows a plan implies: the planned lymphodepletion's earliest start to the planned
/// infusion's latest start plus the programme's span, and one more per additional infusion
/// the coordinator recorded. Fails (with the reason) when the plan does not date both.
pub fn windows_of(
    template: &crate::journey::Template,
    plan: &crate::journey::Plan,
    input: &crate::journey::PlanInput,
) -> Windows {
    let span = template.risk_window_days_after_infusion;
    let window_of = |id: &str| {
        plan.steps
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.window)
    };
    let (Some(ld), Some(inf)) = (window_of("lymphodepletion"), window_of("infusion")) else {
        return Err(Bi::new(
            "the treatment plan does not date lymphodepletion and the infusion yet, so the risk window cannot be checked",
            "治疗计划尚未确定清淋和回输日期，因此无法核对风险期",
        ));
    };
    // Bridging chemotherapy interacts as lymphodepletion does: the hold starts at its first
    // dose when the plan records it (clinical review, issue 27).
    let first = RiskWindow::new(ld.start.0, inf.start.1, span);
    let first = match input.bridging_start {
        Some(d) => first.from_bridging(d),
        None => first,
    };
    let mut out = vec![first];
    for extra in &input.additional_infusions {
        out.push(RiskWindow::new(extra.lymphodepletion, extra.infusion, span));
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Triage {
    /// Waits for an oncology specialist on the case to approve or decline; `caution` is
    /// what the approver must weigh (acupuncture while blood counts are low).
    AwaitingApproval {
        #[serde(skip_serializing_if = "Option::is_none")]
        caution: Option<Bi>,
    },
    /// Not offered for approval until the window closes (`until`), or — when the window
    /// cannot be checked — until a plan dates it (`until` is then null).
    Held { until: Option<Date>, reason: Bi },
}

/// Where a new request for `from..=to` goes, given the plan's risk windows.
pub fn triage(kind: Kind, from: Date, to: Date, windows: &Windows) -> Triage {
    if kind == Kind::Acupuncture {
        // Not held, but never approved unawares: after lymphodepletion the patient is
        // neutropenic and often thrombocytopenic, so needling risks infection and bleeding.
        let caution = match windows {
            Ok(ws) => ws.iter().find(|w| w.overlaps(from, to)).map(|w| {
                Bi::new(
                    format!(
                        "Asked for inside the risk window ({} to {}): after lymphodepletion blood counts are low, so acupuncture carries a risk of infection and bleeding — the approving specialist weighs it with the latest blood count.",
                        w.from, w.to
                    ),
                    format!(
                        "申请时间在风险期内（{} 至 {}）：清淋化疗后血细胞计数低，针灸有感染和出血风险——由审批的专科医生结合最新血常规权衡。",
                        w.from, w.to
                    ),
                )
            }),
            Err(why) => Some(Bi::new(
                format!(
                    "The risk window cannot be checked ({}): whether blood counts will be low then is not known — the approving specialist checks the plan and the latest blood count.",
                    why.en
                ),
                format!(
                    "无法核对风险期（{}）：届时血细胞计数是否偏低未知——由审批的专科医生核对治疗计划和最新血常规。",
                    why.zh
                ),
            )),
        };
        return Triage::AwaitingApproval { caution };
    }
    if !kind.held_in_window() {
        return Triage::AwaitingApproval { caution: None };
    }
    let what = match kind {
        Kind::Supplements => Bi::new("Supplements", "保健品及膳食补充剂"),
        _ => Bi::new("TCM and herbal medicines", "中药及草药"),
    };
    let windows = match windows {
        Err(why) => {
            return Triage::Held {
                until: None,
                reason: Bi::new(
                    format!(
                        "No treatment plan: {}. {} stay held until it can be: they can interact with chemotherapy and make CRS or neurotoxicity harder to read.",
                        why.en, what.en
                    ),
                    format!(
                        "无治疗计划：{}。在能够核对之前，{}暂缓：可能与化疗相互作用，并干扰 CRS 或神经毒性的判断。",
                        why.zh, what.zh
                    ),
                ),
            };
        }
        Ok(w) => w,
    };
    let Some(w) = windows
        .iter()
        .filter(|w| w.overlaps(from, to))
        .max_by_key(|w| w.to)
        .copied()
    else {
        return Triage::AwaitingApproval { caution: None };
    };
    let (start_en, start_zh) = if w.from_bridging {
        ("the first bridging dose", "首次桥接治疗")
    } else {
        ("lymphodepletion", "清淋化疗")
    };
    Triage::Held {
        until: Some(w.to.add_days(1)),
        reason: Bi::new(
            format!(
                "{} are held from {start_en} ({}) to day +{} after infusion ({}): they can interact with chemotherapy and make CRS or neurotoxicity harder to read. The oncology team can review it from {}.",
                what.en,
                w.from,
                w.days_after,
                w.to,
                w.to.add_days(1)
            ),
            format!(
                "自{start_zh}（{}）至回输后第 {} 天（{}）暂停{}：可能与化疗相互作用，并干扰 CRS 或神经毒性的判断。肿瘤团队可于 {} 起评估。",
                w.from,
                w.days_after,
                w.to,
                what.zh,
                w.to.add_days(1)
            ),
        ),
    }
}

/// Who may decide: an oncology specialist assigned to the case (medical oncology or cell
/// therapy). The server checks assignment; this checks the specialty.
pub fn may_approve(specialty: &str) -> bool {
    matches!(specialty, "medical-oncology" | "cell-therapy")
}
