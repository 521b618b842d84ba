//! iCalendar (RFC 5545) export of a plan: one all-day event per dated step, with a stable
//! UID per case and step so that re-imports update rather than duplicate, and what to
//! bring and whom to call in the description. Dates are whole days (`VALUE=DATE`), which
//! carry no time zone; the timestamp is UTC.

use std::fmt::Write;

use cellpath_domain::Date;
use cellpath_domain::text::Lang;

use crate::journey::{Plan, StepState, Template};

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (§3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn ymd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

/// A UID-safe form of a label.
fn token(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The calendar for a plan. `stamp` is the day the calendar is produced (DTSTAMP).
pub fn to_ics(t: &Template, plan: &Plan, lang: Lang, stamp: Date) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//cellpath//journey plan//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        fold(line, &mut out);
    }
    fold(
        &format!("X-WR-CALNAME:{}", escape(t.name.get(lang))),
        &mut out,
    );
    let disclaimer = match lang {
        Lang::En => "Planning aid, not medical advice: the treating centre confirms every date.",
        Lang::ZhCn => "仅供计划参考，非医疗建议：所有日期以治疗中心确认为准。",
    };
    for (step, p) in t.steps.iter().zip(&plan.steps) {
        let Some(w) = p.window else { continue };
        let last = w.end.map_or(w.start.1, |e| e.1);
        let mut desc = String::new();
        let zh = lang == Lang::ZhCn;
        let say = |en: String, zh_text: String| if zh { zh_text } else { en };
        let window = match (w.start.0 == w.start.1, w.end) {
            (true, Some(e)) if e.0 == e.1 => format!("{} – {}", w.start.0, e.0),
            (_, Some(e)) => say(
                format!(
                    "start {} to {}, end {} to {}",
                    w.start.0, w.start.1, e.0, e.1
                ),
                format!(
                    "开始 {} 至 {}，结束 {} 至 {}",
                    w.start.0, w.start.1, e.0, e.1
                ),
            ),
            (_, None) => say(
                format!("start {} to {}; duration to be set", w.start.0, w.start.1),
                format!("开始 {} 至 {}；时长待定", w.start.0, w.start.1),
            ),
        };
        let _ = writeln!(desc, "{window}");
        if let Some(d) = p.day {
            let _ = writeln!(
                desc,
                "{}",
                say(format!("Day {d:+}"), format!("第 {d:+} 天"))
            );
        }
        if let Some(d) = p.duration {
            let _ = writeln!(
                desc,
                "{}",
                say(
                    format!("Duration {d}: {}", p.basis.en),
                    format!("时长 {d}：{}", p.basis.zh)
                )
            );
        }
        if let Some(n) = &step.note {
            let _ = writeln!(desc, "{}", n.get(lang));
        }
        for (label, items) in [
            (say("To do".into(), "待办".into()), &step.tasks),
            (say("Bring".into(), "携带".into()), &step.bring),
        ] {
            if !items.is_empty() {
                let _ = writeln!(desc, "{label}:");
                for i in items {
                    let _ = writeln!(desc, "- {}", i.get(lang));
                }
            }
        }
        if let Some(c) = &step.contact {
            let _ = writeln!(
                desc,
                "{}",
                say(
                    format!("Call: {}", c.get(lang)),
                    format!("联系：{}", c.get(lang))
                )
            );
        }
        desc.push_str(disclaimer);
        let tentative = p.state == StepState::Planned
            && (w.start.0 != w.start.1 || w.end.is_none_or(|e| e.0 != e.1));
        fold("BEGIN:VEVENT", &mut out);
        fold(
            &format!("UID:{}-{}@cellpath", token(&plan.case), token(&step.id)),
            &mut out,
        );
        fold(&format!("DTSTAMP:{}T000000Z", ymd(stamp)), &mut out);
        fold(&format!("DTSTART;VALUE=DATE:{}", ymd(w.start.0)), &mut out);
        fold(
            &format!("DTEND;VALUE=DATE:{}", ymd(last.add_days(1))),
            &mut out,
        );
        let summary = if tentative {
            format!("{} (window)", step.name.get(lang))
        } else {
            step.name.get(lang).to_owned()
        };
        fold(&format!("SUMMARY:{}", escape(&summary)), &mut out);
        fold(
            &format!("DESCRIPTION:{}", escape(desc.trim_end())),
            &mut out,
        );
        fold(
            &format!(
                "STATUS:{}",
                if tentative { "TENTATIVE" } else { "CONFIRMED" }
            ),
            &mut out,
        );
        fold("TRANSP:TRANSPARENT", &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}
