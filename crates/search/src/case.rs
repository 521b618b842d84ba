//! Studies for a case: the recruiting studies of the case's cancer, ranked by how much of
//! the record they speak to, each with the reasons it was suggested.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query};

use crate::Result;
use crate::index::{StudyIndex, Summary};
use crate::query::{Clause, FacetKey};

/// The primary sites the registry search knows how to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Site {
    Stomach,
    Gej,
    Oesophagus,
    Pancreas,
}

/// What of a case the suggestions rest on. Unknown is `None`, never a guess.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseProfile {
    pub site: Option<Site>,
    pub adenocarcinoma: Option<bool>,
    pub cldn18_positive: Option<bool>,
    pub her2_positive: Option<bool>,
    pub prior_lines: Option<u32>,
    /// Countries where sites would suit the patient (the programme's destination first).
    pub countries: Vec<String>,
}

/// Why a study was suggested; the web layer words it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// The study is about the case's cancer and recruiting.
    Site {
        site: Site,
    },
    Cldn18,
    Her2Positive,
    Her2Negative,
    Pretreated {
        prior_lines: u32,
    },
    Adenocarcinoma,
    Country {
        country: String,
    },
    CellTherapy,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Suggestion {
    pub study: Summary,
    pub score: f32,
    pub reasons: Vec<Reason>,
}

fn clause(alternatives: &[&str]) -> Clause {
    Clause {
        text: alternatives.join(" | "),
        alternatives: alternatives
            .iter()
            .map(|a| crate::analyzer::terms(a))
            .collect(),
        group: None,
        untranslated: false,
    }
}

fn site_clause(site: Site) -> Clause {
    match site {
        Site::Stomach | Site::Gej => clause(&[
            "gastric",
            "stomach",
            "gastroesophageal junction",
            "gastro-oesophageal junction",
            "esophagogastric junction",
            "gej",
            "胃癌",
        ]),
        Site::Oesophagus => clause(&["esophageal", "oesophageal", "esophagus", "食管癌"]),
        Site::Pancreas => clause(&["pancreatic", "pancreas", "胰腺癌"]),
    }
}

impl StudyIndex {
    /// Up to `limit` recruiting studies for the case, best first. Empty when the record
    /// does not say the cancer's site (nothing is guessed).
    pub fn for_case(&self, p: &CaseProfile, limit: usize) -> Result<Vec<Suggestion>> {
        let Some(site) = p.site else {
            return Ok(Vec::new());
        };
        let searcher = self.searcher();
        let mut reasons: Vec<(Reason, Box<dyn Query>, f32)> = Vec::new();
        if p.cldn18_positive == Some(true) {
            reasons.push((
                Reason::Cldn18,
                self.clause(&clause(&[
                    "cldn18.2",
                    "claudin18.2",
                    "claudin 18.2",
                    "cldn18",
                ])),
                3.0,
            ));
        }
        match p.her2_positive {
            Some(true) => reasons.push((
                Reason::Her2Positive,
                self.clause(&clause(&["her2 positive", "her2-positive", "trastuzumab"])),
                1.5,
            )),
            Some(false) => reasons.push((
                Reason::Her2Negative,
                self.clause(&clause(&["her2 negative", "her2-negative"])),
                1.0,
            )),
            None => {}
        }
        if let Some(n) = p.prior_lines.filter(|n| *n >= 1) {
            reasons.push((
                Reason::Pretreated { prior_lines: n },
                self.clause(&clause(&[
                    "second line",
                    "second-line",
                    "third line",
                    "later line",
                    "previously treated",
                    "refractory",
                    "prior lines",
                    "progressed",
                ])),
                1.0,
            ));
        }
        if p.adenocarcinoma == Some(true) {
            reasons.push((
                Reason::Adenocarcinoma,
                self.clause(&clause(&["adenocarcinoma"])),
                0.5,
            ));
        }
        for c in &p.countries {
            reasons.push((
                Reason::Country { country: c.clone() },
                self.facet_term(FacetKey::Country, c),
                1.0,
            ));
        }
        reasons.push((
            Reason::CellTherapy,
            self.clause(&clause(&[
                "car-t",
                "chimeric antigen receptor",
                "cell therapy",
            ])),
            1.0,
        ));

        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![
            // The study's subject, not a mention in its criteria.
            (Occur::Must, self.clause_subject(&site_clause(site))),
            (
                Occur::Must,
                Box::new(BoostQuery::new(
                    self.facet_term(FacetKey::Status, "recruiting"),
                    0.0,
                )),
            ),
        ];
        for (_, q, boost) in &reasons {
            parts.push((
                Occur::Should,
                Box::new(BoostQuery::new(q.box_clone(), *boost)),
            ));
        }
        let query = BooleanQuery::new(parts);
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(limit.clamp(1, 50)).order_by_score(),
        )?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let mut why = vec![Reason::Site { site }];
            for (reason, q, _) in &reasons {
                if self.matches(&searcher, q.as_ref(), addr)? {
                    why.push(reason.clone());
                }
            }
            out.push(Suggestion {
                study: self.load(&searcher, addr)?,
                score,
                reasons: why,
            });
        }
        Ok(out)
    }
}
