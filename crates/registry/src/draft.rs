//! A draft catalogue programme from a registry study: the eligibility text split into its
//! inclusion and exclusion items, and for each item the rule cellpath could encode when it
//! recognises one (age, ECOG, HER2, CLDN18.2 intensity and share, prior lines, washouts) —
//! a *suggestion to confirm*, never a curated criterion. The draft's criteria are all
//! clinician-judgement items; each suggested rule is written beside its item as a comment
//! for the coordinator to check against the protocol and, if right, to encode.

use crate::{Status, Study};

/// Which list an item is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Inclusion,
    Exclusion,
}

impl ItemKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Inclusion => "inclusion",
            Self::Exclusion => "exclusion",
        }
    }
}

/// A rule recognised in an item's words: the catalogue's rule (inline TOML) and what was
/// read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub rule: String,
    pub read: String,
}

/// One item of the eligibility text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    pub text: String,
    pub suggestion: Option<Suggestion>,
}

/// Whether a line starts an item: a bullet (`*`, `-`, `•`) or a number (`1.`, `2)`).
fn bullet(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for b in ["* ", "- ", "• ", "· "] {
        if let Some(rest) = t.strip_prefix(b) {
            return Some(rest);
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 3 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r);
        }
    }
    None
}

fn heading(line: &str) -> Option<ItemKind> {
    let t: String = line
        .trim()
        .trim_matches(|c: char| c == '*' || c == ':' || c == '#')
        .trim()
        .to_lowercase();
    if t.starts_with("inclusion criteria") || t == "inclusion" {
        Some(ItemKind::Inclusion)
    } else if t.starts_with("exclusion criteria") || t == "exclusion" {
        Some(ItemKind::Exclusion)
    } else {
        None
    }
}

/// The items of an eligibility text, in order. Text before any heading counts as
/// inclusion; an indented bullet belongs to the item above it.
pub fn split(text: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut kind = ItemKind::Inclusion;
    let mut open = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(k) = heading(line) {
            kind = k;
            open = false;
            continue;
        }
        // A bullet with nothing after it is no item.
        if bullet(line).is_some_and(|r| r.trim().is_empty()) {
            continue;
        }
        let indented = line.starts_with("  ") || line.starts_with('\t');
        match bullet(line) {
            Some(rest) if !(indented && open) => {
                items.push(Item {
                    kind,
                    text: rest.trim().to_owned(),
                    suggestion: None,
                });
                open = true;
            }
            _ => {
                let rest = bullet(line).unwrap_or(line).trim();
                match items.last_mut() {
                    Some(last) if open => {
                        // A sub-item is its own clause; a wrapped line goes on.
                        last.text
                            .push_str(if bullet(line).is_some() { "; " } else { " " });
                        last.text.push_str(rest);
                    }
                    _ => {
                        items.push(Item {
                            kind,
                            text: rest.to_owned(),
                            suggestion: None,
                        });
                        open = true;
                    }
                }
            }
        }
    }
    for item in &mut items {
        item.suggestion = suggest(&item.text);
    }
    items
}

const NUMBER_WORDS: [(&str, u32); 6] = [
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
];

/// The numbers in a text with where each ends, digits and number words alike.
fn numbers(t: &str) -> Vec<(u32, usize, usize)> {
    let mut out = Vec::new();
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            // A decimal (18.2) is a name or a measure, not a count.
            if i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                continue;
            }
            if let Ok(n) = t[start..i].parse() {
                out.push((n, start, i));
            }
            continue;
        }
        if b[i].is_ascii_alphabetic() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            for (w, n) in NUMBER_WORDS {
                if t[i..].starts_with(w)
                    && !t[i + w.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
                {
                    out.push((n, i, i + w.len()));
                }
            }
        }
        i += 1;
    }
    out
}

/// The rule an item's words encode, when they plainly do.
pub fn suggest(text: &str) -> Option<Suggestion> {
    let t = text.to_lowercase();
    let has = |w: &str| t.contains(w);
    let nums = numbers(&t);
    let after = |at: usize| nums.iter().filter(move |(_, s, _)| *s >= at);
    if let Some(at) = t.find("ecog") {
        let max = after(at)
            .take(3)
            .map(|(n, ..)| *n)
            .filter(|n| *n <= 5)
            .max()?;
        return Some(Suggestion {
            rule: format!("{{ ecog_at_most = {max} }}"),
            read: format!("ECOG at most {max}"),
        });
    }
    if has("cldn18") || has("claudin 18") || has("claudin18") || has("claudin-18") {
        let intensity = ["3+", "2+", "1+"]
            .into_iter()
            .filter_map(|i| t.find(i).map(|at| (at, i)))
            .min()
            .map(|(_, i)| i);
        let percent = nums
            .iter()
            .find(|(_, _, end)| t[*end..].trim_start().starts_with('%'))
            .map(|(n, ..)| *n);
        if let (Some(i), Some(p)) = (intensity, percent.filter(|p| *p <= 100)) {
            return Some(Suggestion {
                rule: format!(
                    "{{ biomarker = {{ marker = \"CLDN18.2\", min_intensity = \"{i}\", min_percent = {p} }} }}"
                ),
                read: format!("CLDN18.2 {i} or stronger in at least {p}% of tumour cells"),
            });
        }
        return None;
    }
    if has("her2") || has("her-2") {
        let status = if has("negative") {
            "negative"
        } else if has("positive") {
            "positive"
        } else {
            return None;
        };
        return Some(Suggestion {
            rule: format!("{{ biomarker = {{ marker = \"HER2\", status = \"{status}\" }} }}"),
            read: format!("HER2-{status}"),
        });
    }
    if has("line")
        && (has("prior") || has("previous") || has("failed") || has("progress"))
        && let Some(at) = t.find("line")
        && let Some((n, ..)) = nums.iter().rev().find(|(_, _, end)| *end <= at)
        && (1..=6).contains(n)
    {
        return Some(Suggestion {
            rule: format!("{{ prior_lines_at_least = {n} }}"),
            read: format!("at least {n} prior lines"),
        });
    }
    if (has("age") || has("years old") || has("year-old") || has("older"))
        && let Some((n, ..)) = nums
            .iter()
            .find(|(_, _, end)| t[*end..].trim_start().starts_with("year"))
        && (has("≥") || has(">=") || has("at least") || has("older") || has("above") || has("aged"))
        && (12..=100).contains(n)
    {
        return Some(Suggestion {
            rule: format!("{{ age_at_least = {n} }}"),
            read: format!("aged {n} or older"),
        });
    }
    if (has("within") || has("prior to") || has("before"))
        && (has("therapy")
            || has("treatment")
            || has("chemotherapy")
            || has("anticancer")
            || has("anti-cancer"))
    {
        for (unit, days) in [("week", 7), ("day", 1)] {
            if let Some((n, ..)) = nums
                .iter()
                .find(|(_, _, end)| t[*end..].trim_start().starts_with(unit))
                && (1..=365).contains(&(n * days))
            {
                let d = n * days;
                return Some(Suggestion {
                    rule: format!("{{ therapy_within_days = {d} }}"),
                    read: format!("anticancer therapy within {d} days"),
                });
            }
        }
    }
    None
}

/// A TOML string value.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A draft catalogue file (TOML) for `study`, made on `today`: every criterion a
/// clinician-judgement item with its suggested rule beside it as a comment. The names and
/// texts stay in the registry's language until translated.
pub fn draft_toml(study: &Study, version: i64, today: &str) -> String {
    render(study, version, today, None)
}

/// What a coordinator decided about one item of the draft, in the order of [`split`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Leave the item out of the programme (a heading read as an item, say).
    pub drop: bool,
    /// Encode the suggested rule (only where there is one): the criterion is decided by
    /// rule instead of by the clinician.
    pub use_rule: bool,
    /// The English text as corrected (`None`: as registered).
    pub en: Option<String>,
    /// The Chinese text (`None`: not yet translated; the English stands in, marked).
    pub zh: Option<String>,
}

/// The programme as a coordinator confirmed it item by item: a dropped item is left out; a
/// confirmed suggestion becomes the criterion's rule; every other item stays a
/// clinician-judgement item. Items without a decision stay as drafted.
pub fn confirmed_toml(study: &Study, version: i64, today: &str, decisions: &[Decision]) -> String {
    render(study, version, today, Some(decisions))
}

fn render(study: &Study, version: i64, today: &str, decisions: Option<&[Decision]>) -> String {
    let id = format!("{}-draft", study.nct_id.as_str().to_lowercase());
    let nct = study.nct_id.as_str();
    // Only a well-formed date goes into the comments and values below: a held study read
    // before dates were checked must not write lines of its own into the draft.
    let updated = study
        .last_update
        .clone()
        .filter(|d| crate::is_registry_date(d))
        .unwrap_or_else(|| today.to_owned());
    let status = match study.status {
        Some(s) if s.is_open() => "open",
        Some(Status::Suspended) => "suspended",
        Some(_) => "closed",
        None => "unknown",
    };
    let header = match decisions {
        None => format!(
            "# DRAFT made on {today} from ClinicalTrials.gov {nct} (version {version} held here, last \
             update posted {updated}).\n\
             # Nothing here is curated. Every criterion is a clinician-judgement item; where cellpath\n\
             # recognised a rule it is written beside the item as a suggestion. To encode one: check it\n\
             # against the protocol, uncomment its `rule`, delete `judgement = true`. Translate the\n\
             # zh-CN texts, set `regions`, rename the file and `id`, then run `cellpath catalogue-check`.\n"
        ),
        Some(_) => format!(
            "# Confirmed item by item on {today} from ClinicalTrials.gov {nct} (version {version} held\n\
             # here, last update posted {updated}). A criterion with a `rule` was confirmed by the\n\
             # coordinator against the protocol; the others are clinician-judgement items. Set\n\
             # `regions`, rename the file and `id`, then run `cellpath catalogue-check`.\n"
        ),
    };
    let mut out = format!(
        "{header}id = {}\nname = {{ en = {}, zh-CN = {} }}\nkind = \"trial\"\nsponsor = {}\n\
         registry_ids = [{}]\nregions = []\n\n[status]\nvalue = \"{status}\"\nas_of = {}\n\
         source = \"ctgov\"\n\n[[sources]]\nid = \"ctgov\"\ntitle = {}\n\
         url = \"https://clinicaltrials.gov/study/{nct}\"\ndate = {}\n",
        quoted(&id),
        quoted(&study.title),
        quoted(&study.title),
        quoted(study.sponsor.as_deref().unwrap_or("not stated")),
        quoted(nct),
        quoted(&updated),
        quoted(&format!(
            "ClinicalTrials.gov {nct} (last update posted {updated})"
        )),
        quoted(&updated),
    );
    let items = split(study.eligibility.as_deref().unwrap_or(""));
    let mut n = [0usize; 2];
    for (i, item) in items.iter().enumerate() {
        let decision = decisions.and_then(|d| d.get(i));
        if decision.is_some_and(|d| d.drop) {
            continue;
        }
        let k = item.kind as usize;
        n[k] += 1;
        let clean = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let en = decision
            .and_then(|d| clean(&d.en))
            .unwrap_or_else(|| item.text.clone());
        let zh = decision.and_then(|d| clean(&d.zh));
        out.push_str(&format!(
            "\n[[criteria]]\nid = \"{}-{}\"\nkind = \"{}\"\ntext = {{ en = {}, zh-CN = {} }}\n",
            item.kind.as_str(),
            n[k],
            item.kind.as_str(),
            quoted(&en),
            quoted(zh.as_deref().unwrap_or(&en)),
        ));
        if decisions.is_some() && zh.is_none() {
            out.push_str("# zh-CN: not yet translated (the English stands in).\n");
        }
        match (&item.suggestion, decision.is_some_and(|d| d.use_rule)) {
            (Some(s), true) => out.push_str(&format!(
                "# Confirmed by the coordinator on {today} — read as: {}\nrule = {}\n",
                s.read, s.rule
            )),
            (Some(s), false) => out.push_str(&format!(
                "# Suggested, to confirm — read as: {}\n# rule = {}\njudgement = true\n",
                s.read, s.rule
            )),
            (None, _) => out.push_str("judgement = true\n"),
        }
        out.push_str(
            "source = \"ctgov\"\nrequest = { en = \"Confirm against the protocol.\", \
             zh-CN = \"请对照研究方案确认。\" }\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Inclusion Criteria:\n\n\
        1. Aged 18 years or older.\n\
        2. Histologically confirmed gastric or GEJ adenocarcinoma\n   with measurable disease.\n\
        3. CLDN18.2 positive: ≥2+ membrane staining in ≥40% of tumour cells.\n\
        4. Failed at least two prior lines of systemic therapy.\n\
        5. ECOG performance status 0 or 1.\n\
        6. HER2-negative.\n\n\
        Exclusion Criteria:\n\n\
        * Anticancer therapy within 4 weeks before the first dose.\n\
        * Active hepatitis B.\n  * HBV DNA above the limit\n";

    #[test]
    fn items_are_split_and_rules_suggested() {
        let items = split(TEXT);
        let got: Vec<(ItemKind, Option<&str>)> = items
            .iter()
            .map(|i| (i.kind, i.suggestion.as_ref().map(|s| s.rule.as_str())))
            .collect();
        assert_eq!(
            got,
            vec![
                (ItemKind::Inclusion, Some("{ age_at_least = 18 }")),
                (ItemKind::Inclusion, None),
                (
                    ItemKind::Inclusion,
                    Some(
                        "{ biomarker = { marker = \"CLDN18.2\", min_intensity = \"2+\", min_percent = 40 } }"
                    )
                ),
                (ItemKind::Inclusion, Some("{ prior_lines_at_least = 2 }")),
                (ItemKind::Inclusion, Some("{ ecog_at_most = 1 }")),
                (
                    ItemKind::Inclusion,
                    Some("{ biomarker = { marker = \"HER2\", status = \"negative\" } }")
                ),
                (ItemKind::Exclusion, Some("{ therapy_within_days = 28 }")),
                (ItemKind::Exclusion, None),
            ]
        );
        assert_eq!(
            items[1].text,
            "Histologically confirmed gastric or GEJ adenocarcinoma with measurable disease."
        );
        assert_eq!(
            items[7].text,
            "Active hepatitis B.; HBV DNA above the limit"
        );
    }

    #[test]
    fn a_confirmed_draft_keeps_what_the_coordinator_decided() {
        let read = crate::read(
            "t.json",
            br#"{"protocolSection":{"identificationModule":{"nctId":"NCT01234567","briefTitle":"T"}}}"#,
        );
        let mut study = read.studies.into_iter().next().expect("study");
        study.eligibility = Some(TEXT.to_owned());
        let mut d = vec![Decision::default(); split(TEXT).len()];
        d[0].use_rule = true;
        d[1].drop = true;
        d[4] = Decision {
            use_rule: false,
            en: Some("ECOG 0 or 1 at screening.".into()),
            zh: Some("筛选时 ECOG 评分 0 或 1。".into()),
            drop: false,
        };
        let toml = confirmed_toml(&study, 1, "2026-11-29", &d);
        assert!(toml.starts_with("# Confirmed item by item on 2026-11-29"));
        assert!(toml.contains("\nrule = { age_at_least = 18 }\n"), "{toml}");
        assert!(!toml.contains("measurable disease"), "dropped");
        assert!(
            toml.contains(
                "en = \"ECOG 0 or 1 at screening.\", zh-CN = \"筛选时 ECOG 评分 0 或 1。\""
            )
        );
        assert!(
            toml.contains("# rule = { ecog_at_most = 1 }\njudgement = true"),
            "not confirmed: a suggestion still"
        );
        // Numbering follows the items kept.
        assert!(toml.contains("id = \"inclusion-5\""));
        assert!(!toml.contains("id = \"inclusion-6\""));
        assert_eq!(toml.matches("not yet translated").count(), 6);
    }

    #[test]
    fn nothing_is_read_into_words_that_do_not_say_it() {
        assert_eq!(suggest("Adequate organ function."), None);
        assert_eq!(suggest("CLDN18.2 expression by central laboratory."), None);
        assert_eq!(suggest("Life expectancy of at least 12 weeks."), None);
    }

    #[test]
    fn empty_bullets_and_odd_text_make_no_empty_items() {
        for text in [
            "- \n*   \n1. \n",
            "Exclusion Criteria:\n-  \n  *  ",
            "ｅｃｏｇ 2+ ２ 18.2.3 %",
        ] {
            assert!(split(text).iter().all(|i| !i.text.is_empty()), "{text:?}");
        }
    }
}
