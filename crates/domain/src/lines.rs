//! Lines of therapy, reconstructed from the treatment history by a documented rule
//! (`docs/lines-of-therapy.md`) and shown to the coordinator for confirmation:
//!
//! 1. drugs started within 28 days of a line's first drug belong to that line;
//! 2. a drug started later starts a new line when it follows documented progression, or when
//!    the gap since the line's last administration exceeds 120 days; otherwise it is added to
//!    the line as a modification, flagged for confirmation;
//! 3. (neo)adjuvant therapy counts as a line when progression or relapse occurred within
//!    6 months (183 days) of its end;
//! 4. a line failed when progression or intolerance is documented after it started.
//!
//! What the history cannot say is kept as a range, never guessed: a regimen whose setting is
//! unknown may be (neo)adjuvant (no line) or for advanced disease (a line), and a medication
//! the import could not identify may be a new line. [`LinesOfTherapy::count_range`] gives
//! the fewest and most lines the record allows, and `uncertain` says why.

use serde::Serialize;

use crate::text::Bi;

use crate::{
    Case, ConfirmedLine, Date, LineOutcome, PartialDate, StopReason, SystemicTherapy,
    TherapySetting,
};

pub const SAME_LINE_WINDOW_DAYS: i64 = 28;
pub const NEW_LINE_GAP_DAYS: i64 = 120;
pub const PERIOPERATIVE_RELAPSE_DAYS: i64 = 183;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    /// 1-based among the lines that count; `None` for a (neo)adjuvant regimen that does not.
    pub number: Option<u32>,
    pub drugs: Vec<String>,
    pub start: Option<PartialDate>,
    pub end: Option<PartialDate>,
    pub setting: TherapySetting,
    pub counts: bool,
    pub outcome: LineOutcome,
    /// Why the rule decided as it did, and what to confirm.
    pub notes: Vec<Bi>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinesOfTherapy {
    pub lines: Vec<Line>,
    /// True when derived by the rule; false when the coordinator confirmed them.
    pub derived: bool,
    /// Counted lines that would not count if their unknown setting were (neo)adjuvant.
    #[serde(skip_serializing_if = "is_zero")]
    pub setting_unknown: usize,
    /// Unidentified medications, each of which may be a further line (start dates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unidentified: Vec<PartialDate>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl LinesOfTherapy {
    pub fn counted(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| l.counts)
    }
    pub fn count(&self) -> usize {
        self.counted().count()
    }
    pub fn last_counted(&self) -> Option<&Line> {
        self.counted().last()
    }
    /// The fewest and the most lines the record allows (equal when nothing is uncertain).
    pub fn count_range(&self) -> (usize, usize) {
        let n = self.count();
        (n - self.setting_unknown.min(n), n + self.unidentified.len())
    }
    /// Whether the last line could be another than [`Self::last_counted`]: an unidentified
    /// medication started after it began.
    pub fn last_line_uncertain(&self) -> bool {
        let last_start = self
            .last_counted()
            .and_then(|l| l.start)
            .map(PartialDate::earliest);
        self.unidentified
            .iter()
            .any(|u| last_start.is_none_or(|s| s.days_until(u.earliest()) > SAME_LINE_WINDOW_DAYS))
    }
    /// Why the count is a range, in both languages.
    pub fn uncertainty(&self) -> Vec<Bi> {
        let mut out = Vec::new();
        if self.setting_unknown > 0 {
            out.push(Bi::new(
                format!(
                    "{} line(s) have no recorded setting: if (neo)adjuvant they would not count",
                    self.setting_unknown
                ),
                format!(
                    "{} 线治疗未记录治疗阶段：若为（新）辅助治疗则不计线数",
                    self.setting_unknown
                ),
            ));
        }
        if !self.unidentified.is_empty() {
            out.push(Bi::new(
                format!(
                    "{} medication(s) given for the cancer could not be identified: each may be \
                     a further line — name them in the record",
                    self.unidentified.len()
                ),
                format!(
                    "{} 种用于该肿瘤的药物无法识别：每种都可能是另一线治疗——请在病历中写明药名",
                    self.unidentified.len()
                ),
            ));
        }
        out
    }
}

/// The case's lines: the confirmed ones if given, else derived. `None` when the treatment
/// history is unknown.
pub fn lines_of_therapy(case: &Case) -> Option<LinesOfTherapy> {
    if let Some(confirmed) = &case.lines {
        return Some(from_confirmed(confirmed));
    }
    let therapies = case.therapies.as_ref()?;
    let progressions: Vec<Date> = case
        .progressions
        .iter()
        .map(|p| p.date.earliest())
        .collect();
    Some(derive_in_course(
        therapies,
        &progressions,
        advanced_since(case),
    ))
}

/// From when the record shows the disease advanced: the diagnosis when staged IV then, the
/// first progression, the first dated distant metastasis. A therapy of unknown setting
/// started from then on was for advanced disease (adjuvant therapy follows a resection of
/// disease that has not spread).
fn advanced_since(case: &Case) -> Option<Date> {
    let primary = case.primary.as_ref();
    let stage_iv = primary
        .and_then(|p| p.stage.as_deref())
        .is_some_and(|s| s.trim().to_ascii_uppercase().starts_with("IV"));
    // Stage IV without a diagnosis date: every recorded therapy came after it.
    let first_therapy = || {
        case.therapies
            .iter()
            .flatten()
            .map(|t| t.start.earliest())
            .min()
    };
    let at_diagnosis = stage_iv
        .then(|| {
            primary
                .and_then(|p| p.diagnosed)
                .map(PartialDate::earliest)
                .or_else(first_therapy)
        })
        .flatten();
    let progression = case.progressions.iter().map(|p| p.date.earliest()).min();
    let metastasis = case
        .metastases
        .iter()
        .flatten()
        .filter_map(|m| m.date.map(PartialDate::earliest))
        .min();
    [at_diagnosis, progression, metastasis]
        .into_iter()
        .flatten()
        .min()
}

fn from_confirmed(confirmed: &[ConfirmedLine]) -> LinesOfTherapy {
    let mut n = 0;
    let lines = confirmed
        .iter()
        .map(|c| {
            let number = c.counts.then(|| {
                n += 1;
                n
            });
            Line {
                number,
                drugs: c.drugs.clone(),
                start: c.start,
                end: c.end,
                setting: c.setting,
                counts: c.counts,
                outcome: c.outcome,
                notes: vec![Bi::new("confirmed by the coordinator", "经协调员确认")],
            }
        })
        .collect();
    LinesOfTherapy {
        lines,
        derived: false,
        setting_unknown: 0,
        unidentified: Vec::new(),
    }
}

struct Group<'a> {
    therapies: Vec<&'a SystemicTherapy>,
    first_start: Date,
    last_admin: Date,
    perioperative: bool,
    notes: Vec<Bi>,
}

impl Group<'_> {
    fn last_admin_of(t: &SystemicTherapy) -> Date {
        t.end.map_or(t.start.earliest(), PartialDate::latest)
    }
    fn ongoing(&self) -> bool {
        self.therapies
            .iter()
            .any(|t| t.end.is_none() && t.reason_stopped.is_none())
    }
}

/// Derives lines from therapies and progression dates by the rule in the module docs.
pub fn derive(therapies: &[SystemicTherapy], progressions: &[Date]) -> LinesOfTherapy {
    derive_in_course(therapies, progressions, None)
}

/// [`derive`], knowing from when the disease was advanced (see `advanced_since`).
pub fn derive_in_course(
    therapies: &[SystemicTherapy],
    progressions: &[Date],
    advanced_since: Option<Date>,
) -> LinesOfTherapy {
    // The setting the record implies: unknown, but started once the disease was advanced.
    let setting_of = |t: &SystemicTherapy| match t.setting {
        TherapySetting::Unknown if advanced_since.is_some_and(|a| a <= t.start.earliest()) => {
            TherapySetting::Advanced
        }
        s => s,
    };
    // A therapy for another cancer is shown with the history but is no line of this one.
    let mut sorted: Vec<&SystemicTherapy> = therapies
        .iter()
        .filter(|t| t.other_cancer.is_none() && !t.unidentified)
        .collect();
    sorted.sort_by_key(|t| (t.start.earliest(), t.drug.to_lowercase()));

    let mut groups: Vec<Group> = Vec::new();
    for t in sorted {
        let start = t.start.earliest();
        let perioperative = setting_of(t).is_perioperative();
        let joins = groups
            .last_mut()
            .filter(|g| g.perioperative == perioperative);
        if let Some(g) = joins {
            let since_first = g.first_start.days_until(start);
            // Progression is documented by a date, or by a drug of this line stopped for
            // progression before the new regimen began: a regimen replaced after it stopped
            // for progression is a new line.
            let progressed = progressions
                .iter()
                .any(|p| *p > g.first_start && *p <= start)
                || g.therapies.iter().any(|x| {
                    x.reason_stopped == Some(StopReason::Progression)
                        && Group::last_admin_of(x) <= start
                });
            let gap = g.last_admin.days_until(start);
            let continues = g
                .therapies
                .iter()
                .any(|x| x.drug.eq_ignore_ascii_case(&t.drug));
            if since_first <= SAME_LINE_WINDOW_DAYS
                || (continues && !progressed && gap <= NEW_LINE_GAP_DAYS)
            {
                g.last_admin = g.last_admin.max(Group::last_admin_of(t));
                g.therapies.push(t);
                continue;
            }
            if !progressed && gap <= NEW_LINE_GAP_DAYS {
                g.notes.push(Bi::new(
                    format!(
                        "{} added {since_first} days after the line began, without documented \
                         progression: counted as a modification of this line — confirm",
                        t.drug
                    ),
                    format!(
                        "{} 在本线开始 {since_first} 天后加入，且无记录的进展：计为本线的调整——请确认",
                        t.drug
                    ),
                ));
                g.last_admin = g.last_admin.max(Group::last_admin_of(t));
                g.therapies.push(t);
                continue;
            }
        }
        let mut notes = Vec::new();
        if let Some(prev) = groups.last() {
            let progressed = progressions
                .iter()
                .any(|p| *p > prev.first_start && *p <= start)
                || prev.therapies.iter().any(|x| {
                    x.reason_stopped == Some(StopReason::Progression)
                        && Group::last_admin_of(x) <= start
                });
            if prev.perioperative != perioperative {
                notes.push(Bi::new(
                    "setting changed (perioperative / advanced)",
                    "治疗阶段改变（围手术期 / 晚期）",
                ));
            } else if progressed {
                notes.push(Bi::new(
                    "new line after documented progression",
                    "记录的进展后开始新一线",
                ));
            } else {
                let gap = prev.last_admin.days_until(start);
                notes.push(Bi::new(
                    format!("new line after a gap of {gap} days (> {NEW_LINE_GAP_DAYS})"),
                    format!("间隔 {gap} 天（> {NEW_LINE_GAP_DAYS} 天）后开始新一线"),
                ));
            }
        }
        groups.push(Group {
            therapies: vec![t],
            first_start: start,
            last_admin: Group::last_admin_of(t),
            perioperative,
            notes,
        });
    }

    let mut lines = Vec::with_capacity(groups.len());
    let mut number = 0;
    let mut setting_unknown = 0;
    for g in &groups {
        let progressed_after = progressions.iter().any(|p| *p > g.first_start);
        let stopped_for = |reason| g.therapies.iter().any(|t| t.reason_stopped == Some(reason));
        // One drug stopped for toxicity while the rest of the line goes on is a modification,
        // not a failed line: intolerance ends a line only when nothing of it is ongoing and
        // a drug that stopped last stopped for intolerance.
        let intolerance_ended_it = !g.ongoing()
            && g.therapies.iter().any(|t| {
                t.reason_stopped == Some(StopReason::Intolerance)
                    && Group::last_admin_of(t) >= g.last_admin
            });
        let outcome = if stopped_for(StopReason::Progression) || progressed_after {
            LineOutcome::Progression
        } else if intolerance_ended_it {
            LineOutcome::Intolerance
        } else {
            LineOutcome::NotFailed
        };
        let mut notes = g.notes.clone();
        let counts = if g.perioperative {
            let relapse = progressions
                .iter()
                .find(|p| **p >= g.first_start)
                .copied()
                .or(if stopped_for(StopReason::Progression) {
                    Some(g.last_admin)
                } else {
                    None
                });
            match relapse {
                Some(r) if g.last_admin.days_until(r) <= PERIOPERATIVE_RELAPSE_DAYS => {
                    let days = g.last_admin.days_until(r).max(0);
                    notes.push(Bi::new(
                        format!(
                            "(neo)adjuvant therapy counted as a line: relapse {days} days after its \
                             end (≤ 6 months)"
                        ),
                        format!("（新）辅助治疗计为一线：结束后 {days} 天复发（≤ 6 个月）"),
                    ));
                    true
                }
                Some(r) => {
                    let days = g.last_admin.days_until(r);
                    notes.push(Bi::new(
                        format!(
                            "(neo)adjuvant therapy not counted: relapse {days} days after its end \
                             (> 6 months)"
                        ),
                        format!("（新）辅助治疗不计为一线：结束后 {days} 天复发（> 6 个月）"),
                    ));
                    false
                }
                None => {
                    notes.push(Bi::new(
                        "(neo)adjuvant therapy not counted: no relapse documented",
                        "（新）辅助治疗不计为一线：无复发记录",
                    ));
                    false
                }
            }
        } else {
            true
        };
        if counts {
            number += 1;
        }
        let mut drugs: Vec<String> = Vec::new();
        for t in &g.therapies {
            if !drugs.iter().any(|d| d.eq_ignore_ascii_case(&t.drug)) {
                drugs.push(t.drug.clone());
            }
        }
        let setting = if g.perioperative {
            g.therapies[0].setting
        } else if g
            .therapies
            .iter()
            .all(|t| setting_of(t) == TherapySetting::Unknown)
        {
            // Nothing says these drugs were for advanced disease: a line only if they were,
            // or if relapse followed within six months (a line either way).
            let early_relapse = stopped_for(StopReason::Progression)
                || progressions.iter().any(|p| {
                    *p >= g.first_start && g.last_admin.days_until(*p) <= PERIOPERATIVE_RELAPSE_DAYS
                });
            if counts && !early_relapse {
                setting_unknown += 1;
                notes.push(Bi::new(
                    "setting not recorded: counted as a line for advanced disease, which it \
                     would not be if it was (neo)adjuvant — confirm",
                    "未记录治疗阶段：按晚期治疗计为一线；若为（新）辅助治疗则不计——请确认",
                ));
            }
            TherapySetting::Unknown
        } else {
            TherapySetting::Advanced
        };
        lines.push(Line {
            number: counts.then_some(number),
            drugs,
            start: Some(g.therapies[0].start),
            end: if g.ongoing() {
                None
            } else {
                Some(PartialDate::from_date(g.last_admin))
            },
            setting,
            counts,
            outcome,
            notes,
        });
    }
    // An unidentified medication started within a line's first weeks belongs to it; any
    // other may be a line of its own.
    let unidentified = therapies
        .iter()
        .filter(|t| t.unidentified && t.other_cancer.is_none())
        .map(|t| t.start)
        .filter(|u| {
            !groups.iter().any(|g| {
                (0..=SAME_LINE_WINDOW_DAYS).contains(&g.first_start.days_until(u.earliest()))
            })
        })
        .collect();
    LinesOfTherapy {
        lines,
        derived: true,
        setting_unknown,
        unidentified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    fn t(drug: &str, start: &str, end: Option<&str>, setting: TherapySetting) -> SystemicTherapy {
        SystemicTherapy {
            drug: drug.to_owned(),
            start: PartialDate::parse(start).expect("start"),
            end: end.map(|e| PartialDate::parse(e).expect("end")),
            setting,
            reason_stopped: None,
            other_cancer: None,
            unidentified: false,
            source: None,
        }
    }

    use TherapySetting::{Adjuvant, Advanced};

    #[test]
    fn therapies_for_another_cancer_are_not_lines() {
        let mut prostate = t("docetaxel", "1975-03-01", Some("1975-06-01"), Advanced);
        prostate.other_cancer = Some("prostate cancer".into());
        let lung = t("carboplatin", "1993-01-01", Some("1993-04-01"), Advanced);
        let lines = derive(&[prostate, lung], &[]);
        assert_eq!(lines.lines.len(), 1);
        assert_eq!(lines.lines[0].drugs, vec!["carboplatin".to_owned()]);
    }

    #[test]
    fn curative_intent_is_not_a_line_for_advanced_disease() {
        let chemo = t(
            "cyclophosphamide",
            "2020-01-01",
            Some("2020-04-01"),
            TherapySetting::Curative,
        );
        let hormone = t("tamoxifen", "2020-06-01", None, Advanced);
        let lines = derive(&[chemo, hormone], &[]);
        assert_eq!(lines.count(), 1, "{lines:?}");
        assert_eq!(
            lines.last_counted().map(|l| l.drugs.clone()),
            Some(vec!["tamoxifen".to_owned()])
        );
    }

    #[test]
    fn drugs_within_28_days_share_a_line() {
        let lot = derive(
            &[
                t("oxaliplatin", "2024-01-01", Some("2024-05-01"), Advanced),
                t("capecitabine", "2024-01-01", Some("2024-05-01"), Advanced),
                t("nivolumab", "2024-01-29", Some("2024-05-01"), Advanced),
            ],
            &[],
        );
        assert_eq!(lot.count(), 1);
        assert_eq!(lot.lines[0].drugs.len(), 3);
    }

    #[test]
    fn added_drug_without_progression_is_a_flagged_modification() {
        let lot = derive(
            &[
                t("oxaliplatin", "2024-01-01", Some("2024-05-01"), Advanced),
                t("nivolumab", "2024-03-01", Some("2024-06-01"), Advanced),
            ],
            &[],
        );
        assert_eq!(lot.count(), 1);
        assert!(lot.lines[0].notes.iter().any(|n| n.en.contains("confirm")));
    }

    #[test]
    fn progression_starts_a_new_line() {
        let lot = derive(
            &[
                t("oxaliplatin", "2024-01-01", Some("2024-05-01"), Advanced),
                t("paclitaxel", "2024-05-20", Some("2024-09-01"), Advanced),
            ],
            &[d("2024-05-10")],
        );
        assert_eq!(lot.count(), 2);
        assert_eq!(lot.lines[0].outcome, LineOutcome::Progression);
        assert_eq!(lot.lines[1].outcome, LineOutcome::NotFailed);
    }

    #[test]
    fn a_long_gap_starts_a_new_line() {
        let lot = derive(
            &[
                t("oxaliplatin", "2024-01-01", Some("2024-03-01"), Advanced),
                t("oxaliplatin", "2024-06-30", Some("2024-09-01"), Advanced),
            ],
            &[],
        );
        assert_eq!(lot.count(), 2, "121-day gap");
        let lot = derive(
            &[
                t("oxaliplatin", "2024-01-01", Some("2024-03-01"), Advanced),
                t("oxaliplatin", "2024-06-29", Some("2024-09-01"), Advanced),
            ],
            &[],
        );
        assert_eq!(lot.count(), 1, "120-day gap stays in the line");
    }

    #[test]
    fn adjuvant_with_early_relapse_counts() {
        let lot = derive(
            &[
                t("capecitabine", "2023-01-01", Some("2023-06-30"), Adjuvant),
                t("oxaliplatin", "2023-11-01", Some("2024-03-01"), Advanced),
            ],
            &[d("2023-10-15")],
        );
        assert_eq!(lot.count(), 2);
        assert_eq!(lot.lines[0].number, Some(1));
        assert_eq!(lot.lines[0].outcome, LineOutcome::Progression);
    }

    #[test]
    fn adjuvant_with_late_relapse_does_not_count() {
        let lot = derive(
            &[
                t("capecitabine", "2022-01-01", Some("2022-06-30"), Adjuvant),
                t("oxaliplatin", "2023-11-01", Some("2024-03-01"), Advanced),
            ],
            &[d("2023-10-15")],
        );
        assert_eq!(lot.count(), 1);
        assert_eq!(lot.lines[0].number, None);
        assert_eq!(lot.lines[1].number, Some(1));
    }

    #[test]
    fn intolerance_is_a_failure() {
        let mut th = t("irinotecan", "2024-01-01", Some("2024-02-01"), Advanced);
        th.reason_stopped = Some(StopReason::Intolerance);
        let lot = derive(&[th], &[]);
        assert_eq!(lot.lines[0].outcome, LineOutcome::Intolerance);
    }

    /// CAPOX stopped for progression (no progression date recorded), then paclitaxel with
    /// ramucirumab three weeks later: two lines, not one (clinical review, issue 27).
    #[test]
    fn a_regimen_replaced_after_it_stopped_for_progression_is_a_new_line() {
        let mut cap = t("capecitabine", "2024-02-01", Some("2024-07-15"), Advanced);
        cap.reason_stopped = Some(StopReason::Progression);
        let mut ox = t("oxaliplatin", "2024-02-01", Some("2024-07-15"), Advanced);
        ox.reason_stopped = Some(StopReason::Progression);
        let pac = t("paclitaxel", "2024-08-05", Some("2025-01-10"), Advanced);
        let ram = t("ramucirumab", "2024-08-05", Some("2025-01-10"), Advanced);
        let lot = derive(&[cap, ox, pac, ram], &[]);
        assert_eq!(lot.count(), 2, "{:?}", lot.lines);
        assert_eq!(lot.lines[0].outcome, LineOutcome::Progression);
        assert_eq!(lot.lines[1].number, Some(2));
    }

    /// Paclitaxel stopped for neuropathy while ramucirumab goes on (or goes on longer) is a
    /// modification of the line, not a failed line (clinical review, issue 27).
    #[test]
    fn one_drug_stopped_for_toxicity_while_the_rest_goes_on_is_not_a_failure() {
        let mut pac = t("paclitaxel", "2024-08-05", Some("2024-10-01"), Advanced);
        pac.reason_stopped = Some(StopReason::Intolerance);
        let ongoing = t("ramucirumab", "2024-08-05", None, Advanced);
        let lot = derive(&[pac.clone(), ongoing], &[]);
        assert_eq!(lot.lines[0].outcome, LineOutcome::NotFailed);
        let longer = t("ramucirumab", "2024-08-05", Some("2025-01-10"), Advanced);
        let lot = derive(&[pac.clone(), longer], &[]);
        assert_eq!(lot.lines[0].outcome, LineOutcome::NotFailed);
        // Both stopped together, for intolerance: the line failed.
        let mut ram = t("ramucirumab", "2024-08-05", Some("2024-10-01"), Advanced);
        ram.reason_stopped = Some(StopReason::Intolerance);
        let lot = derive(&[pac, ram], &[]);
        assert_eq!(lot.lines[0].outcome, LineOutcome::Intolerance);
    }

    /// A regimen with no recorded setting is not silently a line for advanced disease: the
    /// count is a range (clinical review, issue 27: a resected pancreatic cancer with
    /// adjuvant therapy of unknown setting became "advanced" with one line).
    #[test]
    fn unknown_setting_makes_the_count_a_range() {
        use TherapySetting::Unknown;
        let gem = t("gemcitabine", "2023-03-01", Some("2023-08-15"), Unknown);
        let lot = derive(std::slice::from_ref(&gem), &[]);
        assert_eq!(lot.count_range(), (0, 1));
        assert_eq!(lot.lines[0].setting, Unknown);
        assert!(!lot.uncertainty().is_empty());
        // Relapse within six months of its end: a line whatever the setting.
        let lot = derive(std::slice::from_ref(&gem), &[d("2023-11-01")]);
        assert_eq!(lot.count_range(), (1, 1));
        // Started after the disease was known to be advanced: for advanced disease.
        let lot = derive_in_course(&[gem], &[], Some(d("2023-01-10")));
        assert_eq!(lot.count_range(), (1, 1));
        assert_eq!(lot.lines[0].setting, Advanced);
    }

    /// A medication the import could not identify may be a further line: the count is a
    /// range until the coordinator names it; within a line's first 28 days it belongs to it.
    #[test]
    fn an_unidentified_medication_may_be_a_further_line() {
        let ox = t("oxaliplatin", "2024-01-01", Some("2024-05-01"), Advanced);
        let mut unknown = t("RxNorm 999999", "2024-06-10", Some("2024-09-01"), Advanced);
        unknown.unidentified = true;
        let lot = derive(&[ox.clone(), unknown.clone()], &[]);
        assert_eq!(lot.count(), 1);
        assert_eq!(lot.count_range(), (1, 2));
        assert!(lot.last_line_uncertain());
        unknown.start = PartialDate::parse("2024-01-15").expect("date");
        let lot = derive(&[ox, unknown], &[]);
        assert_eq!(lot.count_range(), (1, 1));
        assert!(!lot.last_line_uncertain());
    }
}
