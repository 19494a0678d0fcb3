//! Code sets (`specs/codesets/`): CVX, MVX, CPT and NDC crosswalks, HL7 tables and the
//! CAIR1 code crosswalks, loaded from CSV through `index.toml`, which names each file's
//! source.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{SpecError, SpecFiles};

/// The index file, relative to the specs directory.
pub const INDEX: &str = "codesets/index.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    codeset: Vec<RawCodeSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodeSet {
    /// Name the code refers to.
    name: String,
    /// CSV file relative to `specs/codesets/`.
    file: String,
    /// Column holding the code looked up.
    key: String,
    /// Column with the code's display text.
    label: Option<String>,
    /// Column with the code it maps to.
    target: Option<String>,
    /// Column with the code's status (Active, Valid, Deprecated, ...).
    status: Option<String>,
    /// Whether a key may have several rows (CVX to vaccine groups).
    #[serde(default)]
    multi: bool,
    /// Keys starting with one of these are dropped (other states' local codes).
    #[serde(default)]
    exclude_prefixes: Vec<String>,
    /// Where the data comes from (documentation only, but required).
    source: String,
}

/// One row of a code set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Display text (HL7 CE/CWE component 2).
    pub label: Box<str>,
    /// The code this one maps to, for crosswalks.
    pub target: Box<str>,
    /// Status as the source gives it (Active, Inactive, Valid, Deprecated, ...).
    pub status: Box<str>,
}

/// A loaded code set.
#[derive(Clone, Debug, Default)]
pub struct CodeSet {
    // Looked up several times per record: a fast non-cryptographic hash (the keys come
    // from our own spec files, not from an adversary).
    entries: FxHashMap<Box<str>, Vec<Entry>>,
}

impl CodeSet {
    /// The first row for `code`.
    pub fn get(&self, code: &str) -> Option<&Entry> {
        self.entries.get(code).and_then(|rows| rows.first())
    }

    /// The stored code equal to `code`, borrowed from the set.
    pub fn key(&self, code: &str) -> Option<&str> {
        self.entries.get_key_value(code).map(|(k, _)| &**k)
    }

    /// The stored code and its first row.
    pub fn get_key_value(&self, code: &str) -> Option<(&str, &Entry)> {
        let (k, rows) = self.entries.get_key_value(code)?;
        Some((k, rows.first()?))
    }

    /// Every row for `code` (several only in `multi` sets).
    pub fn all(&self, code: &str) -> &[Entry] {
        self.entries.get(code).map_or(&[], Vec::as_slice)
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: &str) -> bool {
        self.entries.contains_key(code)
    }

    /// Number of distinct codes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no codes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The code sets the conversion and validation need, each resolved once by name.
#[derive(Debug)]
pub struct CodeSets {
    /// CDC CVX.
    pub cvx: CodeSet,
    /// CDC MVX.
    pub mvx: CodeSet,
    /// CPT → CVX.
    pub cpt_cvx: CodeSet,
    /// 11-digit NDC → CVX.
    pub ndc_cvx: CodeSet,
    /// CVX → vaccine groups.
    pub vaccine_group: CodeSet,
    /// CVX → the MVX codes of its products.
    pub product: CodeSet,
    /// HL7 0063 relationship.
    pub hl70063: CodeSet,
    /// HL7 0064 VFC eligibility.
    pub hl70064: CodeSet,
    /// HL7 0162 and NCIT routes.
    pub route: CodeSet,
    /// HL7 0163 body site.
    pub hl70163: CodeSet,
    /// HL7 0215 publicity code.
    pub hl70215: CodeSet,
    /// HL7 0441 registry status.
    pub hl70441: CodeSet,
    /// HL7 0296 language.
    pub hl70296: CodeSet,
    /// NIP001 information source.
    pub nip001: CodeSet,
    /// NIP002 refusal reason.
    pub nip002: CodeSet,
    /// HL7 0322 completion status.
    pub hl70322: CodeSet,
    /// HL7 0323 action code.
    pub hl70323: CodeSet,
    /// CDCPHINVS funding source.
    pub funding_source: CodeSet,
    /// CDCREC race.
    pub cdcrec_race: CodeSet,
    /// CDCREC ethnicity.
    pub cdcrec_ethnicity: CodeSet,
    /// HL7 0001 sex.
    pub hl70001: CodeSet,
    /// HL7 0203 identifier type.
    pub hl70203: CodeSet,
    /// CAIR1 race digit → CDCREC.
    pub cair1_race: CodeSet,
    /// CAIR1 ethnicity → CDCREC.
    pub cair1_ethnicity: CodeSet,
    /// CAIR1 relationship → HL7 0063.
    pub cair1_relationship: CodeSet,
    /// CAIR1 client status → HL7 0441.
    pub cair1_client_status: CodeSet,
    /// CAIR1 sex → PID-8.
    pub cair1_sex: CodeSet,
    /// CAIR1 route (HL7 0162) → NCIT.
    pub cair1_route: CodeSet,
}

impl CodeSets {
    /// Loads the index and every code set, collecting every mistake into `errors`.
    pub(super) fn load(files: &SpecFiles, errors: &mut Vec<SpecError>) -> Option<CodeSets> {
        let err = |errors: &mut Vec<SpecError>, file: &str, key: String, message: String| {
            errors.push(SpecError { file: file.to_owned(), key, message });
        };
        let text = match files.read(INDEX) {
            Ok(text) => text,
            Err(e) => {
                errors.push(e);
                return None;
            }
        };
        let index: RawIndex = match toml::from_str(&text) {
            Ok(index) => index,
            Err(e) => {
                err(errors, INDEX, String::new(), e.to_string());
                return None;
            }
        };
        let mut sets: HashMap<String, CodeSet> = HashMap::new();
        for (i, raw) in index.codeset.iter().enumerate() {
            if raw.source.trim().is_empty() {
                err(errors, INDEX, format!("codeset[{i}].source"), "is empty".into());
            }
            let path = format!("codesets/{}", raw.file);
            match files.read(&path) {
                Ok(csv_text) => {
                    if let Some(set) = read_csv(&path, &csv_text, raw, errors) {
                        if sets.insert(raw.name.clone(), set).is_some() {
                            err(
                                errors,
                                INDEX,
                                format!("codeset[{i}].name"),
                                "defined twice".into(),
                            );
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let mut take = |name: &str| {
            sets.remove(name).unwrap_or_else(|| {
                err(
                    errors,
                    INDEX,
                    name.to_owned(),
                    "code set required by cairdx is missing".into(),
                );
                CodeSet::default()
            })
        };
        let sets = CodeSets {
            cvx: take("cvx"),
            mvx: take("mvx"),
            cpt_cvx: take("cpt_cvx"),
            ndc_cvx: take("ndc_cvx"),
            vaccine_group: take("vaccine_group"),
            product: take("product"),
            hl70063: take("hl70063"),
            hl70064: take("hl70064"),
            route: take("route"),
            hl70163: take("hl70163"),
            hl70215: take("hl70215"),
            hl70441: take("hl70441"),
            hl70296: take("hl70296"),
            nip001: take("nip001"),
            nip002: take("nip002"),
            hl70322: take("hl70322"),
            hl70323: take("hl70323"),
            funding_source: take("funding_source"),
            cdcrec_race: take("cdcrec_race"),
            cdcrec_ethnicity: take("cdcrec_ethnicity"),
            hl70001: take("hl70001"),
            hl70203: take("hl70203"),
            cair1_race: take("cair1_race"),
            cair1_ethnicity: take("cair1_ethnicity"),
            cair1_relationship: take("cair1_relationship"),
            cair1_client_status: take("cair1_client_status"),
            cair1_sex: take("cair1_sex"),
            cair1_route: take("cair1_route"),
        };
        Some(sets)
    }

    /// Cross-checks between sets: every crosswalk target exists in the table it targets.
    pub(super) fn check_targets(&self, errors: &mut Vec<SpecError>) {
        let checks: [(&str, &CodeSet, &CodeSet); 8] = [
            ("cpt_cvx", &self.cpt_cvx, &self.cvx),
            ("ndc_cvx", &self.ndc_cvx, &self.cvx),
            ("cair1_race", &self.cair1_race, &self.cdcrec_race),
            ("cair1_ethnicity", &self.cair1_ethnicity, &self.cdcrec_ethnicity),
            ("cair1_relationship", &self.cair1_relationship, &self.hl70063),
            ("cair1_client_status", &self.cair1_client_status, &self.hl70441),
            ("cair1_route", &self.cair1_route, &self.route),
            ("product", &self.product, &self.mvx),
        ];
        for (name, set, target) in checks {
            let mut missing: Vec<&str> = set
                .entries
                .values()
                .flatten()
                .map(|e| &*e.target)
                .filter(|t| !t.is_empty() && !target.contains(t))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            missing.sort_unstable();
            for code in missing {
                errors.push(SpecError {
                    file: INDEX.into(),
                    key: name.into(),
                    message: format!("maps to {code}, which its target table does not have"),
                });
            }
        }
    }
}

fn read_csv(
    path: &str,
    text: &str,
    raw: &RawCodeSet,
    errors: &mut Vec<SpecError>,
) -> Option<CodeSet> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(SpecError {
                file: path.into(),
                key: "header".into(),
                message: e.to_string(),
            });
            return None;
        }
    };
    let mut column = |what: &str, name: Option<&String>| -> Option<Option<usize>> {
        let Some(name) = name else { return Some(None) };
        match headers.iter().position(|h| h == name) {
            Some(i) => Some(Some(i)),
            None => {
                errors.push(SpecError {
                    file: INDEX.into(),
                    key: format!("{}.{what}", raw.name),
                    message: format!(
                        "column {name:?} is not in {path} (columns: {})",
                        headers.iter().collect::<Vec<_>>().join(", ")
                    ),
                });
                None
            }
        }
    };
    let key = column("key", Some(&raw.key));
    let label = column("label", raw.label.as_ref());
    let target = column("target", raw.target.as_ref());
    let status = column("status", raw.status.as_ref());
    let (Some(Some(key)), Some(label), Some(target), Some(status)) = (key, label, target, status)
    else {
        return None;
    };
    let mut set = CodeSet::default();
    let cell = |rec: &csv::StringRecord, i: Option<usize>| -> Box<str> {
        i.and_then(|i| rec.get(i)).unwrap_or_default().trim().into()
    };
    for (row, rec) in reader.records().enumerate() {
        let line = row + 2;
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                errors.push(SpecError {
                    file: path.into(),
                    key: format!("line {line}"),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let code = cell(&rec, Some(key));
        if code.is_empty() {
            errors.push(SpecError {
                file: path.into(),
                key: format!("line {line}"),
                message: format!("{} is blank", raw.key),
            });
            continue;
        }
        if raw.exclude_prefixes.iter().any(|p| code.starts_with(p.as_str())) {
            continue;
        }
        let entry = Entry {
            label: cell(&rec, label),
            target: cell(&rec, target),
            status: cell(&rec, status),
        };
        let rows = set.entries.entry(code.clone()).or_default();
        if !rows.is_empty() && !raw.multi {
            errors.push(SpecError {
                file: path.into(),
                key: format!("line {line}"),
                message: format!("code {code} repeats an earlier row"),
            });
            continue;
        }
        rows.push(entry);
    }
    Some(set)
}
