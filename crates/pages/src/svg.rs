//! Pictures drawn on the server as inline SVG: the journey as a timeline (ranges shown as
//! ranges) and a CLDN18.2 result as a bar of the percentage at each intensity with the
//! programme's threshold. Each picture has a text equivalent on its page; colour is never
//! the only signal (labels and patterns say the same).

use std::fmt::Write as _;

use cellpath_care::journey::{Plan, StepState};
use cellpath_domain::Date;
use cellpath_domain::text::Lang;
use cellpath_domain::{Cldn18Result, Intensity, Staining};

use crate::i18n::{self, tr};

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A programme's CLDN18.2 threshold: at least `percent` of tumour cells at `intensity` or
/// stronger.
#[derive(Clone, Debug)]
pub struct Threshold {
    pub programme: String,
    pub intensity: Intensity,
    pub percent: f64,
}

/// The share of tumour cells at each intensity, strongest first; `None` where the report
/// does not say.
pub fn per_level(r: &Cldn18Result) -> Vec<(Intensity, Option<f64>)> {
    let levels = [
        Intensity::ALL[3],
        Intensity::ALL[2],
        Intensity::ALL[1],
        Intensity::ALL[0],
    ];
    levels
        .iter()
        .map(|l| {
            let v = match &r.staining {
                Staining::PerIntensity(p) => p.at(*l).map(|p| p.value()),
                Staining::Negative => Some(if l.level() == 0 { 100.0 } else { 0.0 }),
                Staining::AtLeast { .. } => None,
            };
            (*l, v)
        })
        .collect()
}

fn intensity_label(i: Intensity) -> String {
    match i.level() {
        0 => "0".to_owned(),
        n => format!("{n}+"),
    }
}

/// The CLDN18.2 bar: one 0–100 % bar split by intensity (strongest first, each part
/// labelled, patterned as well as coloured), with a dashed line at each programme's
/// threshold percentage. [`threshold_lines`] says in words which thresholds are reached.
pub fn cldn_bar(r: &Cldn18Result, thresholds: &[Threshold], lang: Lang) -> String {
    const W: f64 = 400.0;
    const X0: f64 = 10.0;
    const BAR_W: f64 = 380.0;
    const Y: f64 = 40.0;
    let h = 110.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="cldn" viewBox="0 0 {W} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(&summary_text(r, lang))
    );
    // Patterns, so that the levels differ without colour too.
    s.push_str(
        r#"<defs><pattern id="p3" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" class="lvl3"/></pattern><pattern id="p2" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="lvl2"/><line x1="0" y1="0" x2="0" y2="6" class="hatch"/></pattern><pattern id="p1" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" class="lvl1"/><circle cx="3" cy="3" r="1" class="dot"/></pattern></defs>"#,
    );
    let mut x = X0;
    let mut unknown = 100.0;
    for (level, v) in per_level(r) {
        let Some(v) = v else { continue };
        unknown -= v;
        let w = BAR_W * v / 100.0;
        let (fill, label_class) = match level.level() {
            3 => ("url(#p3)", "seglabel on-dark"),
            2 => ("url(#p2)", "seglabel on-mid"),
            1 => ("url(#p1)", "seglabel"),
            _ => ("none", "seglabel"),
        };
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{Y}" width="{w:.1}" height="34" fill="{fill}" class="seg"/>"#
        );
        if w > 64.0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" class="{label_class}" text-anchor="middle">{} · {}</text>"#,
                x + w / 2.0,
                Y + 23.0,
                intensity_label(level),
                esc(&i18n::percent(lang, v))
            );
        } else if w > 24.0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" class="{label_class}" text-anchor="middle">{}</text>"#,
                x + w / 2.0,
                Y + 23.0,
                intensity_label(level)
            );
        }
        x += w;
    }
    if unknown > 0.5 {
        let w = BAR_W * unknown / 100.0;
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{Y}" width="{w:.1}" height="34" class="seg unknown"/>"#
        );
        if w > 80.0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" class="seglabel" text-anchor="middle">{}</text>"#,
                x + w / 2.0,
                Y + 23.0,
                esc(&tr(lang, "cldn-not-reported", &[]))
            );
        }
    }
    // The scale.
    for p in [0, 25, 50, 75, 100] {
        let px = X0 + BAR_W * f64::from(p) / 100.0;
        let anchor = match p {
            0 => "start",
            100 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            r#"<line x1="{px:.1}" y1="76" x2="{px:.1}" y2="82" class="tick"/><text x="{px:.1}" y="98" class="scale" text-anchor="{anchor}">{}</text>"#,
            esc(&i18n::percent(lang, p))
        );
    }
    // One dashed line per threshold value, labelled with the value above the bar.
    let mut drawn: Vec<f64> = Vec::new();
    for t in thresholds {
        if drawn.iter().any(|d| (d - t.percent).abs() < 0.01) {
            continue;
        }
        drawn.push(t.percent);
        let px = X0 + BAR_W * t.percent / 100.0;
        let _ = write!(
            s,
            r#"<line x1="{px:.1}" y1="30" x2="{px:.1}" y2="80" class="threshold"/><text x="{px:.1}" y="24" class="thlabel" text-anchor="middle">{}</text>"#,
            esc(&format!("≥{}", i18n::percent(lang, t.percent)))
        );
    }
    s.push_str("</svg>");
    s
}

/// Each programme's threshold in words, and whether this result reaches it.
pub fn threshold_lines(r: &Cldn18Result, thresholds: &[Threshold], lang: Lang) -> Vec<String> {
    thresholds
        .iter()
        .map(|t| {
            let reached = r.staining.percent_at_or_above(t.intensity);
            let verdict_key = if reached.low >= t.percent {
                "cldn-reaches"
            } else if reached.high < t.percent {
                "cldn-below"
            } else {
                "cldn-cannot-tell"
            };
            let label = tr(
                lang,
                "cldn-threshold",
                &[
                    ("programme", &t.programme),
                    ("percent", &i18n::percent(lang, t.percent)),
                    ("intensity", &intensity_label(t.intensity)),
                ],
            );
            format!("{label} — {}", tr(lang, verdict_key, &[]))
        })
        .collect()
}

fn summary_text(r: &Cldn18Result, lang: Lang) -> String {
    let parts: Vec<String> = per_level(r)
        .into_iter()
        .map(|(l, v)| match v {
            Some(v) => format!("{} {}", intensity_label(l), i18n::percent(lang, v)),
            None => format!(
                "{} {}",
                intensity_label(l),
                tr(lang, "cldn-not-reported", &[])
            ),
        })
        .collect();
    format!("CLDN18.2: {}", parts.join(", "))
}

/// The journey as a timeline: one row a step; a light bar spans every day the step could
/// fall on, a solid bar the days it surely covers; actual dates are solid and marked; a
/// step that cannot be dated yet says so. A line marks today.
pub fn timeline(plan: &Plan, lang: Lang, today: Date) -> String {
    let dated: Vec<(Date, Date)> = plan
        .steps
        .iter()
        .filter_map(|s| s.window)
        .map(|w| (w.start.0, w.end.map_or(w.start.1, |e| e.1)))
        .collect();
    let (Some(first), Some(last)) = (
        dated.iter().map(|d| d.0).min(),
        dated.iter().map(|d| d.1).max(),
    ) else {
        return String::new();
    };
    let span = (first.days_until(last) + 1).max(1) as f64;
    const X0: f64 = 4.0;
    const BAR_W: f64 = 392.0;
    const ROW: f64 = 46.0;
    let xs = |d: Date| X0 + BAR_W * first.days_until(d) as f64 / span;
    let xe = |d: Date| X0 + BAR_W * (first.days_until(d) + 1) as f64 / span;
    let h = 30.0 + ROW * plan.steps.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="timeline" viewBox="0 0 400 {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(&tr(lang, "journey-picture-label", &[]))
    );
    let _ = write!(
        s,
        r#"<text x="{X0}" y="14" class="scale">{}</text><text x="396" y="14" class="scale" text-anchor="end">{}</text>"#,
        esc(&i18n::date(lang, first)),
        esc(&i18n::date(lang, last))
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let y = 26.0 + ROW * i as f64;
        let name = step.name.get(lang);
        // A name longer than the row is squeezed to fit rather than cut off.
        let fit = if label_width(name) > BAR_W {
            format!(r#" textLength="{BAR_W}" lengthAdjust="spacingAndGlyphs""#)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            r#"<text x="{X0}" y="{:.1}" class="steplabel"{fit}>{}</text>"#,
            y + 14.0,
            esc(name)
        );
        let Some(w) = step.window else {
            let _ = write!(
                s,
                r#"<text x="{X0}" y="{:.1}" class="scale">{}</text>"#,
                y + 34.0,
                esc(&tr(lang, "journey-needs-date", &[]))
            );
            continue;
        };
        let (end_early, end_late) = w.end.unwrap_or(w.start);
        let (a, b) = (xs(w.start.0), xe(end_late));
        let class = if step.state == StepState::Actual {
            "bar actual"
        } else {
            "bar range"
        };
        let _ = write!(
            s,
            r#"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="14" rx="3" class="{class}"/>"#,
            y + 20.0,
            (b - a).max(2.0)
        );
        // The days the step surely covers, when there are any.
        if w.start.1 <= end_early && step.state != StepState::Actual {
            let (c, d) = (xs(w.start.1), xe(end_early));
            let _ = write!(
                s,
                r#"<rect x="{c:.1}" y="{:.1}" width="{:.1}" height="14" rx="3" class="bar sure"/>"#,
                y + 20.0,
                (d - c).max(2.0)
            );
        }
        if step.state == StepState::Actual {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="mark">✓</text>"#,
                (b + 3.0).min(390.0),
                y + 32.0
            );
        }
    }
    if first <= today && today <= last {
        let x = xs(today);
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" y1="20" x2="{x:.1}" y2="{:.1}" class="today"/><text x="{:.1}" y="{:.1}" class="scale today-label">{}</text>"#,
            h - 4.0,
            (x + 3.0).min(360.0),
            h - 6.0,
            esc(&tr(lang, "journey-today", &[]))
        );
    }
    s.push_str("</svg>");
    s
}

/// About how wide a step's name is at the timeline's 14 px: CJK characters are square,
/// Latin ones a little over half as wide (a generous estimate, so nothing is cut off).
fn label_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 8.0 } else { 14.5 })
        .sum()
}

/// One monitoring entry on the grade chart.
#[derive(Clone, Debug)]
pub struct GradePoint {
    pub label: String,
    pub crs: u8,
    pub icans: u8,
}

/// CRS and ICANS grades (0–4) over the entries as two step lines: CRS solid with squares,
/// ICANS dashed with circles, so the two differ without colour. The page's table says the
/// same in words.
pub fn grades_chart(points: &[GradePoint], title: &str, axis: &str) -> String {
    const W: f64 = 680.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 70.0;
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 40.0;
    let plot_w = W - LEFT - 20.0;
    let plot_h = H - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |g: u8| TOP + plot_h - plot_h * f64::from(g) / 4.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="grades" viewBox="0 0 {W} {H}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for g in 0..=4u8 {
        let _ = write!(
            out,
            r#"<line class="tick" x1="{LEFT}" x2="{}" y1="{y}" y2="{y}"/><text class="scale" x="{}" y="{}" text-anchor="end">{g}</text>"#,
            W - 20.0,
            LEFT - 8.0,
            y(g) + 4.0,
            y = y(g)
        );
    }
    let _ = write!(
        out,
        r#"<text class="scale" x="12" y="{}" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        esc(axis)
    );
    for (name, class, pick) in [
        (
            "CRS",
            "crs",
            (|p: &GradePoint| p.crs) as fn(&GradePoint) -> u8,
        ),
        ("ICANS", "icans", |p: &GradePoint| p.icans),
    ] {
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p))))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="line {class}" fill="none" points="{}"/>"#,
            path.join(" ")
        );
        for (i, p) in points.iter().enumerate() {
            let (cx, cy) = (x(i), y(pick(p)));
            if class == "crs" {
                let _ = write!(
                    out,
                    r#"<rect class="pt crs" x="{:.1}" y="{:.1}" width="8" height="8"><title>{} {name} {}</title></rect>"#,
                    cx - 4.0,
                    cy - 4.0,
                    esc(&p.label),
                    pick(p)
                );
            } else {
                let _ = write!(
                    out,
                    r#"<circle class="pt icans" cx="{cx:.1}" cy="{cy:.1}" r="4"><title>{} {name} {}</title></circle>"#,
                    esc(&p.label),
                    pick(p)
                );
            }
        }
    }
    // The legend, and the first and last times under the axis.
    let _ = write!(
        out,
        r#"<rect class="pt crs" x="{LEFT}" y="{}" width="8" height="8"/><text class="scale" x="{}" y="{}">CRS</text><circle class="pt icans" cx="{}" cy="{}" r="4"/><text class="scale" x="{}" y="{}">ICANS</text>"#,
        H - 14.0,
        LEFT + 12.0,
        H - 6.0,
        LEFT + 64.0,
        H - 10.0,
        LEFT + 72.0,
        H - 6.0
    );
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            out,
            r#"<text class="scale" x="{}" y="{}" text-anchor="end">{}</text>"#,
            W - 20.0,
            H - 6.0,
            esc(&if points.len() > 1 {
                format!("{} → {}", first.label, last.label)
            } else {
                first.label.clone()
            })
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_step_names_are_fitted_to_the_row() {
        assert!(label_width("Manufacturing of the CAR-T cells, with bridging therapy") > 392.0);
        assert!(label_width("Return home") < 392.0);
        assert!(label_width("CAR-T 细胞制备期（桥接治疗）") < 392.0);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
