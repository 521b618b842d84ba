//! What changed between two versions of a study: the status, the eligibility text, the
//! sites (added, removed, their own status), the phases and the dates — what a coordinator
//! whose patient depends on the study needs to know, and what flags a catalogue programme
//! built on it for review.

use serde::{Deserialize, Serialize};

use crate::{Location, Phase, Status, Study};

/// One difference between an older and a newer version of the same study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "kebab-case")]
pub enum Change {
    Status {
        from: Option<Status>,
        to: Option<Status>,
    },
    Eligibility {
        from: Option<String>,
        to: Option<String>,
    },
    SiteAdded {
        site: Location,
    },
    SiteRemoved {
        site: Location,
    },
    SiteStatus {
        site: Location,
        from: Option<Status>,
    },
    Phases {
        from: Vec<Phase>,
        to: Vec<Phase>,
    },
    Title {
        from: String,
        to: String,
    },
    LastUpdate {
        from: Option<String>,
        to: Option<String>,
    },
}

impl Status {
    /// Whether the study takes (or will take) patients.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Recruiting
                | Self::NotYetRecruiting
                | Self::EnrollingByInvitation
                | Self::Available
        )
    }
}

impl Change {
    /// A change that closes the study to new patients (recruiting → completed, say): the
    /// screenings that relied on it are re-run at once rather than marked for review.
    pub fn closes_recruitment(&self) -> bool {
        matches!(self, Self::Status { from: Some(f), to } if f.is_open() && !to.is_some_and(Status::is_open))
    }
}

/// A text's words: whitespace is the registry's formatting, not a change of criteria.
fn words(t: &Option<String>) -> Option<Vec<&str>> {
    t.as_deref().map(|t| t.split_whitespace().collect())
}

/// A site's identity across versions: facility, city and country as the registry gives them.
fn same_site(a: &Location, b: &Location) -> bool {
    a.facility == b.facility && a.city == b.city && a.country == b.country
}

/// The differences from `old` to `new`, in a fixed order: status, eligibility, sites,
/// phases, title, last update. Empty when nothing a reader would notice changed.
pub fn diff(old: &Study, new: &Study) -> Vec<Change> {
    let mut out = Vec::new();
    if old.status != new.status {
        out.push(Change::Status {
            from: old.status,
            to: new.status,
        });
    }
    if words(&old.eligibility) != words(&new.eligibility) {
        out.push(Change::Eligibility {
            from: old.eligibility.clone(),
            to: new.eligibility.clone(),
        });
    }
    // A study may list one facility twice (two departments, two statuses): pair exact
    // matches first, then the same facility, each old site used once.
    let mut used = vec![false; old.locations.len()];
    let mut pending = Vec::new();
    for site in &new.locations {
        match (0..old.locations.len()).find(|&i| !used[i] && old.locations[i] == *site) {
            Some(i) => used[i] = true,
            None => pending.push(site),
        }
    }
    for site in pending {
        match (0..old.locations.len()).find(|&i| !used[i] && same_site(&old.locations[i], site)) {
            Some(i) => {
                used[i] = true;
                out.push(Change::SiteStatus {
                    site: site.clone(),
                    from: old.locations[i].status,
                });
            }
            None => out.push(Change::SiteAdded { site: site.clone() }),
        }
    }
    for (site, _) in old.locations.iter().zip(&used).filter(|(_, u)| !**u) {
        out.push(Change::SiteRemoved { site: site.clone() });
    }
    if old.phases != new.phases {
        out.push(Change::Phases {
            from: old.phases.clone(),
            to: new.phases.clone(),
        });
    }
    if old.title != new.title {
        out.push(Change::Title {
            from: old.title.clone(),
            to: new.title.clone(),
        });
    }
    if old.last_update != new.last_update {
        out.push(Change::LastUpdate {
            from: old.last_update.clone(),
            to: new.last_update.clone(),
        });
    }
    out
}
