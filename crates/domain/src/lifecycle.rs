//! The case lifecycle as an explicit state machine. `withdrawn` is reachable from every
//! open state; `closed` and `withdrawn` are final.

use std::fmt;
use std::str::FromStr;

/// Declares the states once: the enum, `ALL` in lifecycle order, and their names.
macro_rules! case_states {
    ($($state:ident => $name:literal),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CaseState {
            $($state),+
        }

        impl CaseState {
            pub const ALL: &'static [CaseState] = &[$(CaseState::$state),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(CaseState::$state => $name),+
                }
            }
        }
    };
}

case_states! {
    Inquiry => "inquiry",
    RecordsRequested => "records-requested",
    PreScreened => "pre-screened",
    MdtScheduled => "mdt-scheduled",
    MdtInReview => "mdt-in-review",
    Consensus => "consensus",
    ReportDelivered => "report-delivered",
    DecisionProceeding => "decision-proceeding",
    DecisionDeclined => "decision-declined",
    DecisionDeferred => "decision-deferred",
    TreatmentPlanning => "treatment-planning",
    InTreatment => "in-treatment",
    FollowUp => "follow-up",
    Closed => "closed",
    Withdrawn => "withdrawn",
}

use CaseState::*;

impl CaseState {
    pub fn is_final(self) -> bool {
        matches!(self, Closed | Withdrawn)
    }

    /// The states reachable in one step.
    pub fn next(self) -> &'static [CaseState] {
        match self {
            Inquiry => &[RecordsRequested, PreScreened, Withdrawn],
            RecordsRequested => &[PreScreened, Withdrawn],
            PreScreened => &[RecordsRequested, MdtScheduled, Closed, Withdrawn],
            MdtScheduled => &[MdtInReview, Withdrawn],
            MdtInReview => &[Consensus, RecordsRequested, Withdrawn],
            Consensus => &[ReportDelivered, Withdrawn],
            ReportDelivered => &[
                DecisionProceeding,
                DecisionDeclined,
                DecisionDeferred,
                Withdrawn,
            ],
            DecisionProceeding => &[TreatmentPlanning, Withdrawn],
            DecisionDeclined => &[Closed, Withdrawn],
            DecisionDeferred => &[PreScreened, Closed, Withdrawn],
            TreatmentPlanning => &[InTreatment, Withdrawn],
            InTreatment => &[FollowUp, Withdrawn],
            FollowUp => &[Closed, Withdrawn],
            Closed | Withdrawn => &[],
        }
    }

    /// Checks a transition; the error says why it is not allowed.
    pub fn transition(self, to: CaseState) -> Result<CaseState, String> {
        if self.next().contains(&to) {
            return Ok(to);
        }
        if self.is_final() {
            return Err(format!("the case is {}: no further transitions", self));
        }
        Err(format!(
            "cannot go from {self} to {to}; from {self} the case can go to: {}",
            self.next()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown case state `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_legal_and_illegal_transition() {
        for &from in CaseState::ALL {
            for &to in CaseState::ALL {
                let legal = from.next().contains(&to);
                assert_eq!(from.transition(to).is_ok(), legal, "{from} → {to}");
            }
            // Withdrawn is reachable from every open state.
            assert_eq!(
                from.transition(Withdrawn).is_ok(),
                !from.is_final(),
                "{from}"
            );
            assert_eq!(from.as_str().parse::<CaseState>(), Ok(from));
        }
        assert!(
            Inquiry
                .transition(Consensus)
                .expect_err("skip")
                .contains("can go to")
        );
    }

    #[test]
    fn the_happy_path_reaches_closed() {
        let path = [
            Inquiry,
            RecordsRequested,
            PreScreened,
            MdtScheduled,
            MdtInReview,
            Consensus,
            ReportDelivered,
            DecisionProceeding,
            TreatmentPlanning,
            InTreatment,
            FollowUp,
            Closed,
        ];
        for w in path.windows(2) {
            assert!(w[0].transition(w[1]).is_ok(), "{} → {}", w[0], w[1]);
        }
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_walks_only_take_legal_steps(steps in prop::collection::vec(0usize..CaseState::ALL.len(), 0..40)) {
            let mut s = Inquiry;
            for i in steps {
                let to = CaseState::ALL[i];
                match s.transition(to) {
                    Ok(next) => { prop_assert!(s.next().contains(&next)); s = next; }
                    Err(_) => prop_assert!(!s.next().contains(&to)),
                }
                if s.is_final() { prop_assert!(s.next().is_empty()); }
            }
        }
    }
}
