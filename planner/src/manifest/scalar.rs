//! YAML scalars as Kubernetes types them: quoted text is a string; plain text goes through
//! go-yaml's YAML 1.1 resolver (`3` an integer, `yes` a boolean, `~` null), unless tagged `!!str`.

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain (unquoted): typed by the YAML resolver (`3` is an integer, `true` a boolean).
    Plain,
    /// Single- or double-quoted, or a `|`/`>` block: always a string.
    Quoted,
}

/// A scalar: its text, its style and an explicit tag (`!!str`, `!!int`) if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The scalar's text (escapes resolved).
    pub text: String,
    /// Quoted or plain.
    pub style: Style,
    /// The tag's suffix when the tag is a core-schema tag (`str`, `int`, …).
    pub tag: Option<String>,
}

/// What a scalar resolves to, as Kubernetes (go-yaml, YAML 1.1 resolver) reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Typed {
    /// `~`, `null`, or nothing.
    Null,
    /// `true`/`false` (and YAML 1.1 `yes`/`no`/`on`/`off`).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float,
    /// A string.
    Str,
}

impl Scalar {
    /// Resolves the scalar's type.
    pub fn typed(&self) -> Typed {
        match self.tag.as_deref() {
            Some("str") => return Typed::Str,
            Some("null") => return Typed::Null,
            _ => {}
        }
        if self.style == Style::Quoted {
            return Typed::Str;
        }
        resolve_plain(&self.text)
    }
}

fn resolve_plain(t: &str) -> Typed {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Typed::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Typed::Bool(false)
        }
        ".inf" | "-.inf" | "+.inf" | ".Inf" | "-.Inf" | ".INF" | ".nan" | ".NaN" | ".NAN" => {
            return Typed::Float
        }
        _ => {}
    }
    let digits = t.replace('_', "");
    let (neg, body) = match digits.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, digits.strip_prefix('+').unwrap_or(&digits)),
    };
    let sign = |v: i64| if neg { -v } else { v };
    if let Some(hex) = body.strip_prefix("0x") {
        if let Ok(v) = i64::from_str_radix(hex, 16) {
            return Typed::Int(sign(v));
        }
    } else if let Some(oct) = body.strip_prefix("0o") {
        if let Ok(v) = i64::from_str_radix(oct, 8) {
            return Typed::Int(sign(v));
        }
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        return match body.parse::<i64>() {
            Ok(v) => Typed::Int(sign(v)),
            Err(_) => Typed::Float,
        };
    }
    if is_float(body) {
        return Typed::Float;
    }
    Typed::Str
}

fn is_float(t: &str) -> bool {
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = mant.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mant_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int) && exp.is_some(),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
    };
    mant_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(t: &str) -> Typed {
        Scalar {
            text: t.into(),
            style: Style::Plain,
            tag: None,
        }
        .typed()
    }

    #[test]
    fn resolver() {
        assert_eq!(plain("3"), Typed::Int(3));
        assert_eq!(plain("-0x1f"), Typed::Int(-31));
        assert_eq!(plain("off"), Typed::Bool(false));
        assert_eq!(plain("1.5e3"), Typed::Float);
        assert_eq!(plain("PT1S"), Typed::Str);
        assert_eq!(plain("1.2.3"), Typed::Str);
        let tagged = Scalar {
            text: "3".into(),
            style: Style::Plain,
            tag: Some("str".into()),
        };
        assert_eq!(tagged.typed(), Typed::Str);
    }
}
