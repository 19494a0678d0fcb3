//! The ACK^V04 writer (CDC IG 1.5 Z23, CAIR2 conventions): MSH with sender and receiver
//! swapped, MSA, and one ERR per finding ordered E, W, I. Output depends only on its
//! inputs and the supplied clock, so ACKs can be golden files.

use chrono::{DateTime, FixedOffset};

use super::escape::escape_into;
use super::location::Location;
use super::parse::{Message, Value};
use crate::finding::Severity;

/// Which MSA-1 convention and ERR-8 wording to follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AckProfile {
    /// CAIR2 (observed ACKs): AA only without ERR, AE on any ERR, AR for header failures;
    /// ERR-8 as `MESSAGE REJECTED - …`, `Warning: … Correct and resubmit.`, `Informational error - …`.
    #[default]
    Cair2,
    /// CDC IG 1.5 examples: AA when only warnings or information; ERR-8 is the plain message.
    Cdc,
}

/// MSA-1 (HL7 table 0008).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AckCode {
    /// Application accept.
    Aa,
    /// Application error.
    Ae,
    /// Application reject.
    Ar,
}

impl AckCode {
    /// The HL7 code.
    pub fn code(self) -> &'static str {
        match self {
            AckCode::Aa => "AA",
            AckCode::Ae => "AE",
            AckCode::Ar => "AR",
        }
    }
}

/// One ERR segment to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrEntry {
    /// ERR-2.
    pub location: Location,
    /// ERR-3, HL7 table 0357.
    pub err3: u16,
    /// ERR-4.
    pub severity: Severity,
    /// ERR-5.1, table 0533.
    pub err5: u16,
    /// ERR-5.4: the project's stable rule id.
    pub rule_id: Box<str>,
    /// The plain message naming the offending value (ERR-5.5, and ERR-8 after wording).
    pub message: String,
}

impl ErrEntry {
    /// Whether the entry rejects the whole message at the envelope (0357 2xx with E).
    pub fn rejects(&self) -> bool {
        self.severity == Severity::Error && (200..=207).contains(&self.err3)
    }
}

fn hl70357_text(code: u16) -> &'static str {
    match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        202 => "Unsupported processing id",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        206 => "Application record locked",
        _ => "Application internal error",
    }
}

fn hl70533_text(code: u16) -> &'static str {
    match code {
        1 => "Illogical Date error",
        2 => "Invalid Date",
        3 => "Illogical Value error",
        4 => "Invalid value",
        5 => "Table value not found",
        6 => "Required observation missing",
        7 => "Required data missing",
        _ => "Data was ignored",
    }
}

/// Writes ACKs for one run: fixed profile and clock; `seq` makes each MSH-10 unique.
#[derive(Clone, Debug)]
pub struct AckWriter {
    profile: AckProfile,
    /// MSH-7 of every ACK, `YYYYMMDDHHMMSS±ZZZZ`.
    timestamp: String,
    /// Prefix of MSH-10.
    control_prefix: String,
}

impl AckWriter {
    /// A writer stamping ACKs with `clock`.
    pub fn new(profile: AckProfile, clock: DateTime<FixedOffset>) -> Self {
        AckWriter {
            profile,
            timestamp: clock.format("%Y%m%d%H%M%S%z").to_string(),
            control_prefix: clock.format("ACK%Y%m%d%H%M%S-").to_string(),
        }
    }

    /// The profile in use.
    pub fn profile(&self) -> AckProfile {
        self.profile
    }

    /// MSA-1 for these ERR entries under the writer's profile.
    pub fn decide(&self, errs: &[ErrEntry]) -> AckCode {
        if errs.iter().any(ErrEntry::rejects) {
            AckCode::Ar
        } else if errs.iter().any(|e| e.severity == Severity::Error)
            || (self.profile == AckProfile::Cair2 && !errs.is_empty())
        {
            AckCode::Ae
        } else {
            AckCode::Aa
        }
    }

    /// Appends the ACK of one message (`msg` is `None` when it could not be parsed).
    /// ERR segments are written E, then W, then I, each group in the order given.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        seq: u64,
        msg: Option<&Message<'_>>,
        errs: &[ErrEntry],
    ) -> AckCode {
        let code = self.decide(errs);
        let msh = msg.and_then(Message::msh);
        let field = |n: usize| msh.map(|s| s.field(n));
        out.extend_from_slice(b"MSH|^~\\&|");
        // Sender and receiver swap: MSH-3/4 of the ACK are MSH-5/6 of the VXU and back.
        for n in [5, 6, 3, 4] {
            if let Some(v) = field(n) {
                reencode(out, &v);
            }
            out.push(b'|');
        }
        out.extend_from_slice(self.timestamp.as_bytes());
        out.extend_from_slice(b"||ACK^V04^ACK|");
        out.extend_from_slice(self.control_prefix.as_bytes());
        out.extend_from_slice(format!("{seq:06}").as_bytes());
        out.push(b'|');
        for (n, default) in [(11, "P"), (12, "2.5.1")] {
            match field(n).filter(Value::has_data) {
                Some(v) => reencode(out, &v),
                None => out.extend_from_slice(default.as_bytes()),
            }
            out.push(b'|');
        }
        out.extend_from_slice(b"||NE|NE|||||Z23^CDCPHINVS\rMSA|");
        out.extend_from_slice(code.code().as_bytes());
        out.push(b'|');
        if let Some(v) = field(10) {
            reencode(out, &v);
        }
        out.push(b'\r');
        for severity in [Severity::Error, Severity::Warning, Severity::Info] {
            for e in errs.iter().filter(|e| e.severity == severity) {
                self.err(out, e);
            }
        }
        code
    }

    fn err(&self, out: &mut Vec<u8>, e: &ErrEntry) {
        out.extend_from_slice(b"ERR||");
        out.extend_from_slice(e.location.to_string().as_bytes());
        out.extend_from_slice(
            format!("|{}^{}^HL70357|{}|", e.err3, hl70357_text(e.err3), e.severity.code())
                .as_bytes(),
        );
        out.extend_from_slice(format!("{}^{}^HL70533^", e.err5, hl70533_text(e.err5)).as_bytes());
        escape_into(out, &e.rule_id);
        out.push(b'^');
        escape_into(out, &e.message);
        out.extend_from_slice(b"^L|||");
        let text = match self.profile {
            AckProfile::Cdc => e.message.clone(),
            AckProfile::Cair2 => match e.severity {
                Severity::Error => format!("MESSAGE REJECTED - {}", e.message),
                Severity::Warning => {
                    format!("Warning: {}. Correct and resubmit.", e.message.trim_end_matches('.'))
                }
                Severity::Info => format!("Informational error - {}", e.message),
            },
        };
        escape_into(out, &text);
        out.push(b'\r');
    }

    /// Opens an ACK batch (`FHS`, `BHS`) for an input that was a batch.
    pub fn batch_header(&self, out: &mut Vec<u8>) {
        for seg in ["FHS", "BHS"] {
            out.extend_from_slice(format!("{seg}|^~\\&|||||{}\r", self.timestamp).as_bytes());
        }
    }

    /// Closes an ACK batch with its message count.
    pub fn batch_trailer(&self, out: &mut Vec<u8>, messages: u64) {
        out.extend_from_slice(format!("BTS|{messages}\rFTS|1\r").as_bytes());
    }
}

/// Copies the first repetition of a field from the input's delimiters to the standard
/// ones, decoding and re-escaping each subcomponent.
fn reencode(out: &mut Vec<u8>, v: &Value<'_>) {
    let rep = v.rep(1);
    for c in 1..=rep.comp_count() {
        if c > 1 {
            out.push(b'^');
        }
        let comp = rep.comp(c);
        for s in 1..=comp.sub_count() {
            if s > 1 {
                out.push(b'&');
            }
            escape_into(out, &comp.sub(s).text());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::parse::split;

    fn clock() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-01-15T08:00:00-08:00").unwrap()
    }

    fn entry(severity: Severity, err3: u16) -> ErrEntry {
        ErrEntry {
            location: Location::segment("PID", 1).field(7),
            err3,
            severity,
            err5: 1,
            rule_id: "P004".into(),
            message: "Birth date 2099|01 is in the future".into(),
        }
    }

    #[test]
    fn msh_msa_err_layout() {
        let src = b"MSH|^~\\&|EHR|FAC^X&Y|IIS|CAIR2|20120701||VXU^V04^VXU_V04|C1|P|2.5.1\r";
        let s = split(src);
        let msg = Message::parse(src, s.messages[0]).unwrap();
        let mut out = Vec::new();
        let w = AckWriter::new(AckProfile::Cair2, clock());
        let code = w.write(
            &mut out,
            7,
            Some(&msg),
            &[entry(Severity::Warning, 0), entry(Severity::Error, 102)],
        );
        assert_eq!(code, AckCode::Ae);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split('\r').collect();
        assert_eq!(
            lines[0],
            "MSH|^~\\&|IIS|CAIR2|EHR|FAC^X&Y|20260115080000-0800||ACK^V04^ACK|ACK20260115080000-000007|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS"
        );
        assert_eq!(lines[1], "MSA|AE|C1");
        assert_eq!(
            lines[2],
            "ERR||PID^1^7|102^Data type error^HL70357|E|1^Illogical Date error^HL70533^P004^Birth date 2099\\F\\01 is in the future^L|||MESSAGE REJECTED - Birth date 2099\\F\\01 is in the future"
        );
        assert!(lines[3].ends_with(
            "|||Warning: Birth date 2099\\F\\01 is in the future. Correct and resubmit."
        ));
    }

    #[test]
    fn msa_codes_by_profile() {
        let cair2 = AckWriter::new(AckProfile::Cair2, clock());
        let cdc = AckWriter::new(AckProfile::Cdc, clock());
        let w = [entry(Severity::Warning, 0)];
        assert_eq!(cair2.decide(&[]), AckCode::Aa);
        assert_eq!(cair2.decide(&w), AckCode::Ae);
        assert_eq!(cdc.decide(&w), AckCode::Aa);
        assert_eq!(cdc.decide(&[entry(Severity::Error, 203)]), AckCode::Ar);
        assert_eq!(cdc.decide(&[entry(Severity::Warning, 203)]), AckCode::Aa);
    }
}
