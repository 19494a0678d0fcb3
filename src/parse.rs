//! Text to fields: slices a decoded line by its compiled layout (fixed width or
//! delimited) and applies the generic per-field checks the layout declares (required,
//! dates, digits). No semantics beyond the layout.

use chrono::NaiveDate;

use crate::finding::{Finding, InputFile, Rule};
use crate::spec::{FieldType, Format, Layout};

/// Fields of one record as trimmed text, indexed by the record type's field enum.
/// Fields the layout lacks, and optional fields that failed their generic check, are "".
pub type Fields<'a> = Vec<&'a str>;

/// Reusable buffers for parsing, one per worker.
#[derive(Default)]
pub struct Scratch {
    char_starts: Vec<usize>,
    unquoted: Vec<u8>,
    field_ends: Vec<usize>,
}

/// Parses `line` into `out` (cleared first), appending findings. Returns `false` when
/// the line is structurally unusable (blank, or a wrong field count).
#[allow(clippy::too_many_arguments)]
pub fn parse_line<'a>(
    layout: &Layout,
    file: InputFile,
    line_no: u64,
    line: &'a str,
    scratch: &'a mut Scratch,
    out: &mut Fields<'a>,
    findings: &mut Vec<Finding>,
) -> bool {
    out.clear();
    out.resize(layout.fields.len(), "");
    if trim_blank(line).is_empty() {
        findings.push(Finding::new(Rule::BlankLine, file, line_no, "", ""));
        return false;
    }
    match layout.format {
        Format::FixedWidth => {
            slice_fixed(layout, file, line_no, line, &mut scratch.char_starts, out, findings)
        }
        Format::Delimited => {
            let Scratch { unquoted, field_ends, .. } = scratch;
            if !split_delimited(layout, file, line_no, line, unquoted, field_ends, findings) {
                return false;
            }
            let text = std::str::from_utf8(unquoted).unwrap_or_default();
            for (slot, def) in layout.fields.iter().enumerate() {
                if let Some(def) = def {
                    let start = if def.start == 0 { 0 } else { field_ends[def.start - 1] };
                    out[slot] =
                        trim_blank(text.get(start..field_ends[def.start]).unwrap_or_default());
                }
            }
        }
    }
    check_generic(layout, file, line_no, out, findings);
    true
}

fn slice_fixed<'a>(
    layout: &Layout,
    file: InputFile,
    line_no: u64,
    line: &'a str,
    char_starts: &mut Vec<usize>,
    out: &mut Fields<'a>,
    findings: &mut Vec<Finding>,
) {
    // Positions count characters; in an ASCII line a character is a byte.
    let ascii = line.is_ascii();
    if !ascii {
        char_starts.clear();
        char_starts.extend(line.char_indices().map(|(i, _)| i));
        char_starts.push(line.len());
    }
    let chars = if ascii { line.len() } else { char_starts.len() - 1 };
    let byte_at = |pos: usize| if ascii { pos } else { char_starts[pos] };
    if chars > layout.line_length {
        let extra = &line[byte_at(layout.line_length)..];
        if !trim_blank(extra).is_empty() {
            findings.push(Finding::new(Rule::LineTooLong, file, line_no, "", &chars.to_string()));
        }
    } else if chars < layout.line_length {
        findings.push(Finding::new(Rule::LineTooShort, file, line_no, "", &chars.to_string()));
    }
    for (slot, def) in layout.fields.iter().enumerate() {
        if let Some(def) = def {
            if def.start < chars {
                let end = def.end.min(chars);
                out[slot] = trim_blank(&line[byte_at(def.start)..byte_at(end)]);
            }
        }
    }
}

/// Splits a delimited line with RFC 4180 quoting into `unquoted`, recording each field's
/// end offset in `ends`.
fn split_delimited(
    layout: &Layout,
    file: InputFile,
    line_no: u64,
    line: &str,
    unquoted: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    findings: &mut Vec<Finding>,
) -> bool {
    unquoted.clear();
    ends.clear();
    let mut reader = csv_core::ReaderBuilder::new().delimiter(layout.delimiter).build();
    let mut input = line.as_bytes();
    let mut buf = [0u8; 1024];
    loop {
        let (result, nin, nout) = reader.read_field(input, &mut buf);
        input = &input[nin..];
        unquoted.extend_from_slice(&buf[..nout]);
        match result {
            csv_core::ReadFieldResult::OutputFull => continue,
            csv_core::ReadFieldResult::Field { record_end } => {
                ends.push(unquoted.len());
                if record_end {
                    break;
                }
            }
            csv_core::ReadFieldResult::InputEmpty => {
                // Tell the reader the line is complete.
                input = &[];
            }
            csv_core::ReadFieldResult::End => break,
        }
    }
    if ends.len() != layout.columns {
        findings.push(Finding::new(
            Rule::WrongFieldCount,
            file,
            line_no,
            "",
            &ends.len().to_string(),
        ));
        return false;
    }
    true
}

fn check_generic(
    layout: &Layout,
    file: InputFile,
    line_no: u64,
    out: &mut Fields<'_>,
    findings: &mut Vec<Finding>,
) {
    for (slot, def) in layout.fields.iter().enumerate() {
        let Some(def) = def else { continue };
        let value = out[slot];
        if value.is_empty() {
            if def.required {
                findings.push(Finding::new(Rule::RequiredMissing, file, line_no, def.name, ""));
            }
            continue;
        }
        let bad = match def.kind {
            FieldType::Date if parse_date(value).is_none() => Some(if def.required {
                Rule::RequiredDateInvalid
            } else {
                Rule::OptionalDateInvalid
            }),
            FieldType::Digits if !value.bytes().all(|b| b.is_ascii_digit()) => {
                Some(Rule::NotNumeric)
            }
            _ => None,
        };
        if let Some(rule) = bad {
            findings.push(Finding::new(rule, file, line_no, def.name, value));
            out[slot] = "";
        }
    }
}

/// Trims the spaces that pad fixed-width fields, eight at a time. `str::trim` checks
/// every character for Unicode white space, and blanks are most of a fixed-width file.
pub fn trim_blank(s: &str) -> &str {
    const EIGHT: &[u8; 8] = b"        ";
    let b = s.as_bytes();
    let mut start = 0;
    while b.get(start..start + 8) == Some(EIGHT) {
        start += 8;
    }
    while b.get(start) == Some(&b' ') {
        start += 1;
    }
    let mut end = b.len();
    while end >= start + 8 && &b[end - 8..end] == EIGHT {
        end -= 8;
    }
    while end > start && b[end - 1] == b' ' {
        end -= 1;
    }
    // Spaces are ASCII, so both cuts fall on character boundaries.
    &s[start..end]
}

/// Parses an `MMDDYYYY` date.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    let b = value.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| value[r].parse::<u32>().ok();
    let year = i32::try_from(num(4..8)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(0..2)?, num(2..4)?)
}

/// Whether a record is a delimited header row (its first field names the first field).
pub fn is_header(layout: &Layout, line: &str) -> bool {
    layout.format == Format::Delimited
        && line
            .split(char::from(layout.delimiter))
            .next()
            .is_some_and(|first| first.trim().trim_matches('"').eq_ignore_ascii_case("record_id"))
}

/// The record id of a line, for linking, without a full parse (`None` if blank).
pub fn record_key<'a>(layout: &Layout, line: &'a str) -> Option<&'a str> {
    // Slot 0 is record_id in both record types (checked when layouts compile).
    let def = layout.fields.first()?.as_ref()?;
    let key = match layout.format {
        Format::FixedWidth if line.is_ascii() => line.get(def.start..def.end.min(line.len()))?,
        Format::FixedWidth => {
            let mut starts = line.char_indices().map(|(i, _)| i).chain([line.len()]);
            let from = starts.nth(def.start)?;
            let to = starts.nth(def.end - def.start - 1).unwrap_or(line.len());
            &line[from..to]
        }
        Format::Delimited => {
            line.split(char::from(layout.delimiter)).nth(def.start)?.trim().trim_matches('"')
        }
    };
    Some(trim_blank(key)).filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ClientField, SpecFiles, SpecSet};

    fn specs() -> SpecSet {
        SpecSet::load(&SpecFiles::Embedded).unwrap()
    }

    /// Parses one line; returns whether it was usable, its fields and the rules fired.
    fn parse(layout: &Layout, line: &str) -> (bool, Vec<String>, Vec<Rule>) {
        let mut scratch = Scratch::default();
        let (mut fields, mut findings) = (Vec::new(), Vec::new());
        let ok = parse_line(
            layout,
            InputFile::Client,
            1,
            line,
            &mut scratch,
            &mut fields,
            &mut findings,
        );
        (
            ok,
            fields.iter().map(|f| f.to_string()).collect(),
            findings.iter().map(|f| f.rule).collect(),
        )
    }

    #[test]
    fn fixed_width_counts_characters_not_bytes() {
        let specs = specs();
        let layout = &specs.layouts["cair1"].client;
        let mut line = format!("{:<24}A{:<25}{:<25}{:<35}", "ID1", "José", "", "Peña");
        line.push_str(&format!("{:<10}01022020", ""));
        let (ok, fields, rules) = parse(layout, &format!("{line:<560}"));
        assert!(ok);
        assert_eq!(fields[ClientField::FirstName as usize], "José");
        assert_eq!(fields[ClientField::LastName as usize], "Peña");
        assert_eq!(fields[ClientField::BirthDate as usize], "01022020");
        assert_eq!(rules, vec![Rule::RequiredMissing], "site_id is blank");
    }

    #[test]
    fn short_long_and_blank_lines() {
        let specs = specs();
        let layout = &specs.layouts["cair1"].client;
        assert!(parse(layout, "ID").2.contains(&Rule::LineTooShort));
        assert!(parse(layout, &format!("{:<560}X", "ID")).2.contains(&Rule::LineTooLong));
        assert!(!parse(layout, &format!("{:<570}", "ID")).2.contains(&Rule::LineTooLong));
        assert_eq!(
            parse(layout, "  "),
            (false, vec![String::new(); ClientField::COUNT], vec![Rule::BlankLine])
        );
    }

    #[test]
    fn delimited_with_quotes() {
        let specs = specs();
        let layout = &specs.layouts["cair1-csv"].client;
        let mut cols = vec![""; layout.columns];
        cols[0] = "ID1";
        cols[2] = "\"Mary, Ann\"";
        cols[4] = "Smith";
        cols[6] = "01022020";
        let (ok, fields, _) = parse(layout, &cols.join(","));
        assert!(ok);
        assert_eq!(fields[ClientField::FirstName as usize], "Mary, Ann");
        assert_eq!(parse(layout, "a,b").2, vec![Rule::WrongFieldCount]);
        assert!(is_header(layout, "RECORD_ID,client_status"));
    }

    #[test]
    fn record_keys() {
        let specs = specs();
        let layout = &specs.layouts["cair1"].client;
        assert_eq!(record_key(layout, &format!("{:<24}José", " ID9")), Some("ID9"));
        assert_eq!(record_key(layout, "ÑÑ"), Some("ÑÑ"));
        assert_eq!(record_key(layout, "   "), None);
        let csv = &specs.layouts["cair1-csv"].client;
        assert_eq!(record_key(csv, "\"ID7\",A"), Some("ID7"));
    }

    #[test]
    fn trimming() {
        for (input, want) in [
            ("", ""),
            ("   ", ""),
            ("  ab c  ", "ab c"),
            ("x", "x"),
            ("           éé         ", "éé"),
        ] {
            assert_eq!(trim_blank(input), want, "{input:?}");
        }
        assert_eq!(trim_blank(&format!("{:>30}", "z")), "z");
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("02292024"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(parse_date("02302015"), None);
        assert_eq!(parse_date("2015-1-1"), None);
    }
}
