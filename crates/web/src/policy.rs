//! Every access decision in one place. A patient owns their case; a caregiver sees it only
//! through the patient's grant (view, or act for them); a coordinator only the cases
//! assigned to them; a specialist only cases they are assigned to, while assigned; an
//! admin manages accounts and reads no clinical data.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Patient,
    Caregiver,
    Coordinator,
    Specialist,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Patient,
        Role::Caregiver,
        Role::Coordinator,
        Role::Specialist,
        Role::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Caregiver => "caregiver",
            Self::Coordinator => "coordinator",
            Self::Specialist => "specialist",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// What a user is to one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Owner,
    /// A caregiver with the patient's grant; `acts` when they may act for the patient.
    Caregiver {
        acts: bool,
    },
    AssignedCoordinator,
    AssignedSpecialist,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a case (for oneself, or as a coordinator for a patient).
    CreateCase,
    ReadCase,
    EditRecord,
    Screen,
    Transition,
    /// Assign coordinators and specialists.
    AssignTeam,
    /// Grant a caregiver access.
    GrantCaregiver,
    /// Remove someone from the case: the patient anyone, a coordinator the team.
    RemoveMember,
    /// Revoke a calendar link: the patient any on the case, others their own.
    RevokeCalendar,
    /// See who accessed the case.
    ReadAudit,
    /// Enter post-infusion monitoring (the treating team).
    Monitor,
    /// Write the home symptom diary (the patient and caregivers).
    Diary,
    /// Ask for supportive care.
    RequestSupport,
    /// Approve or decline supportive care (an oncology specialist on the case; the
    /// specialty is checked by `care::supportive::may_approve`).
    DecideSupport,
    /// Set the journey plan's dates and manage calendar subscriptions.
    PlanJourney,
    /// Acknowledge a safety alert the family's report raised (the treating team).
    AcknowledgeAlert,
    /// Set who is on call for the case's alerts, when (its coordinator).
    SetOnCall,
}

/// The single access decision.
pub fn allows(role: Role, relation: Relation, action: Action) -> bool {
    use Action::*;
    use Relation::*;
    match (role, action) {
        (Role::Admin, _) => false,
        (Role::Patient | Role::Coordinator | Role::Caregiver, CreateCase) => true,
        (_, CreateCase) => false,
        _ => match (relation, action) {
            (None, _) => false,
            (Owner, AssignTeam | Monitor | DecideSupport | AcknowledgeAlert | SetOnCall) => false,
            (AssignedCoordinator, RemoveMember) => true,
            (Caregiver { .. } | AssignedSpecialist, RevokeCalendar) => true,
            // Only where the patient allows it (checked by the handler: a case setting).
            (Caregiver { acts: true }, RemoveMember) => true,
            (Owner, _) => true,
            (Caregiver { .. }, ReadCase | Diary) => true,
            (Caregiver { acts: true }, EditRecord | Screen | RequestSupport) => true,
            (Caregiver { .. }, _) => false,
            (AssignedCoordinator, GrantCaregiver | Diary | DecideSupport) => false,
            (AssignedCoordinator, _) => true,
            (
                AssignedSpecialist,
                ReadCase | Screen | Monitor | DecideSupport | AcknowledgeAlert,
            ) => true,
            (AssignedSpecialist, _) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_read_no_clinical_data() {
        for rel in [
            Relation::Owner,
            Relation::AssignedCoordinator,
            Relation::None,
        ] {
            assert!(!allows(Role::Admin, rel, Action::ReadCase));
        }
    }

    #[test]
    fn strangers_see_nothing() {
        for role in Role::ALL {
            for action in [
                Action::ReadCase,
                Action::EditRecord,
                Action::Screen,
                Action::Transition,
                Action::AssignTeam,
                Action::GrantCaregiver,
                Action::ReadAudit,
                Action::Monitor,
                Action::Diary,
                Action::RequestSupport,
                Action::DecideSupport,
                Action::PlanJourney,
            ] {
                assert!(!allows(role, Relation::None, action), "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn caregivers_act_only_with_an_acting_grant() {
        let view = Relation::Caregiver { acts: false };
        let act = Relation::Caregiver { acts: true };
        assert!(allows(Role::Caregiver, view, Action::ReadCase));
        assert!(!allows(Role::Caregiver, view, Action::EditRecord));
        assert!(allows(Role::Caregiver, act, Action::EditRecord));
        assert!(!allows(Role::Caregiver, act, Action::GrantCaregiver));
        assert!(!allows(Role::Caregiver, act, Action::ReadAudit));
    }

    #[test]
    fn only_the_patient_grants_caregivers_and_specialists_only_read() {
        assert!(allows(
            Role::Patient,
            Relation::Owner,
            Action::GrantCaregiver
        ));
        assert!(!allows(
            Role::Coordinator,
            Relation::AssignedCoordinator,
            Action::GrantCaregiver
        ));
        assert!(allows(
            Role::Coordinator,
            Relation::AssignedCoordinator,
            Action::AssignTeam
        ));
        assert!(allows(
            Role::Specialist,
            Relation::AssignedSpecialist,
            Action::ReadCase
        ));
        assert!(!allows(
            Role::Specialist,
            Relation::AssignedSpecialist,
            Action::EditRecord
        ));
    }
}

#[cfg(test)]
mod care_tests {
    use super::*;

    #[test]
    fn the_treating_team_monitors_and_families_keep_the_diary() {
        assert!(allows(
            Role::Specialist,
            Relation::AssignedSpecialist,
            Action::Monitor
        ));
        assert!(allows(
            Role::Coordinator,
            Relation::AssignedCoordinator,
            Action::Monitor
        ));
        assert!(!allows(Role::Patient, Relation::Owner, Action::Monitor));
        assert!(allows(Role::Patient, Relation::Owner, Action::Diary));
        assert!(allows(
            Role::Caregiver,
            Relation::Caregiver { acts: false },
            Action::Diary
        ));
        assert!(!allows(
            Role::Specialist,
            Relation::AssignedSpecialist,
            Action::Diary
        ));
        assert!(!allows(
            Role::Patient,
            Relation::Owner,
            Action::DecideSupport
        ));
        assert!(allows(
            Role::Specialist,
            Relation::AssignedSpecialist,
            Action::DecideSupport
        ));
        assert!(allows(Role::Patient, Relation::Owner, Action::PlanJourney));
        assert!(!allows(
            Role::Specialist,
            Relation::AssignedSpecialist,
            Action::PlanJourney
        ));
    }
}
