//! Bytes to text: encoding (a label, overridden by a UTF-8/UTF-16 BOM) and line framing
//! (CRLF, LF, a missing final terminator) with line numbers and byte offsets, keeping
//! each line's original bytes for reject files.

use std::io::{self, BufRead};

use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8};

use crate::error::{Error, Result};

/// The encoding of one input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileEncoding {
    /// The encoding used to decode.
    pub encoding: &'static Encoding,
    /// Length of the byte-order mark at the start of the file (0 if none).
    pub bom_len: usize,
}

impl FileEncoding {
    /// The encoding for `label`, or the one a BOM at the start of `head` announces.
    pub fn detect(label: &str, head: &[u8]) -> Result<FileEncoding> {
        let declared = resolve_label(label)?;
        Ok(match Encoding::for_bom(head) {
            Some((encoding, bom_len)) => FileEncoding { encoding, bom_len },
            None => FileEncoding { encoding: declared, bom_len: 0 },
        })
    }

    /// Bytes per code unit: 2 for UTF-16, 1 otherwise.
    fn unit(self) -> usize {
        if self.encoding == UTF_16LE || self.encoding == UTF_16BE {
            2
        } else {
            1
        }
    }

    /// The line terminator CRLF in this encoding (used between reject lines).
    pub fn crlf(self) -> &'static [u8] {
        if self.encoding == UTF_16LE {
            b"\r\0\n\0"
        } else if self.encoding == UTF_16BE {
            b"\0\r\0\n"
        } else {
            b"\r\n"
        }
    }

    /// The BOM bytes the file started with.
    pub fn bom(self) -> &'static [u8] {
        match self.bom_len {
            0 => b"",
            _ if self.encoding == UTF_8 => b"\xEF\xBB\xBF",
            _ if self.encoding == UTF_16LE => b"\xFF\xFE",
            _ => b"\xFE\xFF",
        }
    }
}

/// Resolves a WHATWG encoding label (`windows-1252`, `latin1`, `utf-8`, `utf-16le` …).
pub fn resolve_label(label: &str) -> Result<&'static Encoding> {
    Encoding::for_label_no_replacement(label.as_bytes())
        .ok_or_else(|| Error::UnknownEncoding { label: label.to_owned() })
}

/// Where a line is in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's first byte in the file.
    pub offset: u64,
    /// Length of the line's content, without its terminator.
    pub content_len: usize,
    /// Length of the line including its terminator.
    pub raw_len: usize,
}

/// Splits a byte stream into lines of one encoding, streaming.
pub struct LineReader<R> {
    reader: R,
    encoding: FileEncoding,
    next_number: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines from `reader`, which must be positioned after the BOM (if any).
    pub fn new(reader: R, encoding: FileEncoding) -> Self {
        LineReader { reader, encoding, next_number: 1, offset: encoding.bom_len as u64 }
    }

    /// Starts numbering at `number`, `offset` bytes into the file (after a seek).
    pub fn resume_at(reader: R, encoding: FileEncoding, number: u64, offset: u64) -> Self {
        LineReader { reader, encoding, next_number: number, offset }
    }

    /// Appends the next line's bytes (with terminator) to `raw`; `None` at end of file.
    pub fn read_line(&mut self, raw: &mut Vec<u8>) -> io::Result<Option<LineInfo>> {
        let start = raw.len();
        let unit = self.encoding.unit();
        let be = self.encoding.encoding == UTF_16BE;
        loop {
            let n = self.reader.read_until(b'\n', raw)?;
            if n == 0 {
                break;
            }
            let len = raw.len() - start;
            if unit == 1 {
                break;
            }
            // A UTF-16 newline is the unit 0x000A: the 0x0A byte must sit at the right
            // half of an aligned unit, with a zero byte as its other half.
            if be {
                if len % 2 == 0 && len >= 2 && raw[raw.len() - 2] == 0 {
                    break;
                }
            } else if len % 2 == 1 {
                let mut next = [0u8; 1];
                match self.reader.read(&mut next)? {
                    0 => break,
                    _ => {
                        raw.push(next[0]);
                        if next[0] == 0 {
                            break;
                        }
                    }
                }
            }
        }
        let raw_len = raw.len() - start;
        if raw_len == 0 {
            return Ok(None);
        }
        let line = &raw[start..];
        let content_len = raw_len - terminator_len(line, unit, be);
        let info = LineInfo { number: self.next_number, offset: self.offset, content_len, raw_len };
        self.next_number += 1;
        self.offset += raw_len as u64;
        Ok(Some(info))
    }
}

/// Length of the LF or CRLF ending `line`, in bytes.
fn terminator_len(line: &[u8], unit: usize, be: bool) -> usize {
    let unit_at = |i: usize| -> Option<u16> {
        let b = line.get(i..i + unit)?;
        Some(match (unit, be) {
            (1, _) => u16::from(b[0]),
            (_, true) => u16::from_be_bytes([b[0], b[1]]),
            (_, false) => u16::from_le_bytes([b[0], b[1]]),
        })
    };
    let n = line.len();
    if n < unit || unit_at(n - unit) != Some(0x0A) {
        return 0;
    }
    if n >= 2 * unit && unit_at(n - 2 * unit) == Some(0x0D) {
        2 * unit
    } else {
        unit
    }
}

/// Decodes `src` into `dst` (cleared first). Returns the byte offset of the first byte
/// sequence the encoding cannot map; such sequences decode to U+FFFD.
pub fn decode_into(encoding: &'static Encoding, src: &[u8], dst: &mut String) -> Option<usize> {
    dst.clear();
    decode_append(encoding, src, dst)
}

/// [`decode_into`] without clearing `dst`: appends the decoded text.
pub fn decode_append(encoding: &'static Encoding, src: &[u8], dst: &mut String) -> Option<usize> {
    if encoding.is_ascii_compatible() && src.is_ascii() {
        // ASCII is a common case and needs no decoder.
        dst.push_str(std::str::from_utf8(src).unwrap_or_default());
        return None;
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut first_bad = None;
    let mut pos = 0;
    dst.reserve(decoder.max_utf8_buffer_length(src.len()).unwrap_or(src.len() * 3));
    loop {
        let (result, read) = decoder.decode_to_string_without_replacement(&src[pos..], dst, true);
        pos += read;
        match result {
            DecoderResult::InputEmpty => return first_bad,
            DecoderResult::OutputFull => dst.reserve(src.len() - pos + 16),
            DecoderResult::Malformed(bad, after) => {
                first_bad.get_or_insert(pos - bad as usize - after as usize);
                dst.push('\u{FFFD}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    fn lines(bytes: &[u8], label: &str) -> Vec<(LineInfo, Vec<u8>)> {
        let enc = FileEncoding::detect(label, bytes).unwrap();
        let mut reader = LineReader::new(&bytes[enc.bom_len..], enc);
        let mut out = Vec::new();
        loop {
            let mut raw = Vec::new();
            match reader.read_line(&mut raw).unwrap() {
                Some(info) => out.push((info, raw)),
                None => return out,
            }
        }
    }

    #[test]
    fn crlf_lf_and_missing_final_terminator() {
        let got = lines(b"ab\r\ncd\nef", "windows-1252");
        let summary: Vec<(u64, u64, usize, usize)> =
            got.iter().map(|(i, _)| (i.number, i.offset, i.content_len, i.raw_len)).collect();
        assert_eq!(summary, vec![(1, 0, 2, 4), (2, 4, 2, 3), (3, 7, 2, 2)]);
    }

    #[test]
    fn utf16_bom_overrides_label() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "Jos\u{e9}\r\n\u{0a0a}x\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let got = lines(&bytes, "windows-1252");
        assert_eq!(got.len(), 2);
        let mut text = String::new();
        assert_eq!(decode_into(UTF_16LE, &got[0].1[..got[0].0.content_len], &mut text), None);
        assert_eq!(text, "José");
        // U+0A0A contains a 0x0A byte that is not a newline.
        decode_into(UTF_16LE, &got[1].1[..got[1].0.content_len], &mut text);
        assert_eq!(text, "\u{0a0a}x");
    }

    #[test]
    fn bad_bytes_have_offsets() {
        let mut text = String::new();
        assert_eq!(decode_into(UTF_8, b"ab\xFFcd", &mut text), Some(2));
        assert_eq!(text, "ab\u{FFFD}cd");
        assert_eq!(decode_into(WINDOWS_1252, b"Pe\xF1a", &mut text), None);
        assert_eq!(text, "Peña");
    }

    #[test]
    fn unknown_label_is_an_error() {
        assert!(matches!(resolve_label("klingon"), Err(Error::UnknownEncoding { .. })));
    }
}
