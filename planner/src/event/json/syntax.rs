//! Lexical checks on attribute names and values: attribute names (core spec §3.1.1), absolute
//! URIs (RFC 3986 §4.3) and media types (RFC 2045 §5.1, RFC 7230 tokens).

/// `[a-z0-9]+` (core spec §3.1.1).
pub(super) fn is_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// An absolute URI (RFC 3986 §4.3): `scheme ":" …` with no white space or control characters.
pub(super) fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// RFC 7230 `tchar`, as a table (media types are checked once per event).
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// A plausible RFC 2045 media type: `type "/" subtype *( ";" name "=" ( token / quoted-string ) )`,
/// white space allowed around `;` and a trailing `;` tolerated (Go `mime.ParseMediaType` is as lax).
pub(super) fn is_media_type(s: &str) -> bool {
    let (essence, mut rest) = s.split_once(';').unwrap_or((s, ""));
    let Some((ty, sub)) = essence.trim().split_once('/') else {
        return false;
    };
    if !is_token(ty) || !is_token(sub) {
        return false;
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return true;
        }
        let Some((name, value)) = rest.split_once('=') else {
            return false;
        };
        if !is_token(name.trim()) {
            return false;
        }
        let value = value.trim_start();
        let end = if let Some(quoted) = value.strip_prefix('"') {
            match closing_quote(quoted) {
                Some(i) => i + 2,
                None => return false,
            }
        } else {
            let end = value.find(';').unwrap_or(value.len());
            if !is_token(value[..end].trim_end()) {
                return false;
            }
            end
        };
        rest = value[end..].trim_start();
        match rest.strip_prefix(';') {
            Some(r) => rest = r,
            None if rest.is_empty() => return true,
            None => return false,
        }
    }
}

/// The index of the closing `"` of a quoted-string body (after the opening quote).
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i),
            _ => {}
        }
    }
    None
}
