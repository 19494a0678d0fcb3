//! HL7 DT and TS values (`YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`) read into chrono types.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// How much of a timestamp was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// `YYYY`.
    Year,
    /// `YYYYMM`.
    Month,
    /// `YYYYMMDD`.
    Day,
    /// `YYYYMMDDHH`.
    Hour,
    /// `YYYYMMDDHHMM`.
    Minute,
    /// `YYYYMMDDHHMMSS[.S+]`.
    Second,
}

/// A parsed HL7 timestamp; missing parts read as the start of the period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Local date and time as sent.
    pub local: NaiveDateTime,
    /// How much was sent.
    pub precision: Precision,
    /// The UTC offset, when one was sent.
    pub offset: Option<FixedOffset>,
}

impl Timestamp {
    /// The date part.
    pub fn date(&self) -> NaiveDate {
        self.local.date()
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| acc.checked_mul(10)?.checked_add(u32::from(b - b'0')))
}

/// Parses an HL7 DT/TS value; `None` when it is not a real date and time.
pub fn parse(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let (main, offset) = match bytes.iter().position(|&b| b == b'+' || b == b'-') {
        Some(i) => {
            let (main, zone) = bytes.split_at(i);
            let sign = if zone.first() == Some(&b'-') { -1 } else { 1 };
            let zone = zone.get(1..)?;
            if zone.len() != 4 {
                return None;
            }
            let hh = digits(zone.get(..2)?)?;
            let mm = digits(zone.get(2..)?)?;
            if hh > 14 || mm > 59 {
                return None;
            }
            let secs = i32::try_from(hh * 3600 + mm * 60).ok()?;
            (main, Some(FixedOffset::east_opt(sign * secs)?))
        }
        None => (bytes, None),
    };
    let (main, fraction) = match main.iter().position(|&b| b == b'.') {
        Some(i) => (main.get(..i)?, main.get(i + 1..)),
        None => (main, None),
    };
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 4 || digits(f).is_none() {
            return None;
        }
    }
    let part = |range: std::ops::Range<usize>| main.get(range).and_then(digits);
    let precision = match main.len() {
        4 => Precision::Year,
        6 => Precision::Month,
        8 => Precision::Day,
        10 => Precision::Hour,
        12 => Precision::Minute,
        14 => Precision::Second,
        _ => return None,
    };
    if fraction.is_some() && precision != Precision::Second {
        return None;
    }
    let year = i32::try_from(part(0..4)?).ok()?;
    let month = if main.len() >= 6 { part(4..6)? } else { 1 };
    let day = if main.len() >= 8 { part(6..8)? } else { 1 };
    let hour = if main.len() >= 10 { part(8..10)? } else { 0 };
    let minute = if main.len() >= 12 { part(10..12)? } else { 0 };
    let second = if main.len() >= 14 { part(12..14)? } else { 0 };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    Some(Timestamp { local: date.and_time(time), precision, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_and_offsets() {
        let ts = parse("20120113083000-0500").unwrap();
        assert_eq!(ts.precision, Precision::Second);
        assert_eq!(ts.offset, FixedOffset::west_opt(5 * 3600));
        assert_eq!(parse("20070706").unwrap().precision, Precision::Day);
        assert_eq!(parse("201207010822").unwrap().precision, Precision::Minute);
        assert!(parse("20201105213053.805-0500").is_some());
        assert_eq!(parse("201508").unwrap().date(), NaiveDate::from_ymd_opt(2015, 8, 1).unwrap());
    }

    #[test]
    fn rejects_impossible_and_malformed() {
        for bad in [
            "",
            "20120230",
            "2012013",
            "20121301",
            "201201011261",
            "2012-01-01",
            "20120101+05",
            "x",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse("20120101+9900").is_none());
        assert!(parse("20120101.5").is_none());
    }
}
