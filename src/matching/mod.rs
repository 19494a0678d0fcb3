//! Demographic record linkage: one person's demographics (a HEDIS member's name variants,
//! an incoming flat-file patient) against the registry's patients.
//!
//! The stages are modules: `normalize` (text → comparable tokens), `block` (which registry
//! patients are worth comparing), `compare` (per-field agreement levels), `score`
//! (Fellegi–Sunter weights), `decide` (match / possible / no match) and `explain` (why).
//! The model (fields, levels, weights, thresholds) is data in `specs/matching/`.
//!
//! INTERFACE SKELETON: the types and signatures below are the contract between the matcher
//! and its callers (`hedis`, `load`, the evaluation command). The naive bodies are
//! placeholders to be replaced by the engine.

use std::fmt;

use chrono::NaiveDate;

use crate::error::Result;
use crate::registry::{Patient, RegistryId, RegistryStore};
use crate::spec::SpecFiles;

/// A compiled match model (`specs/matching/<name>.toml`).
#[derive(Debug, Clone)]
pub struct Model {
    name: String,
    thresholds: Thresholds,
}

/// The decision thresholds of a model, in total match weight (log2 odds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above: a match (released to a plan).
    pub release: f64,
    /// At or above (and below `release`): a possible match, for clerical review only.
    pub possible: f64,
    /// At or above: the load path merges the incoming patient into the candidate.
    pub merge: f64,
}

impl Model {
    /// Loads and compiles `specs/matching/<name>.toml` (and the tables it names), with
    /// every mistake reported together.
    pub fn load(_files: &SpecFiles, name: &str) -> Result<Model> {
        Ok(Model {
            name: name.to_owned(),
            thresholds: Thresholds { release: 0.0, possible: 0.0, merge: 0.0 },
        })
    }

    /// The model's name, as reports print it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's thresholds.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }
}

/// One person's demographics as given, borrowed from a request row or a record. Blank
/// means unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Person<'a> {
    /// First (given) name.
    pub first: &'a str,
    /// Middle name or initial.
    pub middle: &'a str,
    /// Last (family) name, possibly hyphenated or double.
    pub last: &'a str,
    /// JR, SR, III …; may also still be inside `last`.
    pub suffix: &'a str,
    /// Date of birth; `None` when unknown or unparseable.
    pub dob: Option<NaiveDate>,
    /// M, F, U, X or blank.
    pub sex: &'a str,
    /// Street address.
    pub street: &'a str,
    /// City.
    pub city: &'a str,
    /// State.
    pub state: &'a str,
    /// ZIP (5 or 9 digits, punctuation allowed).
    pub zip: &'a str,
    /// Phone (punctuation allowed).
    pub phone: &'a str,
    /// Medi-Cal client index number.
    pub medi_cal_cin: &'a str,
    /// Guardian's first name.
    pub guardian_first: &'a str,
    /// Guardian's last name.
    pub guardian_last: &'a str,
    /// Mother's maiden last name.
    pub mother_maiden_last: &'a str,
}

impl<'a> Person<'a> {
    /// A registry patient's demographics.
    pub fn of_patient(p: &'a Patient) -> Person<'a> {
        Person {
            first: &p.first_name,
            middle: &p.middle_name,
            last: &p.last_name,
            suffix: &p.suffix,
            dob: p.dob,
            sex: &p.sex,
            street: &p.street,
            city: &p.city,
            state: &p.state,
            zip: &p.zip,
            phone: &p.phone,
            medi_cal_cin: &p.medi_cal_cin,
            guardian_first: &p.guardian_first,
            guardian_last: &p.guardian_last,
            mother_maiden_last: &p.mother_maiden_last,
        }
    }
}

/// The registry side, normalized and blocked once, then shared read-only across threads.
#[derive(Debug, Default)]
pub struct Index {
    entries: Vec<(RegistryId, bool, String, String, Option<NaiveDate>)>,
}

impl Index {
    /// Builds the index over every patient in `store` (locked ones included: a member who
    /// matches a locked patient must not be matched to a relative instead).
    pub fn from_store<S: RegistryStore>(model: &Model, store: &S) -> Result<Index> {
        let mut index = Index::default();
        store.for_each_patient(&mut |p| {
            if let Some(id) = p.registry_id {
                index.insert(model, id, p.locked, &Person::of_patient(p));
            }
            Ok(())
        })?;
        Ok(index)
    }

    /// Adds one patient (the load path adds the patients it creates).
    pub fn insert(&mut self, _model: &Model, id: RegistryId, locked: bool, p: &Person<'_>) {
        self.entries.push((id, locked, p.first.to_uppercase(), p.last.to_uppercase(), p.dob));
    }

    /// Number of patients indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// How a member (or incoming patient) was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Total weight ≥ the release threshold, one clear best candidate.
    Match,
    /// Between the thresholds: clerical review, never released.
    Possible,
    /// No released match, and why.
    NoMatch(NoMatchReason),
}

/// Why nothing was released (formats.md §4 `_unmatched.csv` reason classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatchReason {
    /// Blocking found no registry patient worth comparing.
    NoCandidate,
    /// Candidates scored below the possible threshold.
    BelowThreshold,
    /// Two or more near-equal candidates: not a match.
    Ambiguous,
}

impl NoMatchReason {
    /// The spelling in `_unmatched.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoMatchReason::NoCandidate => "no candidate",
            NoMatchReason::BelowThreshold => "below threshold",
            NoMatchReason::Ambiguous => "ambiguous",
        }
    }
}

/// One scored candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The registry patient.
    pub registry_id: RegistryId,
    /// Whether the registry patient is locked (decline to share).
    pub locked: bool,
    /// Total match weight (log2 odds).
    pub weight: f64,
    /// Posterior match probability under the model's prior.
    pub probability: f64,
}

/// A decision with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Match, possible or no match.
    pub outcome: Outcome,
    /// The best candidate, if any was compared.
    pub best: Option<Scored>,
    /// The second best distinct patient, if any (ambiguity is judged against it).
    pub runner_up: Option<Scored>,
    /// Why: per-field levels and weights of `best`, and the signals that fired.
    pub explanation: Explanation,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Explanation {
    /// (field, level, weight) for the best candidate, in model order.
    pub fields: Vec<(&'static str, &'static str, f64)>,
    /// Signals that fired (e.g. `twin`, `household-only`, `ambiguous`).
    pub signals: Vec<&'static str>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, level, weight)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{field}={level}({weight:+.2})")?;
        }
        for signal in &self.signals {
            write!(f, " !{signal}")?;
        }
        Ok(())
    }
}

/// Decides one person, given as one or more name variants (a HEDIS member's rows; the
/// load path passes one). Pure and thread-safe: callers run it across members with rayon.
pub fn decide(model: &Model, index: &Index, variants: &[Person<'_>]) -> Decision {
    let mut best: Option<Scored> = None;
    for v in variants {
        let (first, last) = (v.first.to_uppercase(), v.last.to_uppercase());
        for (id, locked, f, l, dob) in &index.entries {
            if *f == first && *l == last && *dob == v.dob && v.dob.is_some() {
                best = Some(Scored {
                    registry_id: *id,
                    locked: *locked,
                    weight: 30.0,
                    probability: 1.0,
                });
            }
        }
    }
    let outcome = match best {
        Some(s) if s.weight >= model.thresholds.release => Outcome::Match,
        Some(_) => Outcome::NoMatch(NoMatchReason::BelowThreshold),
        None => Outcome::NoMatch(NoMatchReason::NoCandidate),
    };
    Decision { outcome, best, runner_up: None, explanation: Explanation::default() }
}
