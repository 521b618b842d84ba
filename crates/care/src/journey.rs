//! The treatment journey: templates of steps (catalogue data, each duration with its source
//! or marked as not published), and a planner that turns a template and a case's dates into
//! windows — earliest and latest start and end of every step — re-planning what follows an
//! actual date, and flagging conflicts (a visa ending before the earliest return, a lab
//! result too old for its window, a day of monitoring without a caregiver).

use std::collections::BTreeMap;
use std::fmt;

use cellpath_domain::Date;
use cellpath_domain::native::line_column;
use cellpath_domain::text::Bi;
use serde::{Deserialize, Serialize};

/// Why a template was refused: the file, line and problem.
pub type JourneyError = cellpath_domain::FileError;

/// A range of whole days, `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "[u32; 2]", into = "[u32; 2]")]
pub struct Days {
    pub min: u32,
    pub max: u32,
}

impl TryFrom<[u32; 2]> for Days {
    type Error = String;
    fn try_from([min, max]: [u32; 2]) -> Result<Self, String> {
        if min > max {
            return Err(format!("the range [{min}, {max}] runs backwards"));
        }
        if max > 366 * 20 {
            return Err(format!("{max} days is longer than any journey step"));
        }
        Ok(Self { min, max })
    }
}

impl From<Days> for [u32; 2] {
    fn from(d: Days) -> Self {
        [d.min, d.max]
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{} d", self.min)
        } else {
            write!(f, "{}–{} d", self.min, self.max)
        }
    }
}

pub use cellpath_domain::SourceRef;

/// One step of a journey template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub name: Bi,
    /// Days after the previous step ends (0 = the next day… see `docs/safety.md`: a step
    /// starts `gap` days after the previous one's last day, so 0 means back to back).
    #[serde(default = "no_gap")]
    pub gap_after_previous: Days,
    /// How long the step lasts; absent when no source publishes it and the coordinator must
    /// set it for the case.
    #[serde(default)]
    pub duration: Option<Days>,
    /// A source id, when a source gives the duration.
    #[serde(default)]
    pub source: Option<String>,
    /// Whether the figure is the product's own published one. `false`: a generic figure
    /// (e.g. typical autologous CAR-T), said so in `note`.
    pub published: bool,
    #[serde(default)]
    pub note: Option<Bi>,
    /// Day 0 of the journey (the infusion); other days are counted from it.
    #[serde(default)]
    pub day_zero: bool,
    /// A caregiver must be available around the clock during this step.
    #[serde(default)]
    pub caregiver_required: bool,
    /// This step is the return home (checked against the visa).
    #[serde(default)]
    pub return_home: bool,
    #[serde(default)]
    pub tasks: Vec<Bi>,
    #[serde(default)]
    pub bring: Vec<Bi>,
    #[serde(default)]
    pub contact: Option<Bi>,
}

fn no_gap() -> Days {
    Days { min: 0, max: 0 }
}

/// A programme's journey template (`catalogue/journeys/<programme>.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub programme: String,
    pub name: Bi,
    pub sources: Vec<SourceRef>,
    /// Days after each infusion that the CRS/ICANS risk window lasts, when the programme
    /// sets its own (28 otherwise).
    #[serde(default)]
    pub risk_window_days_after_infusion: Option<i64>,
    pub steps: Vec<Step>,
}

impl Template {
    pub fn from_toml(file: &str, text: &str) -> Result<Self, JourneyError> {
        let err = |line: Option<usize>, message: String| JourneyError::new(file, line, message);
        let t: Template =
            toml::from_str(text).map_err(|e| JourneyError::from_toml(file, text, &e))?;
        let line_of = |needle: &str| text.find(needle).map(|i| line_column(text, i).0);
        if t.steps.is_empty() {
            return Err(err(None, "a journey needs at least one step".into()));
        }
        let mut seen = Vec::new();
        for s in &t.steps {
            let at = line_of(&format!("id = \"{}\"", s.id));
            if seen.contains(&s.id.as_str()) {
                return Err(err(at, format!("step id `{}` is used twice", s.id)));
            }
            seen.push(s.id.as_str());
            match (&s.source, s.published, &s.note) {
                (Some(src), _, _) if !t.sources.iter().any(|x| &x.id == src) => {
                    return Err(err(
                        at,
                        format!(
                            "step `{}` cites source `{src}`, which is not in [[sources]]",
                            s.id
                        ),
                    ));
                }
                (None, _, None) => {
                    return Err(err(
                        at,
                        format!(
                            "step `{}` needs a `source`, or a `note` saying why there is none",
                            s.id
                        ),
                    ));
                }
                (_, false, None) => {
                    return Err(err(
                        at,
                        format!(
                            "step `{}` is not the product's published figure: say so in `note`",
                            s.id
                        ),
                    ));
                }
                _ => {}
            }
            if !s.name.is_complete() {
                return Err(err(
                    at,
                    format!("step `{}` needs its name in en and zh-CN", s.id),
                ));
            }
        }
        if t.steps.iter().filter(|s| s.day_zero).count() > 1 {
            return Err(err(None, "only one step can be day 0".into()));
        }
        Ok(t)
    }
}

/// A window of dates: a step starts between `start.0` and `start.1` and ends between
/// `end.0` and `end.1` (inclusive); `end` is None while its duration is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start: (Date, Date),
    pub end: Option<(Date, Date)>,
}

/// What the coordinator knows of a case's journey.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub programme: String,
    /// A label for the case, used in calendar UIDs (no personal data needed).
    pub case: String,
    /// The first step's date.
    pub start: Date,
    #[serde(default)]
    pub visa_end: Option<Date>,
    /// Durations the coordinator sets where the template publishes none, or overrides.
    #[serde(default)]
    pub durations: BTreeMap<String, Days>,
    /// Dates that happened (or are booked): they replace the planned window and re-plan
    /// what follows.
    #[serde(default)]
    pub actual: BTreeMap<String, Actual>,
    #[serde(default)]
    pub caregivers: Vec<CaregiverCover>,
    #[serde(default)]
    pub labs: Vec<LabWindow>,
    /// Further infusions (a programme may give up to three), each after its own
    /// lymphodepletion: each opens a risk window of its own.
    #[serde(default)]
    pub additional_infusions: Vec<AdditionalInfusion>,
    /// The treating centre's 24-hour number, which every "call the team" answer shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centre_phone: Option<Phone>,
    /// The centre's offset from UTC (`+08:00`), so that the times a family reads are the
    /// centre's; UTC when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centre_utc_offset: Option<UtcOffset>,
    /// The first dose of bridging therapy, when the centre gives it: the supportive-care
    /// hold on herbs and supplements starts there, not at lymphodepletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridging_start: Option<Date>,
}

/// A telephone number as a person dials it: digits, with an optional leading `+` and
/// spaces, dashes or brackets between them (5 to 20 digits).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let digits = t.chars().filter(char::is_ascii_digit).count();
        let ok = t.chars().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')') || (c == '+' && i == 0)
        });
        if !ok || !(5..=20).contains(&digits) {
            return Err(format!(
                "{t:?} is not a telephone number: digits, a leading + and spaces, dashes or brackets (5 to 20 digits)"
            ));
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The number for a `tel:` link: the `+` and digits only.
    pub fn dial(&self) -> String {
        self.0
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An offset from UTC, `+HH:MM` or `-HH:MM` (whole quarter hours, at most 14 hours).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcOffset(i32);

impl UtcOffset {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let bad = || format!("{t:?} is not an offset from UTC such as +08:00");
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1, &t[1..]),
            Some(b'-') => (-1, &t[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if h > 14 || m % 15 != 0 || m >= 60 || (h == 14 && m > 0) {
            return Err(bad());
        }
        Ok(Self(sign * (h * 60 + m)))
    }
    /// Minutes east of UTC.
    pub fn minutes(self) -> i32 {
        self.0
    }
    /// Written back as it is read: `+08:00`.
    pub fn text(self) -> String {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let m = self.0.abs();
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

impl serde::Serialize for UtcOffset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdditionalInfusion {
    pub lymphodepletion: Date,
    pub infusion: Date,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actual {
    pub start: Date,
    #[serde(default)]
    pub end: Option<Date>,
}

/// A period a caregiver is with the patient.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaregiverCover {
    /// Who, as a role ("daughter", "spouse"); no names needed.
    pub role: String,
    pub from: Date,
    pub to: Date,
}

/// A lab result that must be recent for a step (the centre's rule, set by the coordinator).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabWindow {
    pub test: String,
    pub date: Date,
    /// The step it is needed for.
    pub step: String,
    /// How old it may be on the step's first possible day.
    pub max_age_days: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// Dates from the template and the anchors.
    Planned,
    /// Dates recorded by the coordinator.
    Actual,
    /// Cannot be dated until the coordinator sets a duration or an actual date upstream.
    NeedsDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    pub id: String,
    pub name: Bi,
    pub state: StepState,
    pub window: Option<Window>,
    /// Days relative to day 0 (the infusion), when both are dated: earliest start.
    pub day: Option<i64>,
    pub duration: Option<Days>,
    /// Where the duration comes from: the source, "set by the coordinator", or why unknown,
    /// in both languages.
    pub basis: Bi,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub step: String,
    pub message: Bi,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub programme: String,
    pub case: String,
    pub steps: Vec<PlannedStep>,
    pub conflicts: Vec<Conflict>,
}

fn add(d: Date, days: u32) -> Date {
    d.add_days(i64::from(days))
}

/// Plans a journey. Unknown step ids in the input are errors, so a typo cannot silently
/// leave a date out.
/// The bounds on a plan (`docs/security.md`): what a real journey needs, many times over,
/// and no more — so a stored plan can never make planning expensive.
pub const MAX_CAREGIVER_PERIODS: usize = 50;
pub const MAX_LAB_WINDOWS: usize = 50;
/// Longest duration, caregiver period or lab age, and furthest date from the start, in days.
pub const MAX_SPAN_DAYS: u32 = 1_000;
/// Longest label, role or test name, in characters.
pub const MAX_TEXT: usize = 100;

/// Checks a plan against the bounds, naming the first one exceeded.
pub fn check_limits(input: &PlanInput) -> Result<(), String> {
    if input.caregivers.len() > MAX_CAREGIVER_PERIODS {
        return Err(format!(
            "{} caregiver periods: at most {MAX_CAREGIVER_PERIODS}",
            input.caregivers.len()
        ));
    }
    if input.labs.len() > MAX_LAB_WINDOWS {
        return Err(format!(
            "{} lab windows: at most {MAX_LAB_WINDOWS}",
            input.labs.len()
        ));
    }
    let far = |d: Date| input.start.days_until(d).unsigned_abs() > u64::from(MAX_SPAN_DAYS);
    for (id, d) in &input.durations {
        if d.max > MAX_SPAN_DAYS {
            return Err(format!("duration of `{id}`: at most {MAX_SPAN_DAYS} days"));
        }
    }
    let mut dates: Vec<(String, Date)> = Vec::new();
    if let Some(v) = input.visa_end {
        dates.push(("visa_end".into(), v));
    }
    for (id, a) in &input.actual {
        dates.push((format!("actual `{id}`"), a.start));
        if let Some(e) = a.end {
            dates.push((format!("actual `{id}`"), e));
        }
    }
    for c in &input.caregivers {
        if c.role.chars().count() > MAX_TEXT {
            return Err(format!("a caregiver role is over {MAX_TEXT} characters"));
        }
        dates.push((format!("caregiver `{}`", c.role), c.from));
        dates.push((format!("caregiver `{}`", c.role), c.to));
    }
    for l in &input.labs {
        if l.test.chars().count() > MAX_TEXT {
            return Err(format!("a lab test name is over {MAX_TEXT} characters"));
        }
        if l.max_age_days > MAX_SPAN_DAYS {
            return Err(format!(
                "lab `{}` age: at most {MAX_SPAN_DAYS} days",
                l.test
            ));
        }
        dates.push((format!("lab `{}`", l.test), l.date));
    }
    for a in &input.additional_infusions {
        dates.push(("additional infusion".into(), a.lymphodepletion));
        dates.push(("additional infusion".into(), a.infusion));
    }
    if let Some((what, d)) = dates.into_iter().find(|(_, d)| far(*d)) {
        return Err(format!(
            "{what}: {d} is more than {MAX_SPAN_DAYS} days from the start ({})",
            input.start
        ));
    }
    if input.case.chars().count() > MAX_TEXT {
        return Err(format!("the case label is over {MAX_TEXT} characters"));
    }
    Ok(())
}

pub fn plan(t: &Template, input: &PlanInput) -> Result<Plan, String> {
    check_limits(input)?;
    for id in input
        .durations
        .keys()
        .chain(input.actual.keys())
        .chain(input.labs.iter().map(|l| &l.step))
    {
        if !t.steps.iter().any(|s| &s.id == id) {
            return Err(format!(
                "unknown step `{id}` (steps: {})",
                t.steps
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for (id, a) in &input.actual {
        if a.end.is_some_and(|e| e < a.start) {
            return Err(format!("actual `{id}` ends before it starts"));
        }
    }
    for c in &input.caregivers {
        if c.to < c.from {
            return Err(format!(
                "caregiver `{}` period ends before it starts",
                c.role
            ));
        }
    }
    if input.additional_infusions.len() > 2 {
        return Err(format!(
            "{} additional infusions: a programme gives at most three in all",
            input.additional_infusions.len()
        ));
    }
    for (i, a) in input.additional_infusions.iter().enumerate() {
        if a.infusion < a.lymphodepletion {
            return Err(format!(
                "additional infusion {}: the infusion ({}) is before its lymphodepletion ({})",
                i + 1,
                a.infusion,
                a.lymphodepletion
            ));
        }
    }
    if input.programme != t.programme {
        return Err(format!(
            "the plan is for `{}` but the template is `{}`",
            input.programme, t.programme
        ));
    }

    // The previous step's last day, as an (earliest, latest) window; None = unknown.
    let mut prev_end: Option<(Date, Date)> = None;
    let mut steps = Vec::with_capacity(t.steps.len());
    for (i, s) in t.steps.iter().enumerate() {
        let set = input.durations.get(&s.id).copied();
        let duration = set.or(s.duration);
        let basis = match (set, s.duration, &s.source) {
            (Some(_), _, _) => Bi::new("set by the coordinator", "由协调员设定"),
            (None, Some(_), Some(src)) => {
                let src = t.sources.iter().find(|x| &x.id == src);
                // A source is cited by its own title (a citation, as published).
                src.map_or_else(
                    || Bi::new("", ""),
                    |x| match x.date {
                        Some(d) => {
                            Bi::new(format!("{} ({d})", x.title), format!("{}（{d}）", x.title))
                        }
                        None => Bi::new(
                            format!("{} (date not shown)", x.title),
                            format!("{}（未注明日期）", x.title),
                        ),
                    },
                )
            }
            (None, Some(_), None) => Bi::new("template default", "模板默认值"),
            (None, None, _) => Bi::new(
                "not published: the coordinator sets it",
                "未公布：由协调员设定",
            ),
        };
        let span = |from: (Date, Date), d: Days| {
            (
                add(from.0, d.min.saturating_sub(1)),
                add(from.1, d.max.saturating_sub(1)),
            )
        };
        let window = if let Some(a) = input.actual.get(&s.id) {
            let end = match a.end {
                Some(e) => Some((e, e)),
                None => duration.map(|d| span((a.start, a.start), d)),
            };
            Some(Window {
                start: (a.start, a.start),
                end,
            })
        } else if i == 0 {
            Some(Window {
                start: (input.start, input.start),
                end: duration.map(|d| span((input.start, input.start), d)),
            })
        } else {
            // Starts the day after the previous step's last day, plus the gap.
            prev_end.map(|(e, l)| {
                let g = s.gap_after_previous;
                let start = (add(e, 1 + g.min), add(l, 1 + g.max));
                Window {
                    start,
                    end: duration.map(|d| span(start, d)),
                }
            })
        };
        let state = match window {
            _ if input.actual.contains_key(&s.id) => StepState::Actual,
            Some(Window { end: Some(_), .. }) => StepState::Planned,
            _ => StepState::NeedsDate,
        };
        prev_end = window.and_then(|w| w.end);
        steps.push(PlannedStep {
            id: s.id.clone(),
            name: s.name.clone(),
            state,
            window,
            day: None,
            duration,
            basis,
        });
    }

    // Days relative to day 0.
    let zero = t
        .steps
        .iter()
        .position(|s| s.day_zero)
        .and_then(|i| steps[i].window.map(|w| w.start.0));
    if let Some(z) = zero {
        for st in &mut steps {
            st.day = st.window.map(|w| z.days_until(w.start.0));
        }
    }

    let conflicts = conflicts(t, input, &steps);
    Ok(Plan {
        programme: t.programme.clone(),
        case: input.case.clone(),
        steps,
        conflicts,
    })
}

fn conflicts(t: &Template, input: &PlanInput, steps: &[PlannedStep]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (s, p) in t.steps.iter().zip(steps) {
        if s.return_home
            && let (Some(visa), Some(w)) = (input.visa_end, p.window)
            && visa < w.start.0
        {
            out.push(Conflict {
                step: s.id.clone(),
                message: Bi::new(
                    format!(
                        "The visa ends on {visa}, before the earliest return home ({}): extend the visa or re-plan.",
                        w.start.0
                    ),
                    format!("签证于 {visa} 到期，早于最早回国日期（{}）：请延签或调整计划。", w.start.0),
                ),
            });
        }
        if s.caregiver_required
            && let Some(w) = p.window
            && let Some(end) = w.end
        {
            // Every day from the earliest start to the latest end needs cover.
            let mut day = w.start.0;
            while day <= end.1 {
                if !input
                    .caregivers
                    .iter()
                    .any(|c| c.from <= day && day <= c.to)
                {
                    out.push(Conflict {
                        step: s.id.clone(),
                        message: Bi::new(
                            format!(
                                "No caregiver is recorded for {day}, within \"{}\" ({} – {}), when one must be available around the clock.",
                                s.name.en, w.start.0, end.1
                            ),
                            format!(
                                "{day} 无照护者记录，该日处于“{}”期间（{} – {}），此期间需全天候照护。",
                                s.name.zh, w.start.0, end.1
                            ),
                        ),
                    });
                    break;
                }
                day = day.add_days(1);
            }
        }
    }
    for lab in &input.labs {
        let Some(p) = steps.iter().find(|p| p.id == lab.step) else {
            continue;
        };
        let Some(w) = p.window else { continue };
        let age_at_latest = lab.date.days_until(w.start.1);
        if age_at_latest > i64::from(lab.max_age_days) {
            out.push(Conflict {
                step: lab.step.clone(),
                message: Bi::new(
                    format!(
                        "{} of {} will be {age_at_latest} days old by {} (the latest start of {}); the window is {} days: repeat it.",
                        lab.test, lab.date, w.start.1, p.name.en, lab.max_age_days
                    ),
                    format!(
                        "{} 的{}结果到 {}（{}最晚开始日）时已有 {age_at_latest} 天，超出 {} 天的有效期：请复查。",
                        lab.date, lab.test, w.start.1, p.name.zh, lab.max_age_days
                    ),
                ),
            });
        }
    }
    out
}

/// The journey templates shipped in `catalogue/journeys/`, compiled in.
pub const SHIPPED: &[(&str, &str)] = &[(
    "satri-cel-nmpa.toml",
    include_str!("../../../catalogue/journeys/satri-cel-nmpa.toml"),
)];

/// The shipped template for a programme.
pub fn shipped(programme: &str) -> Option<Result<Template, JourneyError>> {
    SHIPPED
        .iter()
        .find(|(name, _)| name.trim_end_matches(".toml") == programme)
        .map(|(name, text)| Template::from_toml(name, text))
}
