//! Who hears a safety alert, and when it escalates: the rule, pure (times are seconds since
//! the epoch, given by the caller).
//!
//! The coordinator sets the case's on-call rota — who answers, in order, between two times.
//! An alert first reaches the first person on call now. If nobody acknowledges it within the
//! centre's window it goes to the next person on call, then to every treating member of the
//! case (coordinator and specialists). With nobody on the rota at the time, every treating
//! member is told at once. No step is ever skipped silently: each returns who to tell.

/// How long an alert may wait for an acknowledgement before it escalates, when the centre
/// sets nothing: 15 minutes. A default, not a published standard — the centre should set
/// its own (`docs/safety.md`).
pub const DEFAULT_ACK_WINDOW_SECS: u64 = 15 * 60;

/// One place on the rota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnCall {
    pub position: u32,
    pub user: String,
    /// From (inclusive) and until (exclusive), seconds since the epoch.
    pub starts: u64,
    pub ends: u64,
}

/// How far an alert has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The first person on call.
    First = 0,
    /// The next person on call.
    Next = 1,
    /// Every treating member.
    Everyone = 2,
}

impl Level {
    pub fn from_stored(n: i64) -> Option<Self> {
        match n {
            0 => Some(Self::First),
            1 => Some(Self::Next),
            2 => Some(Self::Everyone),
            _ => None,
        }
    }
}

/// What to do now: tell these people (besides those already told), then wait until
/// `next_at` for an acknowledgement (`None`: nobody is left to escalate to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub level: Level,
    pub tell: Vec<String>,
    pub next_at: Option<u64>,
}

/// Those on call at `now`, in rota order, each once, and only treating members (a person
/// removed from the case after the rota was set is skipped).
pub fn on_call_now(rota: &[OnCall], treating: &[String], now: u64) -> Vec<String> {
    let mut on: Vec<&OnCall> = rota
        .iter()
        .filter(|r| r.starts <= now && now < r.ends && treating.contains(&r.user))
        .collect();
    on.sort_by_key(|r| r.position);
    let mut out: Vec<String> = Vec::new();
    for r in on {
        if !out.contains(&r.user) {
            out.push(r.user.clone());
        }
    }
    out
}

/// The first step of a new alert.
pub fn first(rota: &[OnCall], treating: &[String], now: u64, window: u64) -> Step {
    match on_call_now(rota, treating, now).into_iter().next() {
        Some(first) => Step {
            level: Level::First,
            tell: vec![first],
            next_at: Some(now + window),
        },
        None => everyone(treating, &[]),
    }
}

/// The step after `level`, at `now`, for an alert nobody has acknowledged; `told` is
/// everyone told so far. `None` when everyone has been told already.
pub fn escalate(
    level: Level,
    told: &[String],
    rota: &[OnCall],
    treating: &[String],
    now: u64,
    window: u64,
) -> Option<Step> {
    match level {
        Level::First => {
            let next = on_call_now(rota, treating, now)
                .into_iter()
                .find(|u| !told.contains(u));
            Some(match next {
                Some(u) => Step {
                    level: Level::Next,
                    tell: vec![u],
                    next_at: Some(now + window),
                },
                None => everyone(treating, told),
            })
        }
        Level::Next => Some(everyone(treating, told)),
        Level::Everyone => None,
    }
}

fn everyone(treating: &[String], told: &[String]) -> Step {
    Step {
        level: Level::Everyone,
        tell: treating
            .iter()
            .filter(|u| !told.contains(u))
            .cloned()
            .collect(),
        next_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rota() -> Vec<OnCall> {
        vec![
            OnCall {
                position: 1,
                user: "dr-li".into(),
                starts: 100,
                ends: 1_000,
            },
            OnCall {
                position: 2,
                user: "dr-wang".into(),
                starts: 100,
                ends: 1_000,
            },
            // Not on call yet at 500.
            OnCall {
                position: 0,
                user: "coord".into(),
                starts: 900,
                ends: 2_000,
            },
        ]
    }

    fn treating() -> Vec<String> {
        vec![
            "coord".into(),
            "dr-li".into(),
            "dr-wang".into(),
            "dr-zhao".into(),
        ]
    }

    #[test]
    fn an_alert_goes_to_the_first_on_call_then_the_next_then_everyone() {
        let s = first(&rota(), &treating(), 500, 900);
        assert_eq!(s.level, Level::First);
        assert_eq!(s.tell, ["dr-li"]);
        assert_eq!(s.next_at, Some(1_400));
        let s = escalate(
            Level::First,
            &["dr-li".into()],
            &rota(),
            &treating(),
            500,
            900,
        )
        .expect("next");
        assert_eq!(
            (s.level, s.tell.as_slice()),
            (Level::Next, &["dr-wang".to_owned()][..])
        );
        let told = vec!["dr-li".to_owned(), "dr-wang".to_owned()];
        let s = escalate(Level::Next, &told, &rota(), &treating(), 500, 900).expect("all");
        assert_eq!(s.level, Level::Everyone);
        assert_eq!(s.tell, ["coord", "dr-zhao"]);
        assert_eq!(s.next_at, None);
        assert_eq!(
            escalate(Level::Everyone, &treating(), &rota(), &treating(), 500, 900),
            None
        );
    }

    #[test]
    fn without_anyone_on_call_every_treating_member_is_told_at_once() {
        let s = first(&[], &treating(), 500, 900);
        assert_eq!(s.level, Level::Everyone);
        assert_eq!(s.tell, treating());
        // Outside every rota period too.
        assert_eq!(first(&rota(), &treating(), 5_000, 900).tell, treating());
    }

    #[test]
    fn one_person_on_call_escalates_straight_to_everyone() {
        let only = vec![rota()[0].clone()];
        let s = escalate(
            Level::First,
            &["dr-li".into()],
            &only,
            &treating(),
            500,
            900,
        )
        .expect("all");
        assert_eq!(s.level, Level::Everyone);
        assert_eq!(s.tell, ["coord", "dr-wang", "dr-zhao"]);
    }

    #[test]
    fn the_rota_order_and_membership_decide() {
        // At 950 the coordinator (position 0) is first.
        assert_eq!(
            on_call_now(&rota(), &treating(), 950),
            ["coord", "dr-li", "dr-wang"]
        );
        // Someone no longer treating the case is skipped.
        let left = vec!["coord".to_owned(), "dr-wang".to_owned()];
        assert_eq!(on_call_now(&rota(), &left, 500), ["dr-wang"]);
        // The end is exclusive.
        assert_eq!(on_call_now(&rota(), &treating(), 1_000), ["coord"]);
        assert!(on_call_now(&rota(), &treating(), 2_000).is_empty());
    }
}
