//! The query language a coordinator types: words, "quoted phrases", `-word` to leave out,
//! and `key:value` filters (`status:recruiting country:china phase:2`). Chinese keys and
//! values work too (`状态:招募中 国家:中国`), and a full-width colon is read as a colon.

use cellpath_registry::{Phase, Status};

use crate::analyzer::{self, is_han};
use crate::terms::{self, TermGroup};

/// A filter's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FacetKey {
    Status,
    Phase,
    Type,
    Country,
    City,
    Sponsor,
    Age,
    Intervention,
}

impl FacetKey {
    /// Where a study is run: a large study has hundreds of these, so above some thousands
    /// of matches their counts are estimated from a sample.
    pub fn is_place(self) -> bool {
        matches!(self, Self::Country | Self::City)
    }

    pub const ALL: [FacetKey; 8] = [
        Self::Status,
        Self::Phase,
        Self::Type,
        Self::Country,
        Self::City,
        Self::Sponsor,
        Self::Age,
        Self::Intervention,
    ];

    /// The key as typed, and the facet's root in the index.
    pub fn name(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Phase => "phase",
            Self::Type => "type",
            Self::Country => "country",
            Self::City => "city",
            Self::Sponsor => "sponsor",
            Self::Age => "age",
            Self::Intervention => "intervention",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_lowercase().as_str() {
            "status" | "状态" => Self::Status,
            "phase" | "分期" | "阶段" => Self::Phase,
            "type" | "类型" => Self::Type,
            "country" | "国家" => Self::Country,
            "city" | "城市" => Self::City,
            "sponsor" | "申办方" | "申办者" => Self::Sponsor,
            "age" | "年龄" => Self::Age,
            "intervention" | "干预" | "干预措施" => Self::Intervention,
            _ => return None,
        })
    }
}

/// The values a closed facet takes (the others take what the records say).
pub fn closed_values(key: FacetKey) -> Option<&'static [&'static str]> {
    match key {
        FacetKey::Status => Some(&[
            "recruiting",
            "not-yet-recruiting",
            "enrolling-by-invitation",
            "active-not-recruiting",
            "suspended",
            "terminated",
            "completed",
            "withdrawn",
            "unknown",
        ]),
        FacetKey::Phase => Some(&[
            "early-phase1",
            "phase1",
            "phase2",
            "phase3",
            "phase4",
            "not-applicable",
        ]),
        FacetKey::Age => Some(&["child", "adult", "older-adult"]),
        _ => None,
    }
}

/// The facet value of a status, as stored.
pub fn status_value(s: Status) -> &'static str {
    match s {
        Status::NotYetRecruiting => "not-yet-recruiting",
        Status::Recruiting => "recruiting",
        Status::EnrollingByInvitation => "enrolling-by-invitation",
        Status::ActiveNotRecruiting => "active-not-recruiting",
        Status::Suspended => "suspended",
        Status::Terminated => "terminated",
        Status::Completed => "completed",
        Status::Withdrawn => "withdrawn",
        Status::Unknown => "unknown",
        Status::Available => "available",
        Status::NoLongerAvailable => "no-longer-available",
        Status::TemporarilyNotAvailable => "temporarily-not-available",
        Status::ApprovedForMarketing => "approved-for-marketing",
        Status::Withheld => "withheld",
    }
}

pub fn phase_value(p: Phase) -> &'static str {
    match p {
        Phase::EarlyPhase1 => "early-phase1",
        Phase::Phase1 => "phase1",
        Phase::Phase2 => "phase2",
        Phase::Phase3 => "phase3",
        Phase::Phase4 => "phase4",
        Phase::NotApplicable => "not-applicable",
    }
}

/// Chinese names of the countries most asked for, read as the records' English names.
const COUNTRIES_ZH: &[(&str, &str)] = &[
    ("中国", "china"),
    ("美国", "united states"),
    ("日本", "japan"),
    ("韩国", "korea, republic of"),
    ("英国", "united kingdom"),
    ("德国", "germany"),
    ("法国", "france"),
    ("新加坡", "singapore"),
    ("澳大利亚", "australia"),
    ("加拿大", "canada"),
];

/// A filter value as the index keeps it, or why it is not one.
fn filter_value(key: FacetKey, raw: &str) -> Result<String, QueryError> {
    let lower = raw.trim().to_lowercase();
    let value = match key {
        FacetKey::Status => match lower.as_str() {
            "招募中" | "正在招募" => Some("recruiting".to_owned()),
            "尚未招募" => Some("not-yet-recruiting".to_owned()),
            "已完成" => Some("completed".to_owned()),
            "已终止" => Some("terminated".to_owned()),
            "暂停" => Some("suspended".to_owned()),
            "进行中" => Some("active-not-recruiting".to_owned()),
            _ => Status::parse(&lower).map(|s| status_value(s).to_owned()),
        },
        FacetKey::Phase => {
            let digits = lower
                .trim_start_matches("phase")
                .trim_start_matches('期')
                .trim();
            match digits {
                "1" | "i" | "一" | "phase1" => Some("phase1".to_owned()),
                "2" | "ii" | "二" => Some("phase2".to_owned()),
                "3" | "iii" | "三" => Some("phase3".to_owned()),
                "4" | "iv" | "四" => Some("phase4".to_owned()),
                _ => Phase::parse(&lower).map(|p| phase_value(p).to_owned()),
            }
        }
        FacetKey::Age => match lower.as_str() {
            "child" | "children" | "儿童" => Some("child".to_owned()),
            "adult" | "adults" | "成人" => Some("adult".to_owned()),
            "older-adult" | "older" | "older_adult" | "老年" | "老年人" => {
                Some("older-adult".to_owned())
            }
            _ => None,
        },
        FacetKey::Country => Some(
            COUNTRIES_ZH
                .iter()
                .find(|(zh, _)| *zh == raw.trim())
                .map(|(_, en)| (*en).to_owned())
                .unwrap_or(lower),
        ),
        _ => Some(lower),
    };
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(QueryError::BadValue {
            key,
            value: raw.to_owned(),
            allowed: closed_values(key).unwrap_or(&[]).join(", "),
        }),
    }
}

/// What a query could not be read for. The web layer words it in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "unknown filter `{key}:` (known: status, phase, type, country, city, sponsor, age, intervention)"
    )]
    UnknownKey { key: String },
    #[error("`{key}:{value}` is not a value of {key} (one of: {allowed})", key = key.name())]
    BadValue {
        key: FacetKey,
        value: String,
        allowed: String,
    },
    #[error("a quote is opened and not closed")]
    UnclosedQuote,
    #[error("the query is {0} characters; at most {MAX_QUERY_CHARS}")]
    TooLong(usize),
}

pub const MAX_QUERY_CHARS: usize = 500;

/// One thing the query asks the text for: any of its alternatives (each a phrase of terms).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Clause {
    /// As typed.
    pub text: String,
    pub alternatives: Vec<Vec<String>>,
    /// The term table's group that expanded it, when one did.
    pub group: Option<&'static str>,
    /// Chinese typed that the table does not hold: searched as written.
    pub untranslated: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Parsed {
    pub clauses: Vec<Clause>,
    pub excluded: Vec<Clause>,
    pub filters: Vec<(FacetKey, String)>,
}

impl Parsed {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty() && self.excluded.is_empty() && self.filters.is_empty()
    }
}

/// Splits on spaces, keeping "quoted phrases" whole (quotes removed, flagged).
fn chunks(q: &str) -> Result<Vec<(String, bool)>, QueryError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in q.chars() {
        match c {
            '"' | '“' | '”' => {
                quoted = !quoted;
                was_quoted = true;
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), was_quoted));
                }
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(QueryError::UnclosedQuote);
    }
    if !cur.is_empty() {
        out.push((cur, was_quoted));
    }
    Ok(out)
}

fn group_clause(text: &str, g: &'static TermGroup) -> Clause {
    let mut alternatives: Vec<Vec<String>> = g.en.iter().map(|en| analyzer::terms(en)).collect();
    // Chinese text in records is found too.
    alternatives.extend(g.zh.iter().map(|zh| analyzer::terms(zh)));
    alternatives.retain(|a| !a.is_empty());
    alternatives.dedup();
    Clause {
        text: text.to_owned(),
        alternatives,
        group: Some(g.id),
        untranslated: false,
    }
}

/// The clauses of free text: table terms expanded, Chinese outside the table segmented.
fn text_clauses(text: &str, quoted: bool) -> Vec<Clause> {
    let terms = analyzer::terms(text);
    if terms.is_empty() {
        return Vec::new();
    }
    if let Some(g) = terms::by_en_terms(&terms).or_else(|| terms::by_zh(text)) {
        return vec![group_clause(text, g)];
    }
    if quoted || !text.chars().any(is_han) {
        return vec![Clause {
            text: text.to_owned(),
            alternatives: vec![terms],
            group: None,
            untranslated: false,
        }];
    }
    // Mixed or Chinese: walk it, taking the table's longest Chinese form at each place.
    let mut out = Vec::new();
    let mut rest = text;
    let mut plain = String::new();
    let flush = |plain: &mut String, out: &mut Vec<Clause>| {
        if plain.is_empty() {
            return;
        }
        let words = analyzer::pieces(plain);
        let mut latin = String::new();
        for w in words {
            if w.text.chars().any(is_han) {
                if !latin.is_empty() {
                    out.extend(text_clauses(&std::mem::take(&mut latin), false));
                }
                out.push(Clause {
                    text: w.text.clone(),
                    alternatives: vec![vec![w.text]],
                    group: None,
                    untranslated: true,
                });
            } else {
                latin.push_str(&plain[w.from..w.to]);
                latin.push(' ');
            }
        }
        if !latin.trim().is_empty() {
            // Latin words between Chinese ones stay one phrase (`CAR-T`).
            let t = latin.trim().replace(' ', "-");
            out.extend(text_clauses(&t, false));
        }
        plain.clear();
    };
    while let Some(c) = rest.chars().next() {
        if let Some((zh, g)) = terms::longest_zh_prefix(rest) {
            flush(&mut plain, &mut out);
            out.push(group_clause(zh, g));
            rest = &rest[zh.len()..];
        } else {
            plain.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    flush(&mut plain, &mut out);
    out
}

/// Reads a query.
pub fn parse(q: &str) -> Result<Parsed, QueryError> {
    let len = q.chars().count();
    if len > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong(len));
    }
    let q = q.replace('：', ":");
    let mut parsed = Parsed::default();
    for (chunk, quoted) in chunks(&q)? {
        if !quoted && let Some((key, value)) = chunk.split_once(':') {
            let key_ok = !key.is_empty() && key.chars().all(|c| c.is_alphabetic() || c == '_');
            if key_ok && !value.is_empty() {
                let Some(k) = FacetKey::parse(key) else {
                    return Err(QueryError::UnknownKey {
                        key: key.to_owned(),
                    });
                };
                let v = filter_value(k, value)?;
                if !parsed.filters.contains(&(k, v.clone())) {
                    parsed.filters.push((k, v));
                }
                continue;
            }
        }
        if !quoted
            && let Some(rest) = chunk.strip_prefix('-')
            && !rest.is_empty()
        {
            parsed.excluded.extend(text_clauses(rest, false));
            continue;
        }
        parsed.clauses.extend(text_clauses(&chunk, quoted));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coordinators_example_reads_as_two_expanded_terms_and_two_filters() {
        let p = parse("cldn18.2 car-t status:recruiting country:china").expect("parses");
        assert_eq!(p.clauses.len(), 2);
        assert_eq!(p.clauses[0].group, Some("cldn18-2"));
        assert!(p.clauses[0].alternatives.contains(&vec![
            "claudin".into(),
            "18".into(),
            "2".into()
        ]));
        assert_eq!(p.clauses[1].group, Some("car-t"));
        assert!(
            p.clauses[1]
                .alternatives
                .iter()
                .any(|a| a == &["chimeric", "antigen", "receptor"])
        );
        assert_eq!(
            p.filters,
            [
                (FacetKey::Status, "recruiting".into()),
                (FacetKey::Country, "china".into())
            ]
        );
    }

    #[test]
    fn chinese_queries_expand_through_the_table() {
        let p = parse("胃癌 CAR-T").expect("parses");
        assert_eq!(p.clauses[0].group, Some("gastric-cancer"));
        assert!(
            p.clauses[0]
                .alternatives
                .contains(&vec!["gastric".into(), "cancer".into()])
        );
        assert_eq!(p.clauses[1].group, Some("car-t"));

        let p = parse("紧密连接蛋白 18.2").expect("parses");
        assert_eq!(p.clauses[0].group, Some("claudin"));
        assert_eq!(p.clauses[1].alternatives, [["18", "2"]]);

        let p = parse("胃癌CAR-T 状态：招募中 国家:中国").expect("parses");
        let groups: Vec<_> = p.clauses.iter().map(|c| c.group).collect();
        assert_eq!(groups, [Some("gastric-cancer"), Some("car-t")]);
        assert_eq!(
            p.filters,
            [
                (FacetKey::Status, "recruiting".into()),
                (FacetKey::Country, "china".into())
            ]
        );
    }

    #[test]
    fn chinese_outside_the_table_is_searched_as_written_and_said_so() {
        let p = parse("胃癌 骨髓").expect("parses");
        assert!(p.clauses[1].untranslated, "{p:?}");
    }

    #[test]
    fn bad_filters_and_quotes_are_named() {
        assert_eq!(
            parse("colour:red").expect_err("refused"),
            QueryError::UnknownKey {
                key: "colour".into()
            }
        );
        assert!(matches!(
            parse("status:sleeping").expect_err("refused"),
            QueryError::BadValue {
                key: FacetKey::Status,
                ..
            }
        ));
        assert_eq!(
            parse("\"gastric cancer").expect_err("refused"),
            QueryError::UnclosedQuote
        );
        assert!(matches!(
            parse(&"a ".repeat(400)).expect_err("refused"),
            QueryError::TooLong(800)
        ));
    }

    #[test]
    fn phrases_exclusions_and_times_are_kept() {
        let p = parse("\"signet ring\" -pancreatic 10:30").expect("parses");
        assert_eq!(p.clauses[0].alternatives, [["signet", "ring"]]);
        assert_eq!(p.excluded[0].group, None);
        assert_eq!(p.excluded[0].alternatives, [["pancreatic"]]);
        // "10:30" is not a filter: its key is not a word.
        assert_eq!(p.clauses[1].alternatives, [["10", "30"]]);
    }
}
