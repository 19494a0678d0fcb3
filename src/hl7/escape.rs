//! HL7 v2 escape sequences: escaping values for output and decoding them on input.
//!
//! Output always uses the standard delimiters `| ^ ~ \ &`. Input may declare others in
//! MSH-1/MSH-2, so decoding takes the message's [`Delimiters`].

use std::borrow::Cow;

use super::parse::Delimiters;

/// Appends `value` to `out` with every delimiter escaped for the standard delimiters
/// (`|` → `\F\`, `^` → `\S\`, `~` → `\R\`, `\` → `\E\`, `&` → `\T\`).
///
/// CR and LF become `\X0D\` and `\X0A\`: a raw one would end the segment.
pub fn escape_into(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    // Most values have nothing to escape: find the first byte that needs it with one
    // table lookup per byte, and copy the rest in one go.
    let Some(first) = bytes.iter().position(|&b| NEEDS_ESCAPE[usize::from(b)]) else {
        out.extend_from_slice(bytes);
        return;
    };
    out.extend_from_slice(&bytes[..first]);
    for &b in &bytes[first..] {
        let esc: &[u8] = match b {
            b'|' => b"\\F\\",
            b'^' => b"\\S\\",
            b'~' => b"\\R\\",
            b'\\' => b"\\E\\",
            b'&' => b"\\T\\",
            b'\r' => b"\\X0D\\",
            b'\n' => b"\\X0A\\",
            _ => {
                out.push(b);
                continue;
            }
        };
        out.extend_from_slice(esc);
    }
}

/// The bytes [`escape_into`] replaces.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let specials = *b"|^~\\&\r\n";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = true;
        i += 1;
    }
    table
};

/// Decodes the escape sequences of a value written with the standard delimiters.
///
/// Unknown escapes (formatting such as `\.br\`, `\H\`) and unterminated ones are kept
/// verbatim; bytes that are not UTF-8 are replaced, so the result is always text.
pub fn unescape(raw: &[u8]) -> Cow<'_, str> {
    unescape_with(raw, &Delimiters::default())
}

/// [`unescape`] for a message that declared its own delimiters.
pub fn unescape_with<'a>(raw: &'a [u8], d: &Delimiters) -> Cow<'a, str> {
    if !raw.contains(&d.escape) {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.iter().position(|&c| c == d.escape) {
        let (plain, tail) = rest.split_at(start);
        out.extend_from_slice(plain);
        let after = tail.get(1..).unwrap_or_default();
        let Some(len) = after.iter().position(|&c| c == d.escape) else {
            // Unterminated: keep the rest as it is.
            out.extend_from_slice(tail);
            rest = &[];
            break;
        };
        let (body, next) = after.split_at(len);
        // `whole` is the escape with both delimiters, kept verbatim when not understood.
        let whole = tail.get(..len + 2).unwrap_or(tail);
        rest = next.get(1..).unwrap_or_default();
        match body {
            b"F" => out.push(d.field),
            b"S" => out.push(d.component),
            b"R" => out.push(d.repetition),
            b"E" => out.push(d.escape),
            b"T" => out.push(d.subcomponent),
            [b'X', hex @ ..] if !hex.is_empty() && hex.len() % 2 == 0 => match decode_hex(hex) {
                Some(bytes) => out.extend(bytes),
                None => out.extend_from_slice(whole),
            },
            _ => out.extend_from_slice(whole),
        }
    }
    out.extend_from_slice(rest);
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn decode_hex(hex: &[u8]) -> Option<impl Iterator<Item = u8> + '_> {
    let nibble = |c: u8| (c as char).to_digit(16);
    if hex.iter().all(|&c| nibble(c).is_some()) {
        Some(hex.chunks_exact(2).filter_map(move |p| {
            let hi = nibble(*p.first()?)?;
            let lo = nibble(*p.get(1)?)?;
            u8::try_from(hi * 16 + lo).ok()
        }))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esc(v: &str) -> String {
        let mut out = Vec::new();
        escape_into(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_every_delimiter() {
        assert_eq!(esc(r"a|b^c~d\e&f"), r"a\F\b\S\c\R\d\E\e\T\f");
        assert_eq!(esc("line1\rline2"), r"line1\X0D\line2");
        assert_eq!(esc("plain"), "plain");
    }

    #[test]
    fn unescapes_known_and_keeps_unknown() {
        assert_eq!(unescape(br"a\F\b\S\c\R\d\E\e\T\f"), r"a|b^c~d\e&f");
        assert_eq!(unescape(br"\X41\\X0D0A\"), "A\r\n");
        assert_eq!(unescape(br"x\.br\y"), r"x\.br\y");
        assert_eq!(unescape(br"\H\bold\N\"), r"\H\bold\N\");
        // python-hl7 #84: an escaped escape followed by R is not a repetition.
        assert_eq!(unescape(br"\E\R\"), r"\R\");
        assert_eq!(unescape(br"tail\F"), r"tail\F");
        assert_eq!(unescape(br"\XZZ\"), r"\XZZ\");
        assert!(matches!(unescape(b"no escapes"), Cow::Borrowed(_)));
    }

    #[test]
    fn honours_declared_delimiters() {
        let d = Delimiters {
            field: b'#',
            component: b'!',
            repetition: b'@',
            escape: b'$',
            subcomponent: b'%',
        };
        assert_eq!(unescape_with(b"a$F$b$E$", &d), "a#b$");
    }

    proptest! {
        #[test]
        fn round_trip(value in any::<String>()) {
            let mut out = Vec::new();
            escape_into(&mut out, &value);
            for b in [b'|', b'^', b'~', b'&', b'\r', b'\n'] {
                prop_assert!(!out.contains(&b));
            }
            prop_assert_eq!(unescape(&out), value.as_str());
        }
    }
}
