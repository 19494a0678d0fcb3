//! HL7 v2 escaping of the default delimiters (`| ^ ~ \ &`), applied when rendering.

/// Bytes that cannot appear unescaped in a value: one table lookup per byte.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    let specials = *b"|^~\\&\r\n";
    while i < specials.len() {
        table[specials[i] as usize] = true;
        i += 1;
    }
    table
};

/// Appends `value` to `out` with every delimiter escaped (`\F\ \S\ \R\ \E\ \T\`).
pub fn escape_into(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let Some(first) = bytes.iter().position(|&b| SPECIAL[usize::from(b)]) else {
        out.extend_from_slice(bytes);
        return;
    };
    out.extend_from_slice(&bytes[..first]);
    for &b in &bytes[first..] {
        match b {
            b'|' => out.extend_from_slice(b"\\F\\"),
            b'^' => out.extend_from_slice(b"\\S\\"),
            b'~' => out.extend_from_slice(b"\\R\\"),
            b'\\' => out.extend_from_slice(b"\\E\\"),
            b'&' => out.extend_from_slice(b"\\T\\"),
            // A segment terminator inside a value would split the segment.
            b'\r' | b'\n' => out.push(b' '),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delimiter_is_escaped() {
        let mut out = Vec::new();
        escape_into(&mut out, r"A|B^C~D\E&F");
        assert_eq!(out, br"A\F\B\S\C\R\D\E\E\T\F");
    }
}
