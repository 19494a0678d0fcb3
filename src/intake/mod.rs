//! VXU intake: validates incoming HL7 VXU messages like an IIS and answers each with an
//! ACK. Every finding is reported, not only the first; the rule catalogue decides
//! severities, so a registry retunes checks in `specs/rules.toml`, not here.
//!
//! Layers: [`header`] (MSH), [`structure`] (Z22 profile), [`codes`] (code-table
//! outcomes) and [`business`] (IIS rules) each add [`Finding`]s; [`process`] splits an
//! input into messages, validates them in parallel and writes the ACKs in input order.

pub mod business;
pub mod codes;
pub mod command;
pub mod header;
pub mod structure;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::finding::Rule;
use crate::hl7::ack::{AckCode, AckWriter, ErrEntry};
pub use crate::hl7::Location;
use crate::hl7::{parse, Message};
use crate::spec::SpecSet;

/// One finding on one message: a rule, where it fired, and the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Rule,
    /// Where in the message.
    pub location: Location,
    /// The offending value, quoted in ERR-8.
    pub value: Option<Box<str>>,
}

/// The findings of one message, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    /// Records a finding quoting `value` (an empty value is recorded as none).
    pub fn push(&mut self, rule: Rule, location: Location, value: &str) {
        let value = (!value.is_empty()).then(|| value.into());
        self.0.push(Finding { rule, location, value });
    }

    /// Whether `rule` was reported.
    pub fn has(&self, rule: Rule) -> bool {
        self.0.iter().any(|f| f.rule == rule)
    }
}

/// Validates messages against the specs, as of a processing time.
#[derive(Clone, Copy, Debug)]
pub struct Validator<'s> {
    specs: &'s SpecSet,
    now: DateTime<FixedOffset>,
}

impl<'s> Validator<'s> {
    /// A validator judging dates against `now` (the processing time).
    pub fn new(specs: &'s SpecSet, now: DateTime<FixedOffset>) -> Self {
        Validator { specs, now }
    }

    /// The specs in use.
    pub fn specs(&self) -> &'s SpecSet {
        self.specs
    }

    /// The processing time.
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.now
    }

    /// Every finding on a parsed message.
    pub fn validate(&self, msg: &Message<'_>) -> Findings {
        let mut findings = Findings::default();
        let supported = header::check(self, msg, &mut findings);
        if supported {
            structure::check(self, msg, &mut findings);
            business::check(self, msg, &mut findings);
        }
        findings
    }
}

/// The most ERR segments one ACK lists; the rest are counted in one [`Rule::FindingsTruncated`].
/// Garbage input can yield thousands of findings, and no sender reads past the first ones.
pub const MAX_ERRS: usize = 100;

impl Validator<'_> {
    /// The ERR entries for these findings, per the rule catalogue, errors first, capped
    /// at [`MAX_ERRS`].
    pub fn err_entries(&self, findings: &Findings) -> Vec<ErrEntry> {
        let rules = &self.specs.rules;
        let entry = |f: &Finding| {
            let def = rules.get(f.rule);
            ErrEntry {
                location: f.location,
                err3: def.err3,
                severity: def.severity,
                err5: def.err5,
                rule_id: def.id.clone(),
                message: def.render(f.value.as_deref()),
            }
        };
        let mut entries: Vec<ErrEntry> = findings.0.iter().map(entry).collect();
        // Envelope rejects first, so the cap never hides what makes the ACK an AR.
        entries.sort_by_key(|e| (e.severity, !e.rejects()));
        if entries.len() > MAX_ERRS {
            let rest = entries.len() - (MAX_ERRS - 1);
            entries.truncate(MAX_ERRS - 1);
            let summary = Finding {
                rule: Rule::FindingsTruncated,
                location: Location::default(),
                value: Some(rest.to_string().into()),
            };
            entries.push(entry(&summary));
        }
        entries
    }
}

/// Counts of the ACK codes written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Messages accepted without findings that matter (AA).
    pub accepted: u64,
    /// Messages answered AE.
    pub errors: u64,
    /// Messages rejected (AR).
    pub rejected: u64,
}

impl Summary {
    fn add(&mut self, code: AckCode) {
        match code {
            AckCode::Aa => self.accepted += 1,
            AckCode::Ae => self.errors += 1,
            AckCode::Ar => self.rejected += 1,
        }
    }

    /// The counts of both.
    pub fn merge(mut self, other: Summary) -> Summary {
        self.accepted += other.accepted;
        self.errors += other.errors;
        self.rejected += other.rejected;
        self
    }

    /// Total messages answered.
    pub fn total(&self) -> u64 {
        self.accepted + self.errors + self.rejected
    }
}

/// Messages validated per rayon task: large enough to amortize scheduling, small enough
/// to balance two cores on files of a few thousand messages.
const CHUNK: usize = 512;

/// Validates every message of `input` and appends one ACK per message to `out`, in input
/// order (inside an FHS/BHS batch when the input was a batch). ACK control ids continue
/// from `first_seq`. Input without any MSH gets a single AR.
pub fn process(
    input: &[u8],
    validator: &Validator<'_>,
    acks: &AckWriter,
    first_seq: u64,
    out: &mut Vec<u8>,
) -> Summary {
    process_with(input, validator, acks, first_seq, out, |_, _| ()).0
}

/// One message as [`process_with`] answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered<T> {
    /// The message's bytes in the input (the whole input when it held no MSH).
    pub message: parse::Span,
    /// Its ACK's bytes in the output.
    pub ack: std::ops::Range<usize>,
    /// MSA-1 of the ACK.
    pub code: AckCode,
    /// What `inspect` made of the parsed message; `None` when it could not be parsed.
    pub detail: Option<T>,
}

/// [`process`], also handing each parsed message and its findings to `inspect` (on the
/// validating threads) and returning every message's answer in input order, so a caller
/// that stores messages validates them once, exactly as `validate` does.
pub fn process_with<T: Send>(
    input: &[u8],
    validator: &Validator<'_>,
    acks: &AckWriter,
    first_seq: u64,
    out: &mut Vec<u8>,
    inspect: impl Fn(&Message<'_>, &Findings) -> T + Sync,
) -> (Summary, Vec<Answered<T>>) {
    let split = parse::split(input);
    if split.batch {
        acks.batch_header(out);
    }
    let mut summary = Summary::default();
    let mut answers = Vec::with_capacity(split.messages.len().max(1));
    if split.messages.is_empty() {
        let mut findings = Findings::default();
        findings.push(Rule::Unparseable, Location::segment("MSH", 0), "no MSH segment found");
        let start = out.len();
        let code = acks.write(out, first_seq, None, &validator.err_entries(&findings));
        summary.add(code);
        let message = parse::Span { start: 0, end: input.len() };
        answers.push(Answered { message, ack: start..out.len(), code, detail: None });
    } else {
        let chunks: Vec<(Vec<u8>, Vec<Answered<T>>)> = split
            .messages
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, spans)| {
                let mut buf = Vec::with_capacity(spans.len() * 256);
                let mut answered = Vec::with_capacity(spans.len());
                for (i, &span) in spans.iter().enumerate() {
                    let seq = first_seq + (c * CHUNK + i) as u64;
                    let start = buf.len();
                    let (code, detail) =
                        answer(input, span, validator, acks, seq, &mut buf, &inspect);
                    answered.push(Answered { message: span, ack: start..buf.len(), code, detail });
                }
                (buf, answered)
            })
            .collect();
        for (buf, answered) in chunks {
            let base = out.len();
            out.extend_from_slice(&buf);
            for mut a in answered {
                summary.add(a.code);
                a.ack = a.ack.start + base..a.ack.end + base;
                answers.push(a);
            }
        }
    }
    if split.batch {
        acks.batch_trailer(out, summary.total());
    }
    (summary, answers)
}

fn answer<T>(
    input: &[u8],
    span: parse::Span,
    validator: &Validator<'_>,
    acks: &AckWriter,
    seq: u64,
    out: &mut Vec<u8>,
    inspect: &impl Fn(&Message<'_>, &Findings) -> T,
) -> (AckCode, Option<T>) {
    match Message::parse(input, span) {
        Ok(msg) => {
            let findings = validator.validate(&msg);
            let code = acks.write(out, seq, Some(&msg), &validator.err_entries(&findings));
            (code, Some(inspect(&msg, &findings)))
        }
        Err(e) => {
            let mut findings = Findings::default();
            findings.push(Rule::Unparseable, Location::segment("MSH", 1), &e.to_string());
            (acks.write(out, seq, None, &validator.err_entries(&findings)), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::ack::AckProfile;
    use crate::spec::SpecFiles;

    const GOOD: &str = "MSH|^~\\&|EHR|FAC|IIS|CAIR2|20260110080000-0800||VXU^V04^VXU_V04|C1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r\
PID|1||123^^^FAC^MR||Doe^Jane^^^^^L||20200101|F\r\
ORC|RE||9^FAC\r\
RXA|0|1|20260105||08^HepB^CVX|0.5|mL^mL^UCUM||00^New^NIP001||||||L1|20270101|MSD^Merck^MVX|||CP|A\r\
OBX|1|CE|64994-7^Elig^LN|1|V02^Medicaid^HL70064||||||F\r";

    fn run(input: &str, profile: AckProfile) -> (Summary, String) {
        let specs = SpecSet::load(&SpecFiles::Embedded).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-01-15T08:00:00-08:00").unwrap();
        let validator = Validator::new(&specs, now);
        let acks = AckWriter::new(profile, now);
        let mut out = Vec::new();
        let summary = process(input.as_bytes(), &validator, &acks, 1, &mut out);
        (summary, String::from_utf8(out).unwrap())
    }

    #[test]
    fn good_message_is_accepted_without_errs() {
        let (summary, ack) = run(GOOD, AckProfile::Cair2);
        assert_eq!(summary.accepted, 1, "{ack}");
        assert!(!ack.contains("ERR|"), "{ack}");
    }

    #[test]
    fn all_findings_are_reported() {
        let bad =
            GOOD.replace("20200101", "20990101").replace("|L1|", "||").replace("MSD^Merck^MVX", "");
        let (summary, ack) = run(&bad, AckProfile::Cdc);
        assert_eq!(summary.errors, 1);
        assert!(ack.contains("^P004^"), "{ack}");
        assert!(ack.contains("^V010^"), "{ack}");
        assert!(ack.contains("^V009^"), "{ack}");
    }

    #[test]
    fn no_msh_gets_one_ar() {
        let (summary, ack) = run("garbage", AckProfile::Cdc);
        assert_eq!(summary.rejected, 1);
        assert!(ack.contains("MSA|AR|\r"), "{ack}");
    }

    #[test]
    fn batches_are_answered_with_batches() {
        let input = format!("FHS|^~\\&\rBHS|^~\\&\r{GOOD}{GOOD}BTS|2\rFTS|1\r");
        let (summary, ack) = run(&input, AckProfile::Cair2);
        assert_eq!(summary.accepted, 2);
        assert!(ack.starts_with("FHS|") && ack.ends_with("BTS|2\rFTS|1\r"), "{ack}");
        assert!(
            ack.contains("ACK20260115080000-000001") && ack.contains("ACK20260115080000-000002")
        );
    }

    #[test]
    fn long_lists_are_capped() {
        let many = GOOD.replace("PID|1||", "PID|1|x|") + &"ZZZ|1\r".repeat(300);
        let (_, ack) = run(&many, AckProfile::Cdc);
        assert_eq!(ack.matches("ERR|").count(), MAX_ERRS);
        assert!(ack.contains("^M014^"), "{ack}");
    }
}
