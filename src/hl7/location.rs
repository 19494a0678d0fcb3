//! ERR-2 error locations (HL7 ERL): `SEG^seq^field^rep^comp`.

use std::fmt;

/// An HL7 ERR-2 location: `SEG^seq^field^rep^comp`. Zero parts are left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Segment id, when it is a 3-character id.
    pub segment: Option<[u8; 3]>,
    /// Sequence among segments with that id (1-based), 0 when unknown.
    pub seq: u32,
    /// Field number, 0 for the whole segment.
    pub field: u32,
    /// Repetition, 0 when not relevant.
    pub rep: u32,
    /// Component, 0 when not relevant.
    pub comp: u32,
}

impl Location {
    /// A segment-level location (`PID` or `PID^1`).
    pub fn segment(id: &str, seq: u32) -> Location {
        let segment = <[u8; 3]>::try_from(id.as_bytes())
            .ok()
            .filter(|b| b.iter().all(u8::is_ascii_alphanumeric));
        Location { segment, seq, ..Location::default() }
    }

    /// The same location narrowed to a field.
    pub fn field(self, field: u32) -> Location {
        Location { field, ..self }
    }

    /// The same location narrowed to repetition `rep`, component `comp`.
    pub fn comp(self, rep: u32, comp: u32) -> Location {
        Location { rep, comp, ..self }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(seg) = self.segment else { return Ok(()) };
        f.write_str(std::str::from_utf8(&seg).unwrap_or(""))?;
        let rep = if self.comp > 0 { self.rep.max(1) } else { self.rep };
        let parts = [self.seq, self.field, rep, self.comp];
        let last = parts.iter().rposition(|&p| p > 0).map_or(0, |i| i + 1);
        for p in parts.iter().take(last) {
            write!(f, "^{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_render_like_the_ig() {
        assert_eq!(Location::segment("PID", 0).to_string(), "PID");
        assert_eq!(Location::segment("PID", 1).field(7).to_string(), "PID^1^7");
        assert_eq!(Location::segment("RXA", 2).field(5).comp(1, 1).to_string(), "RXA^2^5^1^1");
        assert_eq!(Location::segment("PID", 1).field(3).comp(0, 5).to_string(), "PID^1^3^1^5");
        assert_eq!(Location::segment("WHOOPS", 1).to_string(), "");
    }
}
