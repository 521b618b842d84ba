//! The pages' words, from one set of Fluent files (`locales/en/pages.ftl`,
//! `locales/zh-CN/pages.ftl`), and dates and numbers written the way each language writes
//! them. A key missing in a language shows as `⟦key⟧`, which the tests look for on every
//! page; a unit test also checks both files hold the same keys.

use std::sync::OnceLock;

use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub const EN: &str = include_str!("../../../locales/en/pages.ftl");
pub const ZH: &str = include_str!("../../../locales/zh-CN/pages.ftl");

struct Bundles {
    en: FluentBundle<FluentResource>,
    zh: FluentBundle<FluentResource>,
}

fn bundle(tag: &str, text: &str) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // No bidirectional isolation marks: both languages run left to right, and the marks
    // would land inside attribute values and copied text.
    b.set_use_isolating(false);
    // A resource with a syntax error keeps what parsed; the unit test fails on the error.
    let res = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(res, _)| res);
    let _ = b.add_resource(res);
    b
}

fn bundles() -> &'static Bundles {
    static B: OnceLock<Bundles> = OnceLock::new();
    B.get_or_init(|| Bundles {
        en: bundle("en", EN),
        zh: bundle("zh-CN", ZH),
    })
}

/// The text of `key` in `lang`, with its arguments.
pub fn tr(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let b = match lang {
        Lang::En => &bundles().en,
        Lang::ZhCn => &bundles().zh,
    };
    let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
        return format!("⟦{key}⟧");
    };
    let mut fargs = FluentArgs::new();
    for (k, v) in args {
        // A whole number goes in as a number, so plural forms (`[one]`) can choose.
        match v.parse::<i64>() {
            Ok(n) if n.to_string() == *v => fargs.set(*k, FluentValue::from(n)),
            _ => fargs.set(*k, FluentValue::from(*v)),
        }
    }
    let mut errors = Vec::new();
    let out = b.format_pattern(pattern, (!args.is_empty()).then_some(&fargs), &mut errors);
    if errors.is_empty() {
        out.into_owned()
    } else {
        format!("⟦{key}⟧")
    }
}

/// Whether the key exists (for texts chosen from data, such as a case state).
pub fn has(key: &str) -> bool {
    bundles().en.has_message(key) && bundles().zh.has_message(key)
}

/// A date as the reader writes it: "28 Nov 2026" / "2026年11月28日".
pub fn date(lang: Lang, d: Date) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        Lang::En => format!(
            "{} {} {}",
            d.day(),
            MONTHS[usize::from(d.month().clamp(1, 12) - 1)],
            d.year()
        ),
        Lang::ZhCn => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
    }
}

/// A stored timestamp (RFC 3339, UTC) as a date and time: "28 Nov 2026, 14:05 UTC".
pub fn timestamp(lang: Lang, ts: &str) -> String {
    let Some(day) = ts.get(..10).and_then(|d| Date::parse(d).ok()) else {
        return ts.to_owned();
    };
    let time = ts.get(11..16).unwrap_or("");
    match lang {
        Lang::En => format!("{}, {time} UTC", date(lang, day)),
        Lang::ZhCn => format!("{} {time}（UTC）", date(lang, day)),
    }
}

/// A range of dates; one date when both ends agree.
pub fn date_range(lang: Lang, from: Date, to: Date) -> String {
    if from == to {
        date(lang, from)
    } else {
        match lang {
            Lang::En => format!("{} – {}", date(lang, from), date(lang, to)),
            Lang::ZhCn => format!("{}至{}", date(lang, from), date(lang, to)),
        }
    }
}

/// A size in bytes as the reader would say it (decimal units, one decimal place).
pub fn size(lang: Lang, bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    let (v, unit) = if b >= 1e6 {
        (b / 1e6, "MB")
    } else if b >= 1e3 {
        (b / 1e3, "kB")
    } else {
        return match lang {
            Lang::En => format!("{bytes} bytes"),
            Lang::ZhCn => format!("{bytes} 字节"),
        };
    };
    format!("{v:.1} {unit}")
}

/// A percentage: "45 %" in English (SI spacing, as the clinical texts write it), "45%" in
/// Chinese.
pub fn percent(lang: Lang, v: impl std::fmt::Display) -> String {
    match lang {
        Lang::En => format!("{v} %"),
        Lang::ZhCn => format!("{v}%"),
    }
}

/// The `lang` attribute of a page in this language.
pub fn html_lang(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::ZhCn => "zh-Hans",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter(|l| {
                l.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_uppercase())
            })
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
            .collect()
    }

    #[test]
    fn both_languages_parse_and_hold_the_same_keys() {
        for (name, text) in [("en", EN), ("zh-CN", ZH)] {
            if let Err((_, errors)) = FluentResource::try_new(text.to_owned()) {
                panic!("locales/{name}/pages.ftl does not parse: {errors:?}");
            }
        }
        let (en, zh) = (keys(EN), keys(ZH));
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in zh-CN: {only_en:?}");
        assert!(only_zh.is_empty(), "missing in en: {only_zh:?}");
        assert!(en.len() > 50, "only {} keys read", en.len());
    }

    /// Every key the templates and the code ask for exists in both languages.
    #[test]
    fn every_key_used_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut used = BTreeSet::new();
        for sub in ["templates", "src"] {
            for entry in std::fs::read_dir(format!("{dir}{sub}")).expect("readable") {
                let path = entry.expect("entry").path();
                let text = std::fs::read_to_string(&path).expect("text");
                for pat in [
                    "f.t(\"",
                    "f.ta(\"",
                    "tr(lang, \"",
                    "tr(s.lang, \"",
                    "tr(v.lang, \"",
                    "tr(self.lang, \"",
                    "s.frame(\"",
                    "Frame::visitor(&v, \"",
                ] {
                    for (i, _) in text.match_indices(pat) {
                        let rest = &text[i + pat.len()..];
                        if let Some(end) = rest.find('"') {
                            let key = &rest[..end];
                            if !key.is_empty() && !key.contains('{') && key != "key" {
                                used.insert((key.to_owned(), path.display().to_string()));
                            }
                        }
                    }
                }
            }
        }
        assert!(used.len() > 50, "only {} uses found", used.len());
        let missing: Vec<_> = used.iter().filter(|(k, _)| !has(k)).collect();
        assert!(missing.is_empty(), "keys used but not defined: {missing:?}");
    }

    #[test]
    fn dates_and_numbers_per_language() {
        let d = Date::parse("2026-03-07").expect("date");
        assert_eq!(date(Lang::En, d), "7 Mar 2026");
        assert_eq!(date(Lang::ZhCn, d), "2026年3月7日");
        assert_eq!(
            timestamp(Lang::En, "2026-03-07T09:05:00Z"),
            "7 Mar 2026, 09:05 UTC"
        );
        assert_eq!(percent(Lang::ZhCn, 75), "75%");
        assert_eq!(size(Lang::En, 1_500_000), "1.5 MB");
        assert_eq!(tr(Lang::En, "no-such-key", &[]), "⟦no-such-key⟧");
        assert_eq!(tr(Lang::En, "work-total", &[("n", "1")]), "1 case");
        assert_eq!(tr(Lang::En, "work-total", &[("n", "30")]), "30 cases");
    }

    /// Missing information is unknown both ways (clinical review, issue 27): it said "may well
    /// meet the criteria" (zh "很可能符合").
    #[test]
    fn missing_information_is_not_said_to_be_likely_to_qualify() {
        let en = tr(Lang::En, "verdict-needs-information-not-means", &[]);
        let zh = tr(Lang::ZhCn, "verdict-needs-information-not-means", &[]);
        assert!(
            en.contains("may or may not") && !en.contains("may well"),
            "{en}"
        );
        assert!(
            zh.contains("也可能不符合") && !zh.contains("很可能"),
            "{zh}"
        );
    }
}
