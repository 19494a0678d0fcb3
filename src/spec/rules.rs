//! The rule catalogue (`specs/rules.toml`): severity, message, HL7 location and ERR codes
//! of every finding, checked against the rules the code reports.

use std::collections::HashMap;

use serde::Deserialize;

use super::{SpecError, SpecErrors};
use crate::finding::{Rule, Severity};

/// HL7 table 0357 codes a rule may carry in ERR-3.
const HL70357: &[u16] = &[0, 100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    severity: String,
    message: String,
    #[serde(default)]
    hl7: String,
    err3: u16,
    err5: u16,
    mqe: Option<String>,
}

/// One rule of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDef {
    /// Stable id (`P001`).
    pub id: Box<str>,
    /// What a finding of this rule does to its record.
    pub severity: Severity,
    /// Message template; `{value}` stands for the offending value.
    pub message: Box<str>,
    /// ERR-2 location of the VXU element concerned, `SEG^seq^field^rep^comp`, or empty.
    pub hl7: Box<str>,
    /// ERR-3, HL7 table 0357.
    pub err3: u16,
    /// ERR-5, CDC IG table 0533 (1-8).
    pub err5: u16,
    /// The MQE detection it corresponds to.
    pub mqe: Option<Box<str>>,
}

impl RuleDef {
    /// The message with `{value}` filled in (or the placeholder dropped when there is none).
    pub fn render(&self, value: Option<&str>) -> String {
        self.message.replace("{value}", value.unwrap_or("(blank)"))
    }
}

/// Every rule, indexed by the code's [`Rule`] for the hot path and by id for the rest.
#[derive(Debug)]
pub struct RuleCatalogue {
    by_rule: Vec<RuleDef>,
    by_id: HashMap<Box<str>, RuleDef>,
}

impl RuleCatalogue {
    /// The definition of a rule the code reports.
    pub fn get(&self, rule: Rule) -> &RuleDef {
        &self.by_rule[rule as usize]
    }

    /// The severity the catalogue gives a rule.
    pub fn severity(&self, rule: Rule) -> Severity {
        self.get(rule).severity
    }

    /// Looks a rule up by id, including rules no code reports yet.
    pub fn by_id(&self, id: &str) -> Option<&RuleDef> {
        self.by_id.get(id)
    }

    /// Number of rules in the catalogue.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Parses and checks the catalogue, collecting every mistake.
    pub fn compile(file: &str, text: &str) -> Result<RuleCatalogue, SpecErrors> {
        let mut errors = Vec::new();
        let mut err = |key: String, message: String| {
            errors.push(SpecError { file: file.to_owned(), key, message });
        };
        let raw: RawCatalogue = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                err(String::new(), e.to_string());
                return Err(SpecErrors(errors));
            }
        };
        let mut by_id: HashMap<Box<str>, RuleDef> = HashMap::new();
        for (i, r) in raw.rule.into_iter().enumerate() {
            let key = |field: &str| format!("rule[{i}] ({}).{field}", r.id);
            let severity = Severity::from_code(&r.severity);
            if severity.is_none() {
                err(key("severity"), format!("{:?} is not E, W or I", r.severity));
            }
            if r.message.trim().is_empty() {
                err(key("message"), "is empty".into());
            }
            if r.message.replace("{value}", "").contains(['{', '}']) {
                err(key("message"), "only the placeholder {value} is known".into());
            }
            if !HL70357.contains(&r.err3) {
                err(key("err3"), format!("{} is not in HL7 table 0357", r.err3));
            }
            if !(1..=8).contains(&r.err5) {
                err(key("err5"), format!("{} is not in table 0533 (1-8)", r.err5));
            }
            if !r.hl7.is_empty() && !valid_location(&r.hl7) {
                err(key("hl7"), format!("{:?} is not SEG^seq^field^rep^comp", r.hl7));
            }
            let def = RuleDef {
                id: r.id.as_str().into(),
                severity: severity.unwrap_or(Severity::Error),
                message: r.message.into(),
                hl7: r.hl7.into(),
                err3: r.err3,
                err5: r.err5,
                mqe: r.mqe.map(Into::into),
            };
            if by_id.insert(r.id.as_str().into(), def).is_some() {
                err(format!("rule[{i}].id"), format!("{} is defined twice", r.id));
            }
        }
        let mut by_rule = Vec::with_capacity(Rule::ALL.len());
        for rule in Rule::ALL {
            match by_id.get(rule.id()) {
                Some(def) => by_rule.push(def.clone()),
                None => err(rule.id().into(), "reported by the code but missing".into()),
            }
        }
        if errors.is_empty() {
            Ok(RuleCatalogue { by_rule, by_id })
        } else {
            Err(SpecErrors(errors))
        }
    }
}

/// `SEG` or `SEG^seq[^field[^rep[^comp]]]` with numeric parts.
fn valid_location(loc: &str) -> bool {
    let mut parts = loc.split('^');
    let seg = parts.next().unwrap_or_default();
    seg.len() == 3
        && seg.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_mistakes_are_reported_together() {
        let text = r#"
[[rule]]
id = "X1"
severity = "Q"
message = "bad {thing}"
hl7 = "pid-5"
err3 = 999
err5 = 0
"#;
        let errors = RuleCatalogue::compile("rules.toml", text).unwrap_err().0;
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        for expected in ["severity", "message", "err3", "err5", "hl7"] {
            assert!(keys.iter().any(|k| k.ends_with(expected)), "{expected} in {keys:?}");
        }
        // And every rule the code reports is named as missing.
        assert!(errors.iter().any(|e| e.key == "F001"));
    }

    #[test]
    fn locations() {
        assert!(valid_location("RXA^1^5^1^1"));
        assert!(valid_location("PID"));
        assert!(!valid_location("PID-5"));
        assert!(!valid_location("RXA^^5"));
    }
}
