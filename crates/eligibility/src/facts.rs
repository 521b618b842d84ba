//! The facts of one case as of one date, derived once and read by every criterion:
//! age bounds, the current biomarker results, lines of therapy, disease extent.

use cellpath_domain::{
    Case, Cldn18Result, Date, EcogResult, Her2Result, Her2Status, LabResult, LabTest,
    LinesOfTherapy, MsiResult, PartialDate, Pdl1Result, TherapySetting, lines_of_therapy,
    stage_group,
};

use crate::eval::Tri;

/// One case seen on one day. Nothing dated after `as_of` is used — results, therapies,
/// lines, progressions, metastases: a screen as of a past date sees only what was known then.
pub struct Facts<'a> {
    pub case: &'a Case,
    /// The treatment history and the disease's course as known on `as_of`
    /// ([`Case::as_of`]); borrowed when nothing in the record is later.
    pub seen: std::borrow::Cow<'a, Case>,
    pub as_of: Date,
    pub age: Option<(i32, i32)>,
    pub cldn18: Option<&'a Cldn18Result>,
    pub cldn18_count: usize,
    pub her2: Option<(&'a Her2Result, Her2Status)>,
    pub her2_count: usize,
    /// A HER2-positive result beside a later negative one: for the MDT to judge.
    pub her2_conflict: bool,
    pub pdl1: Option<&'a Pdl1Result>,
    pub msi: Option<&'a MsiResult>,
    pub lines: Option<LinesOfTherapy>,
    pub ecog: Option<&'a EcogResult>,
    pub advanced: (Tri, String, String),
}

fn known_by(date: Option<PartialDate>, as_of: Date) -> bool {
    date.is_none_or(|d| d.earliest() <= as_of)
}

/// The most recent item by date (dated before undated; later in the list wins ties).
fn most_recent<'a, T>(
    items: impl Iterator<Item = &'a T>,
    date: impl Fn(&T) -> Option<PartialDate>,
    as_of: Date,
) -> (Option<&'a T>, usize) {
    let mut count = 0;
    let best = items
        .filter(|t| known_by(date(t), as_of))
        .enumerate()
        .inspect(|_| count += 1)
        .max_by_key(|(i, t)| (date(t).map(PartialDate::latest), *i))
        .map(|(_, t)| t);
    (best, count)
}

impl<'a> Facts<'a> {
    pub fn new(case: &'a Case, as_of: Date) -> Self {
        let age = case.patient.birth_date.map(|b| {
            (
                b.latest().years_until(as_of),
                b.earliest().years_until(as_of),
            )
        });
        let (cldn18, cldn18_count) = most_recent(case.cldn18.iter(), |r| r.specimen_date, as_of);
        let usable_her2 = case.her2.iter().filter(|r| r.status().is_some());
        let (her2, her2_count) = most_recent(usable_her2, |r| r.date, as_of);
        let her2 = her2.and_then(|r| r.status().map(|s| (r, s)));
        // Any positive result known by then, with the most recent one negative.
        let her2_conflict = her2.is_some_and(|(_, s)| s == Her2Status::Negative)
            && case
                .her2
                .iter()
                .any(|r| r.status() == Some(Her2Status::Positive) && known_by(r.date, as_of));
        let seen = if case.has_history_after(as_of) {
            std::borrow::Cow::Owned(case.as_of(as_of))
        } else {
            std::borrow::Cow::Borrowed(case)
        };
        let (pdl1, _) = most_recent(case.pdl1.iter(), |r| r.date, as_of);
        let (msi, _) = most_recent(case.msi.iter(), |r| r.date, as_of);
        let (ecog, _) = most_recent(case.ecog.iter(), |r| r.date, as_of);
        let lines = lines_of_therapy(&seen);
        let advanced = advanced(&seen, lines.as_ref());
        Self {
            case,
            seen,
            as_of,
            age,
            cldn18,
            cldn18_count,
            her2,
            her2_count,
            her2_conflict,
            pdl1,
            msi,
            lines,
            ecog,
            advanced,
        }
    }

    pub fn latest_lab(&self, test: LabTest) -> Option<&'a LabResult> {
        let date = |r: &LabResult| r.date.map(PartialDate::from_date);
        most_recent(
            self.case.labs.iter().filter(|l| l.test == test),
            date,
            self.as_of,
        )
        .0
    }
}

/// Advanced disease (unresectable or metastatic), from the course of the disease as known
/// on the day, not from the stage at diagnosis alone:
/// - a metastasis, stage IV, a documented unresectable or metastatic extent, or therapy
///   given for advanced disease (a counted line in the advanced setting) → advanced;
/// - a documented resectable or localised extent → not advanced, unless a later event says
///   otherwise;
/// - a recurrence or progression recorded after an early stage → unknown, for the team to
///   say whether it is unresectable or metastatic;
/// - stage III with no statement of resectability → unknown;
/// - stage I–II (or a documented non-advanced extent) with a known treatment history and
///   nothing later → not advanced; with no treatment history recorded → unknown;
/// - nothing at all → unknown.
///
/// Returns the answer with its explanation in English and Chinese.
fn advanced(case: &Case, lines: Option<&LinesOfTherapy>) -> (Tri, String, String) {
    if let Some(mets) = case.metastases.as_ref().filter(|m| !m.is_empty()) {
        let sites: Vec<&str> = mets.iter().map(|m| m.site.as_str()).collect();
        let list = sites.join(", ");
        return (
            Tri::True,
            format!("Metastatic disease documented ({list})."),
            format!("已记录远处转移（{list}）。"),
        );
    }
    let primary = case.primary.as_ref();
    let extent = primary.and_then(|p| p.extent);
    if let Some(e) = extent.filter(|e| e.is_advanced()) {
        return (
            Tri::True,
            format!("Disease extent recorded as {}: advanced.", e.name()),
            format!("记录的疾病范围为{}：晚期。", e.name_zh()),
        );
    }
    let stage = primary.and_then(|p| p.stage.as_deref());
    let group = stage.and_then(stage_group);
    if let (Some(stage), Some(4)) = (stage, group) {
        return (
            Tri::True,
            format!("Stage {stage}: advanced."),
            format!("分期 {stage}：晚期。"),
        );
    }
    let advanced_lines = lines
        .map(|l| {
            l.counted()
                .filter(|l| l.setting == TherapySetting::Advanced)
                .count()
        })
        .unwrap_or(0);
    if advanced_lines > 0 {
        return (
            Tri::True,
            format!(
                "{advanced_lines} line(s) of therapy for advanced disease recorded: the disease \
                 is advanced whatever its stage at diagnosis."
            ),
            format!("已记录 {advanced_lines} 线晚期疾病治疗：无论诊断时分期如何，疾病为晚期。"),
        );
    }
    if let Some(p) = case.progressions.iter().max_by_key(|p| p.date.latest()) {
        let at = match stage {
            Some(st) => format!(" after stage {st} at diagnosis"),
            None => String::new(),
        };
        let at_zh = match stage {
            Some(st) => format!("（诊断时分期 {st}）"),
            None => String::new(),
        };
        return (
            Tri::Unknown,
            format!(
                "A recurrence or progression is recorded on {}{at}; whether the disease is now \
                 unresectable or metastatic is not recorded. The stage at diagnosis does not \
                 decide this.",
                p.date
            ),
            format!(
                "已记录 {} 复发或进展{at_zh}；目前是否不可切除或已转移未记录。诊断时分期不能决定此项。",
                p.date
            ),
        );
    }
    // "Not advanced" needs the course since diagnosis: without a treatment history nothing
    // says the disease has not recurred.
    let history_known = case.therapies.is_some() || case.lines.is_some();
    if !history_known && (extent.is_some() || group.is_some()) {
        let what = match (extent, stage) {
            (Some(e), _) => (e.name().to_owned(), e.name_zh().to_owned()),
            (None, Some(st)) => (format!("stage {st}"), format!("分期 {st}")),
            (None, None) => (String::new(), String::new()),
        };
        return (
            Tri::Unknown,
            format!(
                "Recorded as {} at diagnosis, but the treatment history since is not recorded: \
                 whether the disease has recurred or progressed is unknown.",
                what.0
            ),
            format!(
                "诊断时记录为{}，但其后的治疗史未记录：是否复发或进展未知。",
                what.1
            ),
        );
    }
    if let Some(e) = extent {
        return (
            Tri::False,
            format!(
                "Disease extent recorded as {}, with no later metastasis, progression or therapy \
                 for advanced disease: not advanced.",
                e.name()
            ),
            format!(
                "记录的疾病范围为{}，其后无转移、进展或晚期治疗记录：非晚期。",
                e.name_zh()
            ),
        );
    }
    let unknown_setting = lines.is_some_and(|l| {
        l.counted().any(|l| l.setting == TherapySetting::Unknown) || !l.unidentified.is_empty()
    });
    match (stage, group) {
        (Some(stage), Some(3)) => (
            Tri::Unknown,
            format!(
                "Stage {stage} with no statement of resectability: whether the disease is \
                 unresectable is not recorded."
            ),
            format!("分期 {stage}，未说明能否切除：是否不可切除未记录。"),
        ),
        // A regimen of unknown setting may have been for advanced disease: it does not
        // decide "advanced", and it does not let the stage decide "not advanced" either.
        (Some(stage), Some(_)) if unknown_setting => (
            Tri::Unknown,
            format!(
                "Stage {stage}, but a regimen with no recorded setting was given: whether it \
                 treated advanced disease is not recorded."
            ),
            format!("分期 {stage}，但有未记录治疗阶段的方案：其是否用于晚期疾病未记录。"),
        ),
        (Some(stage), Some(_)) => (
            Tri::False,
            format!(
                "Stage {stage}, with no metastasis, progression or therapy for advanced disease \
                 recorded: not advanced."
            ),
            format!("分期 {stage}，未记录转移、进展或晚期治疗：非晚期。"),
        ),
        _ => (
            Tri::Unknown,
            "Neither stage, extent nor metastases are recorded.".to_owned(),
            "未记录分期、疾病范围或转移情况。".to_owned(),
        ),
    }
}
