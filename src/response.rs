//! The response file (formats.md §1.3): a job summary followed by one line per finding
//! (file, line, record id, field, severity, rule id, message), written next to the inputs.

use std::io::{self, Write};

use crate::finding::{Finding, InputFile};
use crate::spec::RuleCatalogue;

/// Outcome counts of one kind of record. `read = converted + rejected` always holds;
/// `warned` counts the converted records that carry warnings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records read.
    pub read: u64,
    /// Records converted (with or without warnings).
    pub converted: u64,
    /// Converted records with warnings or information.
    pub warned: u64,
    /// Records rejected.
    pub rejected: u64,
}

impl Counts {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: Counts) {
        self.read += other.read;
        self.converted += other.converted;
        self.warned += other.warned;
        self.rejected += other.rejected;
    }
}

/// The header line of the findings table.
pub const FINDINGS_HEADER: &str = "file|line|record_id|field|severity|rule|message";

/// Appends one findings-table line for `finding` to `out`.
pub fn write_finding(
    out: &mut Vec<u8>,
    rules: &RuleCatalogue,
    file_names: [&str; 2],
    record_id: &str,
    finding: &Finding,
) -> io::Result<()> {
    let def = rules.get(finding.rule);
    let file = match finding.file {
        InputFile::Client => file_names[0],
        InputFile::Immunization => file_names[1],
    };
    // The table is pipe-delimited: keep quoted values from breaking it.
    let message = def.render(finding.value.as_deref()).replace(['|', '\r', '\n'], " ");
    writeln!(
        out,
        "{file}|{}|{}|{}|{}|{}|{message}",
        finding.line,
        record_id.replace('|', " "),
        finding.field,
        def.severity,
        def.id
    )
}
