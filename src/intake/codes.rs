//! Code-table outcomes for incoming coded values, as MQE and the AIRA codebase define
//! them: valid, deprecated, invalid, unrecognized (CVX adds inactive and not usable).

use crate::finding::Rule;
use crate::hl7::Value;
use crate::spec::CodeSet;

use super::{Findings, Location};

/// What a code set says about a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    /// In the set and usable.
    Valid,
    /// In the set but replaced by another code.
    Deprecated,
    /// In the set and marked invalid.
    Invalid,
    /// A CVX no longer in use (fine for historical doses).
    Inactive,
    /// A CVX that was never licensed in the US (never active, non-US).
    NotUsable,
    /// Not in the set.
    Unrecognized,
}

/// Looks `code` up in `set`, reading the status column of CDC and AIRA tables.
pub fn lookup(set: &CodeSet, code: &str) -> CodeOutcome {
    let Some(entry) = set.get(code) else { return CodeOutcome::Unrecognized };
    match &*entry.status {
        "Deprecated" => CodeOutcome::Deprecated,
        "Invalid" => CodeOutcome::Invalid,
        "Inactive" => CodeOutcome::Inactive,
        "Never Active" | "Non-US" => CodeOutcome::NotUsable,
        _ => CodeOutcome::Valid,
    }
}

/// Checks component 1 of a coded value (CE/CWE/ID/IS) that is present: `unknown` fires
/// for unrecognized or invalid codes, [`Rule::CodeDeprecated`] for deprecated ones.
pub fn check(f: &mut Findings, set: &CodeSet, value: &Value<'_>, at: Location, unknown: Rule) {
    let code = value.comp(1).text();
    if code.is_empty() {
        return;
    }
    match lookup(set, &code) {
        CodeOutcome::Unrecognized | CodeOutcome::Invalid => f.push(unknown, at, &code),
        CodeOutcome::Deprecated => f.push(Rule::CodeDeprecated, at, &code),
        CodeOutcome::Valid | CodeOutcome::Inactive | CodeOutcome::NotUsable => {}
    }
}

/// An NDC as the 11-digit 5-4-2 key of the CDC tables; `None` when its segments are
/// ambiguous (10 digits without dashes).
pub fn ndc11(ndc: &str) -> Option<String> {
    let parts: Vec<&str> = ndc.split('-').collect();
    if !parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let pad = |p: &str, n: usize| format!("{p:0>n$}");
    match parts.as_slice() {
        [all] if all.len() == 11 => Some((*all).to_owned()),
        [a, b, c] if a.len() <= 5 && b.len() <= 4 && c.len() <= 2 => {
            Some(format!("{}{}{}", pad(a, 5), pad(b, 4), pad(c, 2)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{SpecFiles, SpecSet};

    #[test]
    fn outcomes_from_status() {
        let specs = SpecSet::load(&SpecFiles::Embedded).unwrap();
        assert_eq!(lookup(&specs.codes.cvx, "140"), CodeOutcome::Valid);
        assert_eq!(lookup(&specs.codes.cvx, "54"), CodeOutcome::Inactive);
        assert_eq!(lookup(&specs.codes.cvx, "0000"), CodeOutcome::Unrecognized);
    }

    #[test]
    fn ndc_keys() {
        assert_eq!(ndc11("00006-1101-99").as_deref(), Some("00006110199"));
        assert_eq!(ndc11("6-1101-9").as_deref(), Some("00006110109"));
        assert_eq!(ndc11("0006110199"), None);
        assert_eq!(ndc11("00006110199").as_deref(), Some("00006110199"));
    }
}
