//! Zero-copy HL7 v2 parsing over `&[u8]`: input framing (MLLP, batches, concatenated
//! messages, any segment terminator), message delimiters from MSH-1/MSH-2, and byte spans
//! for every segment, field, repetition, component and subcomponent.
//!
//! Parsing is structure only: no value is checked here. Nothing in this module panics on
//! any input: every slice goes through `get`.

use std::borrow::Cow;
use std::collections::HashMap;

use super::escape::unescape_with;

/// A byte range `start..end` in the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// Number of bytes.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span is empty.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    fn slice(self, src: &[u8]) -> &[u8] {
        src.get(self.start..self.end).unwrap_or_default()
    }
}

/// The five delimiters of a message (MSH-1 and MSH-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), `|`.
    pub field: u8,
    /// Component separator, `^`.
    pub component: u8,
    /// Repetition separator, `~`.
    pub repetition: u8,
    /// Escape character, `\`.
    pub escape: u8,
    /// Subcomponent separator, `&`.
    pub subcomponent: u8,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
        }
    }
}

/// Why a message header could not be read. Offsets are into the whole input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input holds no MSH segment at all.
    #[error("no MSH segment found")]
    NoMessage,
    /// MSH is too short to declare its delimiters.
    #[error("MSH at byte {offset} is too short to declare delimiters")]
    TruncatedHeader {
        /// Where the MSH starts.
        offset: usize,
    },
    /// MSH-1/MSH-2 declare unusable delimiters (letters, digits, terminators or repeats).
    #[error("MSH at byte {offset} declares unusable delimiters")]
    BadDelimiters {
        /// Where the MSH starts.
        offset: usize,
    },
}

fn is_terminator(b: u8) -> bool {
    // CR, LF, and the MLLP start (VT) and end (FS) bytes all end a segment.
    matches!(b, b'\r' | b'\n' | 0x0b | 0x1c)
}

/// Splits `src[from..to]` into segment spans, skipping empty lines and framing bytes.
fn segment_spans(src: &[u8], from: usize, to: usize) -> impl Iterator<Item = Span> + '_ {
    let src = src.get(..to.min(src.len())).unwrap_or_default();
    let mut pos = from;
    std::iter::from_fn(move || {
        while src.get(pos).is_some_and(|&b| is_terminator(b)) {
            pos += 1;
        }
        if pos >= src.len() {
            return None;
        }
        let start = pos;
        while src.get(pos).is_some_and(|&b| !is_terminator(b)) {
            pos += 1;
        }
        Some(Span { start, end: pos })
    })
}

fn starts_with(src: &[u8], span: Span, id: &[u8]) -> bool {
    span.slice(src).starts_with(id)
}

/// The messages of one input, as found by [`split`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Each message, from its MSH to the end of its last segment.
    pub messages: Vec<Span>,
    /// Whether the input was wrapped in a batch (FHS or BHS present).
    pub batch: bool,
    /// Non-blank segments before the first MSH that are not batch envelope.
    pub leading_junk: usize,
}

/// Finds the messages of an input: each starts at an MSH. FHS/BHS/BTS/FTS envelope
/// segments are dropped; everything else belongs to the message before it.
pub fn split(src: &[u8]) -> Split {
    let mut out = Split::default();
    let mut current: Option<Span> = None;
    for seg in segment_spans(src, 0, src.len()) {
        let envelope = [b"FHS", b"BHS", b"BTS", b"FTS"].iter().any(|id| starts_with(src, seg, *id));
        if envelope {
            out.batch |= starts_with(src, seg, b"FHS") || starts_with(src, seg, b"BHS");
            if let Some(m) = current.take() {
                out.messages.push(m);
            }
        } else if starts_with(src, seg, b"MSH") {
            if let Some(m) = current.replace(seg) {
                out.messages.push(m);
            }
        } else if let Some(m) = current.as_mut() {
            m.end = seg.end;
        } else {
            out.leading_junk += 1;
        }
    }
    out.messages.extend(current);
    out
}

/// One segment of a parsed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SegmentRec {
    span: Span,
    /// Index of field 0 (the segment id) in `Message::fields`; fields follow it.
    first_field: usize,
    field_count: usize,
    /// 1-based sequence number among segments with the same id.
    seq: u32,
}

/// A parsed message, borrowing the input.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    src: &'a [u8],
    span: Span,
    delims: Delimiters,
    segments: Vec<SegmentRec>,
    fields: Vec<Span>,
    /// Segments seen so far per 3-byte id, for sequence numbers (other ids have none).
    seen: HashMap<[u8; 3], u32>,
}

impl<'a> Message<'a> {
    /// Parses the message at `span` of `src` (a span from [`split`]).
    pub fn parse(src: &'a [u8], span: Span) -> Result<Message<'a>, ParseError> {
        let bytes = span.slice(src);
        let delims = header_delimiters(bytes, span.start)?;
        let mut msg = Message {
            src,
            span,
            delims,
            segments: Vec::new(),
            fields: Vec::new(),
            seen: HashMap::new(),
        };
        for seg in segment_spans(src, span.start, span.end) {
            msg.push_segment(seg);
        }
        Ok(msg)
    }

    fn push_segment(&mut self, seg: Span) {
        let first_field = self.fields.len();
        let bytes = seg.slice(self.src);
        let sep = self.delims.field;
        let is_msh = bytes.starts_with(b"MSH");
        let mut start = seg.start;
        let mut index = 0usize;
        for (i, &b) in bytes.iter().enumerate() {
            if b != sep {
                continue;
            }
            let at = seg.start + i;
            if is_msh && index == 0 {
                // MSH-1 is the separator itself; MSH-2 runs to the next separator.
                self.fields.push(Span { start, end: at });
                self.fields.push(Span { start: at, end: at + 1 });
                index = 2;
                start = at + 1;
                continue;
            }
            self.fields.push(Span { start, end: at });
            index += 1;
            start = at + 1;
        }
        self.fields.push(Span { start, end: seg.end });
        let id = self.fields.get(first_field).copied().unwrap_or_default().slice(self.src);
        let seq = match <[u8; 3]>::try_from(id) {
            Ok(key) => {
                let count = self.seen.entry(key).or_insert(0);
                *count += 1;
                *count
            }
            Err(_) => 0,
        };
        let field_count = self.fields.len() - first_field;
        self.segments.push(SegmentRec { span: seg, first_field, field_count, seq });
    }

    /// The delimiters this message declared.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// The message's bytes in the input.
    pub fn span(&self) -> Span {
        self.span
    }

    /// The raw bytes of the message.
    pub fn bytes(&self) -> &'a [u8] {
        self.span.slice(self.src)
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether the message has no segments (never true for a parsed message).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The segments in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_, 'a>> + '_ {
        (0..self.segments.len()).map(move |index| Segment { msg: self, index })
    }

    /// The segment at `index` (0-based, MSH is 0).
    pub fn segment(&self, index: usize) -> Option<Segment<'_, 'a>> {
        (index < self.segments.len()).then_some(Segment { msg: self, index })
    }

    /// The first segment with this id.
    pub fn first(&self, id: &str) -> Option<Segment<'_, 'a>> {
        self.segments().find(|s| s.id() == id)
    }

    /// The MSH segment.
    pub fn msh(&self) -> Option<Segment<'_, 'a>> {
        self.segment(0)
    }
}

/// Reads MSH-1 and MSH-2.
fn header_delimiters(bytes: &[u8], offset: usize) -> Result<Delimiters, ParseError> {
    let truncated = ParseError::TruncatedHeader { offset };
    let field = *bytes.get(3).ok_or(truncated.clone())?;
    let enc = bytes.get(4..).unwrap_or_default();
    let enc_len = enc.iter().position(|&b| b == field).unwrap_or(enc.len());
    let enc = enc.get(..enc_len).unwrap_or_default();
    let [component, repetition, escape, subcomponent, ..] = *enc else {
        return Err(truncated);
    };
    let d = Delimiters { field, component, repetition, escape, subcomponent };
    let all = [field, component, repetition, escape, subcomponent];
    let usable = all.iter().all(|&b| b.is_ascii_punctuation() || (b >= 0x80))
        && all.iter().enumerate().all(|(i, b)| !all.get(i + 1..).unwrap_or_default().contains(b));
    if usable {
        Ok(d)
    } else {
        Err(ParseError::BadDelimiters { offset })
    }
}

/// A segment of a [`Message`].
#[derive(Clone, Copy, Debug)]
pub struct Segment<'m, 'a> {
    msg: &'m Message<'a>,
    index: usize,
}

impl<'m, 'a> Segment<'m, 'a> {
    fn rec(&self) -> SegmentRec {
        self.msg.segments.get(self.index).copied().unwrap_or(SegmentRec {
            span: Span::default(),
            first_field: 0,
            field_count: 0,
            seq: 0,
        })
    }

    /// The segment id (`PID`), or `""` when it is not UTF-8.
    pub fn id(&self) -> &'a str {
        let span = self.msg.fields.get(self.rec().first_field).copied().unwrap_or_default();
        std::str::from_utf8(span.slice(self.msg.src)).unwrap_or("")
    }

    /// 1-based sequence number among the message's segments with the same id.
    pub fn seq(&self) -> u32 {
        self.rec().seq
    }

    /// Position in the message (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The segment's bytes in the input.
    pub fn span(&self) -> Span {
        self.rec().span
    }

    /// The number of the last field present.
    pub fn last_field(&self) -> usize {
        self.rec().field_count.saturating_sub(1)
    }

    /// Field `n` (1-based; for MSH, 1 is the separator and 2 the encoding characters).
    /// A field beyond the end is empty.
    pub fn field(&self, n: usize) -> Value<'a> {
        let rec = self.rec();
        let span = if n == 0 || n >= rec.field_count {
            Span { start: rec.span.end, end: rec.span.end }
        } else {
            self.msg.fields.get(rec.first_field + n).copied().unwrap_or_default()
        };
        let literal = self.id() == "MSH" && (n == 1 || n == 2);
        Value {
            src: self.msg.src,
            span,
            delims: self.msg.delims,
            level: if literal { Level::Literal } else { Level::Field },
        }
    }
}

/// What a [`Value`] is, which decides which delimiter splits it next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// A whole field (split by `~`).
    Field,
    /// One repetition (split by `^`).
    Repetition,
    /// One component (split by `&`).
    Component,
    /// One subcomponent (not split).
    Subcomponent,
    /// MSH-1 or MSH-2: never split.
    Literal,
}

/// A field, repetition, component or subcomponent: a span into the input.
#[derive(Clone, Copy, Debug)]
pub struct Value<'a> {
    src: &'a [u8],
    span: Span,
    delims: Delimiters,
    level: Level,
}

impl<'a> Value<'a> {
    /// The bytes as sent (escapes not decoded).
    pub fn raw(&self) -> &'a [u8] {
        self.span.slice(self.src)
    }

    /// Where the value is in the input.
    pub fn span(&self) -> Span {
        self.span
    }

    /// What kind of element it is.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Whether nothing was sent (HL7 `""`, the explicit null, counts as sent).
    pub fn is_empty(&self) -> bool {
        self.span.is_empty()
    }

    /// Whether the value holds anything other than delimiters.
    pub fn has_data(&self) -> bool {
        let d = self.delims;
        self.raw().iter().any(|&b| b != d.component && b != d.repetition && b != d.subcomponent)
    }

    /// The value with escapes decoded.
    pub fn text(&self) -> Cow<'a, str> {
        match self.level {
            Level::Literal => String::from_utf8_lossy(self.raw()),
            _ => unescape_with(self.raw(), &self.delims),
        }
    }

    fn nth(&self, sep: u8, n: usize, level: Level) -> Value<'a> {
        let raw = self.raw();
        let mut start = 0;
        let mut count = 1;
        for (i, &b) in raw.iter().enumerate() {
            if b == sep {
                if count == n {
                    return self.sub_value(start, i, level);
                }
                count += 1;
                start = i + 1;
            }
        }
        if count == n {
            self.sub_value(start, raw.len(), level)
        } else {
            self.sub_value(raw.len(), raw.len(), level)
        }
    }

    fn sub_value(&self, start: usize, end: usize, level: Level) -> Value<'a> {
        let span = Span { start: self.span.start + start, end: self.span.start + end };
        Value { src: self.src, span, delims: self.delims, level }
    }

    fn count(&self, sep: u8) -> usize {
        if self.is_empty() {
            0
        } else {
            1 + self.raw().iter().filter(|&&b| b == sep).count()
        }
    }

    /// Repetition `n` (1-based) of a field; on other levels `n = 1` is the value itself.
    pub fn rep(&self, n: usize) -> Value<'a> {
        match self.level {
            Level::Field => self.nth(self.delims.repetition, n, Level::Repetition),
            _ if n == 1 => *self,
            _ => self.sub_value(0, 0, self.level),
        }
    }

    /// Number of repetitions sent (0 for an empty field).
    pub fn rep_count(&self) -> usize {
        match self.level {
            Level::Field => self.count(self.delims.repetition),
            _ => usize::from(!self.is_empty()),
        }
    }

    /// The repetitions of a field.
    pub fn reps(&self) -> impl Iterator<Item = Value<'a>> + '_ {
        (1..=self.rep_count()).map(move |n| self.rep(n))
    }

    /// Number of components of a repetition (of the first repetition, for a field).
    pub fn comp_count(&self) -> usize {
        match self.level {
            Level::Field => self.rep(1).comp_count(),
            Level::Repetition => self.count(self.delims.component),
            _ => usize::from(!self.is_empty()),
        }
    }

    /// Number of subcomponents of a component (of the first one, for a field or repetition).
    pub fn sub_count(&self) -> usize {
        match self.level {
            Level::Field | Level::Repetition => self.comp(1).sub_count(),
            Level::Component => self.count(self.delims.subcomponent),
            _ => usize::from(!self.is_empty()),
        }
    }

    /// Component `n` (1-based) of the first repetition.
    pub fn comp(&self, n: usize) -> Value<'a> {
        match self.level {
            Level::Field => self.rep(1).comp(n),
            Level::Repetition => self.nth(self.delims.component, n, Level::Component),
            _ if n == 1 => *self,
            _ => self.sub_value(0, 0, self.level),
        }
    }

    /// Subcomponent `n` (1-based) of the first component.
    pub fn sub(&self, n: usize) -> Value<'a> {
        match self.level {
            Level::Field | Level::Repetition => self.comp(1).sub(n),
            Level::Component => self.nth(self.delims.subcomponent, n, Level::Subcomponent),
            _ if n == 1 => *self,
            _ => self.sub_value(0, 0, self.level),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VXU: &[u8] = b"MSH|^~\\&|APP|FAC|||20120701||VXU^V04^VXU_V04|ID1|P|2.5.1\r\
PID|1||123^^^A^MR~456^^^B^SR||Doe^Jane&Q\\F\\x||20070706\r\
RXA|0|1|20120814||140^Flu^CVX\r\
RXA|0|1|20120815||141^Flu^CVX\r";

    fn one(src: &[u8]) -> Message<'_> {
        let split = split(src);
        assert_eq!(split.messages.len(), 1, "{split:?}");
        Message::parse(src, split.messages[0]).unwrap()
    }

    #[test]
    fn fields_components_and_sequences() {
        let m = one(VXU);
        let msh = m.msh().unwrap();
        assert_eq!(msh.field(1).raw(), b"|");
        assert_eq!(msh.field(2).raw(), b"^~\\&");
        assert_eq!(msh.field(2).comp(1).raw(), b"^~\\&", "MSH-2 is never split");
        assert!(msh.field(2).comp(2).is_empty());
        assert_eq!(msh.field(9).comp(2).text(), "V04");
        assert_eq!(msh.field(12).text(), "2.5.1");
        let pid = m.first("PID").unwrap();
        assert_eq!(pid.field(3).rep_count(), 2);
        assert_eq!(pid.field(3).rep(2).comp(5).text(), "SR");
        assert_eq!(pid.field(5).comp(2).sub(2).text(), "Q|x");
        assert!(pid.field(99).is_empty());
        let rxas: Vec<_> = m.segments().filter(|s| s.id() == "RXA").map(|s| s.seq()).collect();
        assert_eq!(rxas, [1, 2]);
        let span = pid.field(5).comp(1).span();
        assert_eq!(&VXU[span.start..span.end], b"Doe");
    }

    #[test]
    fn terminators_framing_and_batches() {
        let framed = b"\x0bMSH|^~\\&|A\r\nPID|1\n\nRXA|0\x1c\r";
        let m = one(framed);
        assert_eq!(m.segments().map(|s| s.id()).collect::<Vec<_>>(), ["MSH", "PID", "RXA"]);

        let batch = b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|1\rPID|1\rMSH|^~\\&|2\rBTS|2\rFTS|1\r";
        let s = split(batch);
        assert!(s.batch);
        assert_eq!(s.messages.len(), 2);
        let second = Message::parse(batch, s.messages[1]).unwrap();
        assert_eq!(second.msh().unwrap().field(3).text(), "2");
        assert_eq!(second.len(), 1);
    }

    #[test]
    fn declared_delimiters_are_honoured() {
        let src = b"MSH#!@$%#A!B#C\rPID#1##x!y@z!w$F$";
        let m = one(src);
        let pid = m.first("PID").unwrap();
        assert_eq!(pid.field(3).rep(2).comp(2).text(), "w#");
    }

    #[test]
    fn bad_headers_are_errors_not_panics() {
        for src in [&b"MSH"[..], b"MSH|", b"MSH|^~", b"MSHA^~\\&", b"MSH|^^\\&|"] {
            let s = split(src);
            for span in s.messages {
                assert!(Message::parse(src, span).is_err(), "{:?}", String::from_utf8_lossy(src));
            }
        }
        assert_eq!(split(b"PID|1\r").leading_junk, 1);
    }
}
