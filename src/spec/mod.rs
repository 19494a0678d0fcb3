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
