//! The planner and the calendar: a moved date re-plans only what follows, ranges stay
//! ranges, unknown durations stay unknown until set, conflicts are found, and the `.ics`
//! parses back with stable UIDs.

use cellpath_care::ics::to_ics;
use cellpath_care::journey::{PlanInput, StepState, Template, plan, shipped};
use cellpath_domain::Date;
use cellpath_domain::text::Lang;

fn template() -> Template {
    shipped("satri-cel-nmpa")
        .expect("shipped")
        .expect("valid template")
}

fn d(s: &str) -> Date {
    Date::parse(s).expect("date")
}

const INPUT: &str = r#"
programme = "satri-cel-nmpa"
case = "example-gastric-1"
start = "2026-12-01"
visa_end = "2027-03-31"

[durations]
screening-visit = [3, 5]
monitoring-near-centre = [28, 28]
first-response-assessment = [1, 1]

[[caregivers]]
role = "daughter"
from = "2026-11-30"
to = "2027-04-30"
"#;

fn input(extra: &str) -> PlanInput {
    toml::from_str(&format!("{INPUT}{extra}")).expect("plan input")
}

#[test]
fn the_shipped_template_cites_or_explains_every_step() {
    let t = template();
    assert!(
        t.steps
            .iter()
            .all(|s| s.source.is_some() || s.note.is_some())
    );
    assert_eq!(t.steps.iter().filter(|s| s.day_zero).count(), 1);
    let m = t
        .steps
        .iter()
        .find(|s| s.id == "manufacturing-and-bridging")
        .expect("step");
    assert!(!m.published && m.note.as_ref().is_some_and(|n| n.en.contains("3–5 weeks")));
}

#[test]
fn ranges_stay_ranges() {
    let p = plan(&template(), &input("")).expect("plan");
    let step = |id: &str| p.steps.iter().find(|s| s.id == id).expect(id);
    let screening = step("screening-visit").window.expect("dated");
    assert_eq!(screening.start, (d("2026-12-01"), d("2026-12-01")));
    assert_eq!(screening.end, Some((d("2026-12-03"), d("2026-12-05"))));
    let manufacturing = step("manufacturing-and-bridging").window.expect("dated");
    // 21–35 days of manufacturing widen the window by 14 days more than leukapheresis did.
    let infusion = step("infusion").window.expect("dated");
    let width = infusion.start.0.days_until(infusion.start.1);
    assert_eq!(
        width,
        2 + 3 + 14 + 3,
        "screening 2 + leukapheresis 3 + manufacturing 14 + gap 3"
    );
    assert!(manufacturing.end.expect("end").0 < infusion.start.0);
    assert_eq!(step("infusion").day, Some(0));
    assert!(step("monitoring-near-centre").day.is_some_and(|x| x > 0));
    assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
}

#[test]
fn unpublished_durations_wait_for_the_coordinator() {
    let mut i = input("");
    i.durations.remove("monitoring-near-centre");
    let p = plan(&template(), &i).expect("plan");
    let states: Vec<(&str, &StepState)> =
        p.steps.iter().map(|s| (s.id.as_str(), &s.state)).collect();
    let at = |id: &str| {
        states
            .iter()
            .find(|(x, _)| *x == id)
            .map(|(_, s)| (*s).clone())
            .expect(id)
    };
    assert_eq!(at("infusion"), StepState::Planned);
    assert_eq!(at("monitoring-near-centre"), StepState::NeedsDate);
    assert_eq!(at("return-home"), StepState::NeedsDate);
    let m = p
        .steps
        .iter()
        .find(|s| s.id == "monitoring-near-centre")
        .expect("m");
    assert!(
        m.window.is_some_and(|w| w.end.is_none()),
        "the start is known, the end is not"
    );
    assert!(m.basis.en.contains("coordinator"));
    // Said in Chinese too (it was English in the Chinese journey: clinical review, issue 27).
    assert_eq!(m.basis.zh, "未公布：由协调员设定");
}

#[test]
fn a_moved_date_replans_only_what_follows() {
    let t = template();
    let before = plan(&t, &input("")).expect("plan");
    let moved = plan(
        &t,
        &input("\n[actual]\nleukapheresis = { start = \"2026-12-20\", end = \"2026-12-21\" }\n"),
    )
    .expect("plan");
    let idx = t
        .steps
        .iter()
        .position(|s| s.id == "leukapheresis")
        .expect("idx");
    for i in 0..idx {
        // Their dates stay; only their distance to day 0 changes.
        let (a, b) = (&before.steps[i], &moved.steps[i]);
        assert_eq!(
            (a.window, &a.state),
            (b.window, &b.state),
            "{} must not move",
            a.id
        );
    }
    assert_eq!(moved.steps[idx].state, StepState::Actual);
    assert_eq!(
        moved.steps[idx].window.expect("w").start,
        (d("2026-12-20"), d("2026-12-20"))
    );
    for i in idx + 1..t.steps.len() {
        let (a, b) = (before.steps[i].window, moved.steps[i].window);
        if let (Some(a), Some(b)) = (a, b) {
            assert!(
                b.start.0 > a.start.0,
                "{} follows the new date",
                t.steps[i].id
            );
        }
    }
    // After an actual date the next window is exact at its start.
    let m = moved.steps[idx + 1].window.expect("manufacturing");
    assert_eq!(m.start, (d("2026-12-22"), d("2026-12-22")));
}

#[test]
fn conflicts_visa_caregiver_and_old_labs() {
    let t = template();
    let mut i = input(
        "\n[[labs]]\ntest = \"blood count\"\ndate = \"2026-12-01\"\nstep = \"lymphodepletion\"\nmax_age_days = 7\n",
    );
    i.visa_end = Some(d("2027-01-10"));
    i.caregivers[0].to = d("2027-01-20");
    let p = plan(&t, &i).expect("plan");
    let steps: Vec<&str> = p.conflicts.iter().map(|c| c.step.as_str()).collect();
    assert!(steps.contains(&"return-home"), "{:?}", p.conflicts);
    assert!(
        steps.contains(&"monitoring-near-centre"),
        "{:?}",
        p.conflicts
    );
    assert!(steps.contains(&"lymphodepletion"), "{:?}", p.conflicts);
    assert!(p.conflicts.iter().all(|c| !c.message.zh.is_empty()));
}

#[test]
fn bad_plans_and_templates_are_refused() {
    let mut i = input("");
    i.durations.insert(
        "nonexistent-step".into(),
        toml::from_str::<toml::Value>("x = [1, 2]")
            .ok()
            .and_then(|v| v.get("x").cloned())
            .and_then(|v| v.try_into().ok())
            .expect("days"),
    );
    assert!(
        plan(&template(), &i)
            .expect_err("unknown step")
            .contains("nonexistent-step")
    );
    assert!(toml::from_str::<PlanInput>(&format!("{INPUT}\nfoo = 1\n")).is_err());
    assert!(toml::from_str::<PlanInput>(&INPUT.replace("[3, 5]", "[5, 3]")).is_err());

    let text = cellpath_care::journey::SHIPPED[0].1;
    let broken = text.replacen("duration = [21, 35]", "duration = [21, 35]\nspeed = 2", 1);
    let e = Template::from_toml("satri-cel-nmpa.toml", &broken).expect_err("unknown field");
    let line = broken
        .lines()
        .position(|l| l.starts_with("speed"))
        .expect("line")
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
    let unsourced = text.replacen("source = \"wustl\"\n", "source = \"nowhere\"\n", 1);
    assert!(
        Template::from_toml("x.toml", &unsourced)
            .expect_err("source")
            .message
            .contains("nowhere")
    );
}

/// A minimal RFC 5545 reader for the test: unfold, then split events into properties.
fn events(ics: &str) -> Vec<Vec<(String, String)>> {
    let unfolded = ics.replace("\r\n ", "");
    let mut out = Vec::new();
    let mut cur: Option<Vec<(String, String)>> = None;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        match line {
            "BEGIN:VEVENT" => cur = Some(Vec::new()),
            "END:VEVENT" => out.extend(cur.take()),
            _ => {
                if let (Some(ev), Some((k, v))) = (cur.as_mut(), line.split_once(':')) {
                    ev.push((k.to_owned(), v.to_owned()));
                }
            }
        }
    }
    out
}

fn prop<'a>(ev: &'a [(String, String)], key: &str) -> &'a str {
    ev.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{key}"))
}

#[test]
fn the_calendar_parses_back() {
    let t = template();
    let p = plan(&t, &input("")).expect("plan");
    let ics = to_ics(&t, &p, Lang::En, d("2026-11-25"));
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "unfolded line of {} octets", line.len());
    }
    let evs = events(&ics);
    assert_eq!(
        evs.len(),
        p.steps.iter().filter(|s| s.window.is_some()).count()
    );
    let infusion = evs
        .iter()
        .find(|e| prop(e, "UID") == "example-gastric-1-infusion@cellpath")
        .expect("infusion");
    let w = p
        .steps
        .iter()
        .find(|s| s.id == "infusion")
        .and_then(|s| s.window)
        .expect("w");
    let ymd = |x: Date| format!("{:04}{:02}{:02}", x.year(), x.month(), x.day());
    assert_eq!(prop(infusion, "DTSTART;VALUE=DATE"), ymd(w.start.0));
    assert_eq!(prop(infusion, "DTSTAMP"), "20261125T000000Z");
    assert_eq!(prop(infusion, "STATUS"), "TENTATIVE");
    let desc = prop(infusion, "DESCRIPTION");
    assert!(desc.contains("Call: The cell therapy ward"), "{desc}");
    assert!(desc.contains("Day +0"));
    assert!(
        desc.contains("\\n") && !desc.contains('\n'),
        "newlines are escaped"
    );
    // UIDs are stable when the plan moves.
    let moved = plan(
        &t,
        &input("\n[actual]\nleukapheresis = { start = \"2026-12-20\" }\n"),
    )
    .expect("plan");
    let uids = |ics: &str| {
        events(ics)
            .iter()
            .map(|e| prop(e, "UID").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        uids(&ics),
        uids(&to_ics(&t, &moved, Lang::En, d("2026-11-26")))
    );
    // Chinese, folded at character boundaries.
    let zh = to_ics(&t, &p, Lang::ZhCn, d("2026-11-25"));
    assert!(std::str::from_utf8(zh.as_bytes()).is_ok());
    assert!(
        events(&zh)
            .iter()
            .any(|e| prop(e, "SUMMARY").contains("回输"))
    );
}

#[test]
fn the_lymphodepletion_length_is_credited_to_the_source_that_gives_it() {
    let t = cellpath_care::journey::shipped("satri-cel-nmpa")
        .expect("template")
        .expect("loads");
    let ld = t
        .steps
        .iter()
        .find(|s| s.id == "lymphodepletion")
        .expect("step");
    // ttm.financial gives the drugs but no days; the 3 days come from CBG131's record.
    assert_eq!(ld.source.as_deref(), Some("crick-nct07394205"));
    assert!(!ld.published);
}

/// The journey's call list is the diary's: every warning sign the diary asks about, in the
/// same words, in both languages, and the low temperature; the unsourced "temperature twice a
/// day" is gone (clinical review, issue 27).
#[test]
fn the_monitoring_step_lists_every_diary_warning_sign() {
    let t = template();
    let step = t
        .steps
        .iter()
        .find(|s| s.id == "monitoring-near-centre")
        .expect("step");
    let en: String = step
        .tasks
        .iter()
        .map(|b| b.en.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let zh: String = step
        .tasks
        .iter()
        .map(|b| b.zh.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for sign in cellpath_care::diary::SIGNS {
        assert!(en.contains(sign.en), "{} is not in the call list", sign.en);
        assert!(zh.contains(sign.zh), "{} is not in the call list", sign.zh);
    }
    assert!(en.contains("below 36.0 °C") && zh.contains("低于 36.0 °C"));
    assert!(!en.contains("twice a day") && !zh.contains("两次"));
}
