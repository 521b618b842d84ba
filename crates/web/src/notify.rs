//! Notifications as each audience reads them, and their delivery by e-mail.
//!
//! On the site a notification says what happened, to whom and what to do — a safety alert
//! names the patient, its severity and what the family reported, for the team; the family
//! reads the team's receipt. Repeats of one thing are grouped. By e-mail (the [`Channel`],
//! SMTP today) only a subject and a link go out: no clinical text, no name. E-mails wait in
//! an outbox written with the change that calls for them and are sent after it commits, by
//! every server in turn (each takes one message at a time), with retries.

use cellpath_domain::text::{Bi, Lang};
use cellpath_store::{AlertAction, AlertSeverity, rfc3339};
use serde::Serialize;

use crate::alerts::{AlertView, action_words, severity_words};
use crate::error::ApiError;
use crate::mail::Mail;
use crate::policy::Action;
use crate::{Actor, Shared};

/// A notification, or several of one thing, as a reader sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// The notifications it stands for, newest first.
    pub ids: Vec<String>,
    pub kind: String,
    pub case_id: Option<String>,
    /// In the reader's language.
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<AlertSeverity>,
    /// How many notifications it groups.
    pub count: usize,
    /// The newest one's time (RFC 3339 UTC).
    pub created_at: String,
    /// Any of them unread.
    pub unread: bool,
    /// The page to open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// A time as the family and the team at the centre read it: "21:02 (UTC+08:00)" with the
/// centre's offset, "13:02 UTC" without.
pub fn clock_time(ts: &str, offset: Option<cellpath_care::journey::UtcOffset>) -> String {
    let Some(secs) = cellpath_store::parse_rfc3339(ts) else {
        return ts.to_owned();
    };
    match offset {
        Some(o) => {
            let local = secs.saturating_add_signed(i64::from(o.minutes()) * 60);
            let t = rfc3339(local);
            format!("{} (UTC{})", &t[11..16], o.text())
        }
        None => format!("{} UTC", &rfc3339(secs)[11..16]),
    }
}

/// The patient as the team names them on the site.
async fn patient_name(state: &Shared, case_id: &str) -> Result<String, ApiError> {
    let Some(case) = state.store.case(case_id).await? else {
        return Ok(case_id.to_owned());
    };
    Ok(match state.store.user(&case.owner_id).await? {
        Some(u) => u.display_name.unwrap_or(u.email),
        None => case_id.to_owned(),
    })
}

async fn alert_text(
    state: &Shared,
    lang: Lang,
    kind: &str,
    case_id: &str,
    alert: &AlertView,
) -> Result<(String, Option<AlertSeverity>), ApiError> {
    let (_, offset) = crate::care::centre_contacts(state, case_id).await?;
    let at = clock_time(&alert.row.raised_at, offset);
    let what = alert.reported.words(lang);
    let sev = alert.row.severity;
    let sev_words = severity_words(sev).get(lang).to_owned();
    Ok(match kind {
        "safety-alert-acknowledged" => {
            let text = match &alert.row.ack {
                Some(k) => {
                    let who = k.user_name.clone().unwrap_or_else(|| match lang {
                        Lang::En => "a member of the team".into(),
                        Lang::ZhCn => "团队成员".into(),
                    });
                    let when = clock_time(&k.at, offset);
                    let did = action_words(k.action).get(lang).to_owned();
                    Bi::new(
                        format!("The team answered your report of {at}: {who} {did} at {when}."),
                        format!("团队已回应您 {at} 的报告：{who}于 {when} {did}。"),
                    )
                }
                None => Bi::new(
                    format!("The team acknowledged your report of {at}."),
                    format!("团队已确认您 {at} 的报告。"),
                ),
            };
            (text.get(lang).to_owned(), None)
        }
        "safety-alert-escalated" => {
            let patient = patient_name(state, case_id).await?;
            (
                Bi::new(
                    format!(
                        "{sev_words} safety alert, escalated — {patient}: nobody has acknowledged the family's report of {what} ({at}). Call the family back, then acknowledge it."
                    ),
                    format!(
                        "{sev_words}安全警报（已升级）— {patient}：家属 {at} 报告的{what}尚无人确认。请回电家属，然后确认警报。"
                    ),
                )
                .get(lang)
                .to_owned(),
                Some(sev),
            )
        }
        _ => {
            let patient = patient_name(state, case_id).await?;
            (
                Bi::new(
                    format!(
                        "{sev_words} safety alert — {patient}: the family reported {what} at {at}. Call the family back, then acknowledge it."
                    ),
                    format!(
                        "{sev_words}安全警报 — {patient}：家属于 {at} 报告{what}。请回电家属，然后确认警报。"
                    ),
                )
                .get(lang)
                .to_owned(),
                Some(sev),
            )
        }
    })
}

async fn monitoring_text(
    state: &Shared,
    lang: Lang,
    case_id: &str,
    monitoring_id: &str,
) -> Result<String, ApiError> {
    let patient = patient_name(state, case_id).await?;
    let row = state
        .store
        .monitoring(case_id)
        .await?
        .into_iter()
        .find(|m| m.id == monitoring_id);
    let (_, offset) = crate::care::centre_contacts(state, case_id).await?;
    Ok(match row {
        Some(m) => {
            let at = clock_time(&m.at, offset);
            Bi::new(
                format!(
                    "Monitoring alert — {patient}: CRS grade {}, ICANS grade {} at {at}. Review the entry and acknowledge it.",
                    m.crs_grade, m.icans_grade
                ),
                format!(
                    "监测警报 — {patient}：{at} CRS {} 级、ICANS {} 级。请查看该记录并确认。",
                    m.crs_grade, m.icans_grade
                ),
            )
        }
        None => Bi::new(
            format!("Monitoring alert — {patient}: review the case's monitoring."),
            format!("监测警报 — {patient}：请查看病例的监测记录。"),
        ),
    }
    .get(lang)
    .to_owned())
}

/// The page a notification opens.
fn page_of(kind: &str, case_id: &str, alert_id: Option<&str>) -> String {
    match (kind, alert_id) {
        ("safety-alert" | "safety-alert-escalated", Some(a)) => {
            format!("/cases/{case_id}/monitoring#alert-{a}")
        }
        ("safety-alert-acknowledged", Some(a)) => format!("/cases/{case_id}/diary#receipt-{a}"),
        ("monitoring-alert", _) => format!("/cases/{case_id}/monitoring"),
        ("message", _) => format!("/cases/{case_id}/messages"),
        _ => format!("/cases/{case_id}"),
    }
}

/// One's notifications, newest first, in `lang`: only for cases one may still open (a
/// notice does not outlive the access it was sent under), repeats of one thing grouped.
pub async fn notices(state: &Shared, actor: &Actor, lang: Lang) -> Result<Vec<Notice>, ApiError> {
    let list = state.store.notifications(&actor.id).await?;
    let mut may_open: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut alerts: std::collections::HashMap<String, Vec<AlertView>> =
        std::collections::HashMap::new();
    let mut out: Vec<Notice> = Vec::new();
    // Grouping key → index in `out`.
    let mut seen: std::collections::HashMap<(String, Option<String>, Option<String>), usize> =
        std::collections::HashMap::new();
    for n in &list {
        if let Some(case_id) = &n.case_id {
            let may = match may_open.get(case_id) {
                Some(m) => *m,
                None => {
                    let m = state
                        .authorise(actor, case_id, Action::ReadCase)
                        .await
                        .is_ok();
                    may_open.insert(case_id.clone(), m);
                    m
                }
            };
            if !may {
                continue;
            }
        }
        let key = (n.kind.clone(), n.case_id.clone(), n.alert_id.clone());
        if let Some(&i) = seen.get(&key) {
            let g = &mut out[i];
            g.ids.push(n.id.clone());
            g.count += 1;
            g.unread |= n.read_at.is_none();
            continue;
        }
        let (text, severity) = match (&n.case_id, &n.alert_id) {
            (Some(case_id), Some(alert_id)) if n.kind.starts_with("safety-alert") => {
                if !alerts.contains_key(case_id) {
                    alerts.insert(
                        case_id.clone(),
                        crate::alerts::of_case(state, case_id).await?,
                    );
                }
                match alerts
                    .get(case_id)
                    .and_then(|l| l.iter().find(|a| &a.row.id == alert_id))
                {
                    Some(a) => alert_text(state, lang, &n.kind, case_id, a).await?,
                    None => (notice(&n.kind).get(lang).to_owned(), None),
                }
            }
            (Some(case_id), Some(mid)) if n.kind == "monitoring-alert" => {
                (monitoring_text(state, lang, case_id, mid).await?, None)
            }
            _ => (notice(&n.kind).get(lang).to_owned(), None),
        };
        seen.insert(key, out.len());
        out.push(Notice {
            ids: vec![n.id.clone()],
            kind: n.kind.clone(),
            case_id: n.case_id.clone(),
            text,
            severity,
            count: 1,
            created_at: n.created_at.clone(),
            unread: n.read_at.is_none(),
            page: n
                .case_id
                .as_deref()
                .map(|c| page_of(&n.kind, c, n.alert_id.as_deref())),
        });
    }
    Ok(out)
}

/// What a notification says where it has no details of its own, in the reader's language:
/// never clinical text, only that something needs attention, and where.
pub fn notice(kind: &str) -> Bi {
    match kind {
        "message" => Bi::new("New message on your case.", "您的病例有一条新消息。"),
        "safety-alert" | "safety-alert-escalated" | "monitoring-alert" => Bi::new(
            "A safety alert on a case you treat needs you now: open the case.",
            "您负责的病例有一条安全警报需要您立即处理：请打开病例。",
        ),
        "safety-alert-acknowledged" => Bi::new(
            "The team answered the warning you reported.",
            "团队已回应您报告的预警情况。",
        ),
        "diary-warning" => Bi::new(
            "The home diary records something that needs attention: open the case.",
            "居家日记记录了需要关注的情况：请打开病例查看。",
        ),
        "mdt-assignment" => Bi::new(
            "You are asked for an MDT opinion on a case.",
            "请您就一个病例提供多学科团队（MDT）意见。",
        ),
        "mdt-consensus" => Bi::new(
            "An MDT consensus on a case you review is ready to sign.",
            "您参与审阅的病例的多学科团队（MDT）共识已可签署。",
        ),
        "programme-source-changed" => Bi::new(
            "A registry study a programme of your case rests on changed: its screening awaits review or a re-run.",
            "您病例所涉项目依据的一项注册研究有变更：该病例的预筛有待复核或重新运行。",
        ),
        "programme-closed" => Bi::new(
            "A registry study a programme of your case rests on stopped recruiting: the case was screened again.",
            "您病例所涉项目依据的一项注册研究已停止招募：已对该病例重新预筛。",
        ),
        _ => Bi::new(
            "Something needs your attention on your case.",
            "您的病例有需要关注的内容。",
        ),
    }
}

fn pair(subject: (&str, &str), lead: (&str, &str)) -> (Bi, Bi) {
    (Bi::new(subject.0, subject.1), Bi::new(lead.0, lead.1))
}

/// The e-mail for a notification of `kind`: a subject and a link, never clinical text.
pub fn mail_for(kind: &str, lang: Lang, url: &str, account_url: &str) -> Mail {
    let (subject, lead) = match kind {
        "safety-alert" | "safety-alert-escalated" => pair(
            (
                "cellpath: a safety alert needs you now",
                "cellpath：有一条安全警报需要您立即处理",
            ),
            (
                "A family has reported a warning sign at home on a case you treat. Open the alert, call them back and acknowledge it:",
                "您负责的一个病例的家属在家中报告了预警症状。请打开警报、回电家属并确认警报：",
            ),
        ),
        "monitoring-alert" => pair(
            (
                "cellpath: a monitoring alert needs your review",
                "cellpath：有一条监测警报需要您查看",
            ),
            (
                "A monitoring entry on a case you treat raised an alert. Review and acknowledge it:",
                "您负责的一个病例的监测记录触发了警报。请查看并确认：",
            ),
        ),
        "safety-alert-acknowledged" => pair(
            (
                "cellpath: the team answered your report",
                "cellpath：团队已回应您的报告",
            ),
            (
                "The treating team acknowledged the warning you reported. See who answered and when:",
                "治疗团队已确认您报告的预警情况。查看回应人及时间：",
            ),
        ),
        _ => pair(
            (
                "cellpath: something needs your attention",
                "cellpath：有内容需要您关注",
            ),
            (
                "Something on a case you follow needs your attention:",
                "您关注的病例有内容需要您关注：",
            ),
        ),
    };
    let footer = Bi::new(
        format!(
            "This e-mail holds no health information: sign in to read it. To stop e-mails, turn them off on your account page: {account_url}"
        ),
        format!(
            "本邮件不含任何健康信息：请登录查看。如不想再收到邮件，请在账户页面关闭：{account_url}"
        ),
    );
    Mail {
        subject: subject.get(lang).to_owned(),
        body: format!("{}\n\n{url}\n\n{}\n", lead.get(lang), footer.get(lang)),
    }
}

/// An error's text without anything that looks like an e-mail address (servers quote the
/// recipient in their refusals; the outbox and the log keep no personal data).
fn redacted(error: &str) -> String {
    error
        .split_whitespace()
        .map(|w| if w.contains('@') { "[address]" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long to wait before the next try of an e-mail that failed `attempts` times; `None`
/// after the last (about a day in all).
fn retry_after(attempts: i64) -> Option<u64> {
    const WAITS: [u64; 8] = [30, 120, 600, 1_800, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600];
    usize::try_from(attempts)
        .ok()
        .and_then(|i| WAITS.get(i))
        .copied()
}

/// Sends the e-mails that are due (the server calls it every few seconds; tests call it
/// directly). Returns how many went out.
pub async fn deliver_due(state: &Shared) -> Result<usize, ApiError> {
    let Some(channel) = state.config.mailer.clone() else {
        return Ok(0);
    };
    let clock = state.store.clock();
    let now = clock.now_secs();
    let base = state.config.public_url.trim_end_matches('/');
    let mut sent = 0;
    for row in state.store.outbox_due(&rfc3339(now), 50).await? {
        // Take it: another server does not send it too.
        let mut tx = state
            .change_as(
                "system",
                "outbox",
                "notification.email.claim",
                row.case_id.as_deref(),
            )
            .await?;
        if !tx
            .claim_email(&row.id, &row.next_attempt_at, &rfc3339(now + 300))
            .await?
        {
            continue;
        }
        tx.commit().await?;
        let lang = Lang::parse(&row.lang).unwrap_or_default();
        let mail = mail_for(
            &row.kind,
            lang,
            &format!("{base}{}", row.link),
            &format!("{base}/notifications#email"),
        );
        let outcome = channel.send(&row.email, &mail).await;
        let action = if outcome.is_ok() {
            "notification.email.sent"
        } else {
            "notification.email.failed"
        };
        let mut tx = state
            .change_as("system", "outbox", action, row.case_id.as_deref())
            .await?;
        match outcome {
            Ok(()) => {
                tx.email_sent(&row.id).await?;
                sent += 1;
            }
            Err(e) => {
                let e = redacted(&e);
                let retry = retry_after(row.attempts).map(|w| rfc3339(clock.now_secs() + w));
                tracing::warn!(error = %e, channel = channel.name(), retry = retry.is_some(), "an e-mail could not be sent");
                tx.email_failed(&row.id, &e, retry.as_deref()).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(sent)
}

/// How often the server looks for alerts to escalate and e-mails to send.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(5);

/// Escalates alerts and sends e-mails in the background, every [`TICK`].
pub fn spawn_background(state: Shared) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = crate::alerts::escalate_due(&state).await {
                tracing::error!(error = ?e.code, "safety alerts could not be escalated");
            }
            if let Err(e) = deliver_due(&state).await {
                tracing::error!(error = ?e.code, "e-mails could not be sent");
            }
            tokio::time::sleep(TICK).await;
        }
    })
}

/// The words of an action for a form's choices.
pub fn actions() -> [AlertAction; 4] {
    [
        AlertAction::CalledBack,
        AlertAction::SentToEmergency,
        AlertAction::SeenInPerson,
        AlertAction::Other,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mails_hold_a_link_and_no_clinical_text() {
        for kind in [
            "safety-alert",
            "safety-alert-escalated",
            "monitoring-alert",
            "safety-alert-acknowledged",
            "message",
        ] {
            for lang in [Lang::En, Lang::ZhCn] {
                let m = mail_for(
                    kind,
                    lang,
                    "https://x.example/cases/c-1/monitoring#alert-a",
                    "https://x.example/account",
                );
                assert!(
                    m.body
                        .contains("https://x.example/cases/c-1/monitoring#alert-a")
                );
                for word in ["confusion", "°C", "CRS", "意识混乱", "grade"] {
                    assert!(
                        !m.body.contains(word) && !m.subject.contains(word),
                        "{kind} {word}"
                    );
                }
            }
        }
        assert!(
            mail_for("safety-alert", Lang::ZhCn, "u", "a")
                .subject
                .contains("安全警报")
        );
    }

    #[test]
    fn addresses_never_reach_the_log() {
        assert_eq!(
            redacted("550 5.1.1 <li@example.org>: Recipient address rejected"),
            "550 5.1.1 [address] Recipient address rejected"
        );
    }

    #[test]
    fn retries_stop_after_a_day() {
        assert_eq!(retry_after(0), Some(30));
        assert_eq!(retry_after(7), Some(12 * 3_600));
        assert_eq!(retry_after(8), None);
    }

    #[test]
    fn times_in_the_centres_clock() {
        let o = cellpath_care::journey::UtcOffset::parse("+08:00").expect("offset");
        assert_eq!(
            clock_time("2026-12-20T13:02:00Z", Some(o)),
            "21:02 (UTC+08:00)"
        );
        assert_eq!(clock_time("2026-12-20T13:02:00Z", None), "13:02 UTC");
    }
}
