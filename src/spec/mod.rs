//! Spec files (layouts, code sets, rule catalogue): loaded raw, compiled once, with every
//! mistake collected and reported together, naming file and key.

use std::fmt;

/// One mistake in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file, relative to the specs directory.
    pub file: String,
    /// The key or row inside it, e.g. `client.field[3].end`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Every mistake found in a spec set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mistake(s) in spec files", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {}: {}: {}", e.file, e.key, e.message)?;
        }
        Ok(())
    }
}

pub mod codeset;
pub mod layout;
pub mod profile;
pub mod rules;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use codeset::{CodeSet, CodeSets};
pub use layout::{ClientField, FieldDef, FieldType, Format, ImmField, Layout, LayoutSet};
pub use profile::Profile;
pub use rules::{RuleCatalogue, RuleDef};

/// The rule catalogue, relative to the specs directory.
pub const RULES: &str = "rules.toml";

/// Embeds spec files so that the binary runs with its defaults from anywhere.
macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/", $path)))),*]
    };
}

/// The spec files built into the binary (a test checks this list against `specs/`).
pub static EMBEDDED: &[(&str, &str)] = embed![
    "rules.toml",
    "layouts/cair1.toml",
    "layouts/cair1-pipe.toml",
    "layouts/cair1-csv.toml",
    "codesets/index.toml",
    "codesets/cdc/cvx.csv",
    "codesets/cdc/mvx.csv",
    "codesets/cdc/cpt_cvx.csv",
    "codesets/cdc/ndc_cvx.csv",
    "codesets/cdc/cvx_vaccine_group.csv",
    "codesets/cdc/product_tradename_cvx_mvx.csv",
    "codesets/hl7/hl70063_relationship.csv",
    "codesets/hl7/hl70064_financial_class_vfc_eligibility.csv",
    "codesets/hl7/hl70162_ncit_route.csv",
    "codesets/hl7/hl70163_body_site.csv",
    "codesets/hl7/hl70215_publicity_code.csv",
    "codesets/hl7/hl70441_immunization_registry_status.csv",
    "codesets/hl7/hl70296_language.csv",
    "codesets/hl7/nip001_immunization_information_source.csv",
    "codesets/hl7/nip002_refusal_reason.csv",
    "codesets/hl7/hl70322_completion_status.csv",
    "codesets/hl7/hl70323_action_code.csv",
    "codesets/hl7/cdcphinvs_funding_source.csv",
    "codesets/hl7/cdcrec_race.csv",
    "codesets/hl7/cdcrec_ethnicity.csv",
    "codesets/hl7/hl70001_administrative_sex.csv",
    "codesets/hl7/hl70203_identifier_type.csv",
    "codesets/cair1/race.csv",
    "codesets/cair1/ethnicity.csv",
    "codesets/cair1/relationship.csv",
    "codesets/cair1/client_status.csv",
    "codesets/cair1/sex.csv",
    "codesets/cair1/route.csv",
    "profiles/vxu_z22.toml",
    "profiles/cvx_use_window.csv",
];

/// Where spec files are read from.
#[derive(Clone, Debug)]
pub enum SpecFiles {
    /// The set built into the binary.
    Embedded,
    /// A directory laid out like `specs/`.
    Dir(PathBuf),
}

impl SpecFiles {
    /// Reads one file, relative to the specs root.
    pub fn read(&self, rel: &str) -> Result<Cow<'static, str>, SpecError> {
        let missing = |message: String| SpecError { file: rel.into(), key: String::new(), message };
        match self {
            SpecFiles::Embedded => EMBEDDED
                .iter()
                .find(|(path, _)| *path == rel)
                .map(|(_, text)| Cow::Borrowed(*text))
                .ok_or_else(|| missing("not built into this binary".into())),
            SpecFiles::Dir(dir) => std::fs::read_to_string(dir.join(rel))
                .map(Cow::Owned)
                .map_err(|e| missing(format!("cannot read {}: {e}", dir.join(rel).display()))),
        }
    }

    /// The layout files, relative to the specs root, sorted.
    fn layout_files(&self) -> Result<Vec<String>, SpecError> {
        let mut files: Vec<String> = match self {
            SpecFiles::Embedded => EMBEDDED
                .iter()
                .map(|(path, _)| *path)
                .filter(|p| p.starts_with("layouts/"))
                .map(str::to_owned)
                .collect(),
            SpecFiles::Dir(dir) => {
                let layouts = dir.join("layouts");
                let entries = std::fs::read_dir(&layouts).map_err(|e| SpecError {
                    file: "layouts/".into(),
                    key: String::new(),
                    message: format!("cannot list {}: {e}", layouts.display()),
                })?;
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".toml"))
                    .map(|n| format!("layouts/{n}"))
                    .collect()
            }
        };
        files.sort();
        Ok(files)
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            SpecFiles::Embedded => "built-in specs".into(),
            SpecFiles::Dir(dir) => dir.display().to_string(),
        }
    }
}

/// Every spec, compiled.
#[derive(Debug)]
pub struct SpecSet {
    /// Layout sets by name.
    pub layouts: BTreeMap<String, LayoutSet>,
    /// Code sets.
    pub codes: CodeSets,
    /// The rule catalogue.
    pub rules: RuleCatalogue,
    /// The VXU intake profile.
    pub profile: Profile,
}

impl SpecSet {
    /// Loads and compiles every spec file, reporting all mistakes together.
    pub fn load(files: &SpecFiles) -> Result<SpecSet, SpecErrors> {
        let mut errors = Vec::new();
        let rules = match files.read(RULES) {
            Ok(text) => match RuleCatalogue::compile(RULES, &text) {
                Ok(rules) => Some(rules),
                Err(SpecErrors(e)) => {
                    errors.extend(e);
                    None
                }
            },
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let mut layouts = BTreeMap::new();
        match files.layout_files() {
            Ok(paths) => {
                for path in paths {
                    match files.read(&path) {
                        Ok(text) => {
                            if let Some(set) = LayoutSet::compile(&path, &text, &mut errors) {
                                layouts.insert(set.name.clone(), set);
                            }
                        }
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        let codes = CodeSets::load(files, &mut errors);
        if let Some(codes) = &codes {
            codes.check_targets(&mut errors);
        }
        let profile = Profile::load(files, &mut errors);
        match (rules, codes, profile) {
            (Some(rules), Some(codes), Some(profile)) if errors.is_empty() => {
                Ok(SpecSet { layouts, codes, rules, profile })
            }
            _ => Err(SpecErrors(errors)),
        }
    }

    /// The layout set named `name`.
    pub fn layout(&self, name: &str) -> crate::error::Result<&LayoutSet> {
        self.layouts.get(name).ok_or_else(|| crate::error::Error::UnknownLayout {
            name: name.into(),
            known: self.layouts.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_specs_compile() {
        let specs = SpecSet::load(&SpecFiles::Embedded).unwrap_or_else(|e| panic!("{e}"));
        assert!(specs.layouts.contains_key("cair1"));
        assert!(specs.codes.cvx.contains("03"));
    }

    #[test]
    fn embedded_list_matches_specs_dir() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "toml" || e == "csv") {
                    on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(p, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn dir_and_embedded_agree() {
        let dir = SpecFiles::Dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"));
        SpecSet::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    }
}
