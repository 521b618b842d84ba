//! The closed sets and ids the store keeps, parsed at the edge: a value read back that is
//! not one of them is reported as corrupt, never passed on as a string.

use crate::{Result, StoreError};

/// Declares a string-backed enum with its stored names, parsing and display.
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a stored value; anything else is corruption.
            pub fn from_stored(s: &str) -> Result<Self> {
                s.parse().map_err(|_| StoreError::Corrupt { what: $what, value: s.to_owned() })
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> std::result::Result<Self, ()> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(
    /// What a member is on a case (the owner, the patient, is not a member).
    MemberRole, "member role" {
        Coordinator => "coordinator",
        Specialist => "specialist",
        Caregiver => "caregiver",
    }
);

stored_enum!(
    /// What a member may do: read only, or act.
    Access, "access" {
        View => "view",
        Act => "act",
    }
);

stored_enum!(
    /// The consents a patient gives (texts in `catalogue/consents/consents.toml`).
    ConsentKind, "consent kind" {
        HealthDataProcessing => "health-data-processing",
        TransferAbroad => "transfer-abroad",
        MdtSharing => "mdt-sharing",
        CaregiverAccess => "caregiver-access",
    }
);

stored_enum!(
    /// Where a supportive-care request stands.
    SupportiveState, "supportive-care state" {
        AwaitingApproval => "awaiting-approval",
        Held => "held",
        Approved => "approved",
        Declined => "declined",
    }
);

stored_enum!(
    /// How urgent a safety alert is: an emergency (call the emergency number first) or urgent
    /// (call the treating team now).
    AlertSeverity, "alert severity" {
        Emergency => "emergency",
        Urgent => "urgent",
    }
);

stored_enum!(
    /// What raised a safety alert.
    AlertSource, "alert source" {
        Diary => "diary",
    }
);

stored_enum!(
    /// What the team member who acknowledged an alert did.
    AlertAction, "alert action" {
        CalledBack => "called-back",
        SentToEmergency => "sent-to-emergency",
        SeenInPerson => "seen-in-person",
        Other => "other",
    }
);

/// Declares an id newtype: a non-empty, short string of id characters.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Accepts 1 to 64 characters of `[A-Za-z0-9_-]`.
            pub fn parse(s: &str) -> Option<Self> {
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                ok.then(|| Self(s.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A case's id (`c-…`).
    CaseId
);
id_type!(
    /// An account's id (`u-…`).
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for k in ConsentKind::ALL {
            assert_eq!(ConsentKind::from_stored(k.as_str()).ok(), Some(*k));
        }
        for s in SupportiveState::ALL {
            assert_eq!(s.as_str().parse::<SupportiveState>(), Ok(*s));
        }
        assert!(matches!(
            MemberRole::from_stored("owner"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn ids_refuse_what_is_not_an_id() {
        assert!(CaseId::parse("c-0123abcd").is_some());
        assert!(CaseId::parse("").is_none());
        assert!(CaseId::parse("../etc").is_none());
        assert!(UserId::parse(&"u".repeat(65)).is_none());
    }
}
