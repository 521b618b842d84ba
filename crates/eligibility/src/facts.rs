//! The facts of one case as of one date, derived once and read by every criterion:
//! age bounds, the current biomarker results, lines of therapy, disease extent.

use cellpath_domain::{
    Case, Cldn18Result, Date, EcogResult, Her2Result, Her2Status, LabResult, LabTest,
    LinesOfTherapy, MsiResult, PartialDate, Pdl1Result, lines_of_therapy, stage_group,
};

use crate::eval::Tri;

/// One case seen on one day. Results dated after `as_of` are not used: a screen as of a
/// past date sees only what was known then.
pub struct Facts<'a> {
    pub case: &'a Case,
    pub as_of: Date,
    pub age: Option<(i32, i32)>,
    pub cldn18: Option<&'a Cldn18Result>,
    pub cldn18_count: usize,
    pub her2: Option<(&'a Her2Result, Her2Status)>,
    pub her2_count: usize,
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
        let (pdl1, _) = most_recent(case.pdl1.iter(), |r| r.date, as_of);
        let (msi, _) = most_recent(case.msi.iter(), |r| r.date, as_of);
        let (ecog, _) = most_recent(case.ecog.iter(), |r| r.date, as_of);
        Self {
            case,
            as_of,
            age,
            cldn18,
            cldn18_count,
            her2,
            her2_count,
            pdl1,
            msi,
            lines: lines_of_therapy(case),
            ecog,
            advanced: advanced(case),
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

/// Advanced disease (unresectable or metastatic): a metastasis, stage IV, or a documented
/// extent decides; a documented stage I–III with no metastasis means not advanced; nothing
/// at all means unknown. Returns the answer with its explanation in English and Chinese.
fn advanced(case: &Case) -> (Tri, String, String) {
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
    if let Some(extent) = primary.and_then(|p| p.extent) {
        let yes = extent.is_advanced();
        let label = format!("{extent:?}");
        return (
            Tri::from(yes),
            format!(
                "Disease extent recorded as {}: {}.",
                label.to_lowercase(),
                if yes { "advanced" } else { "not advanced" }
            ),
            format!(
                "记录的疾病范围为 {}：{}。",
                label.to_lowercase(),
                if yes { "晚期" } else { "非晚期" }
            ),
        );
    }
    if let Some(stage) = primary.and_then(|p| p.stage.as_deref()) {
        match stage_group(stage) {
            Some(4) => {
                return (
                    Tri::True,
                    format!("Stage {stage}: advanced."),
                    format!("分期 {stage}：晚期。"),
                );
            }
            Some(_) => {
                return (
                    Tri::False,
                    format!("Stage {stage} with no metastasis recorded: not advanced."),
                    format!("分期 {stage}，未记录转移：非晚期。"),
                );
            }
            None => {}
        }
    }
    (
        Tri::Unknown,
        "Neither stage, extent nor metastases are recorded.".to_owned(),
        "未记录分期、疾病范围或转移情况。".to_owned(),
    )
}
