//! A small YAML writer for the values and manifests we render. Strings are
//! always double-quoted, so no value can be misread as another type, and
//! escaped so that every YAML 1.1 and 1.2 parser reads back exactly the
//! string: JSON's escaping alone is not enough (DEL, C1 controls, U+FFFE and
//! U+FFFF must not appear raw in a YAML stream, and NEL, U+2028 and U+2029
//! are line breaks to YAML 1.1 parsers, which fold them inside a scalar).

use serde_json::Value;

pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    write(v, 0, &mut out, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `s` as a double-quoted YAML scalar.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Controls (C0, DEL, C1 including NEL), the Unicode line and
            // paragraph separators, the byte order mark and the two BMP
            // non-characters YAML excludes from its character set.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Longest key written as an implicit key: YAML parsers refuse implicit
/// keys of 1024 characters or more.
const IMPLICIT_KEY_MAX: usize = 1000;

/// A key, plain when nothing could read it as anything but that string.
fn key(k: &str) -> String {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = k.starts_with(|c: char| c.is_ascii_alphabetic())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !WORDS.contains(&k.to_ascii_lowercase().as_str());
    if plain {
        k.to_string()
    } else {
        quote(k)
    }
}

/// `lead` + the key and its indicator: `k:` or, for a key too long to be an
/// implicit key, the explicit form `? k` / `:` (the value follows the colon
/// either way).
fn key_line(lead: &str, pad: &str, k: &str) -> String {
    let k = key(k);
    if k.len() > IMPLICIT_KEY_MAX {
        format!("{lead}? {k}\n{pad}:")
    } else {
        format!("{lead}{k}:")
    }
}

fn write(v: &Value, indent: usize, out: &mut String, in_list: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, x)) in m.iter().enumerate() {
                let lead = if in_list && i == 0 { String::new() } else { pad.clone() };
                let head = key_line(&lead, &pad, k);
                match x {
                    Value::Object(n) if !n.is_empty() => {
                        out.push_str(&format!("{head}\n"));
                        write(x, indent + 2, out, false);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{head}\n"));
                        write(x, indent, out, false);
                    }
                    _ => out.push_str(&format!("{head} {}\n", inline(x))),
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                match x {
                    Value::Object(n) if !n.is_empty() => {
                        out.push_str(&format!("{pad}- "));
                        write(x, indent + 2, out, true);
                    }
                    Value::Array(n) if !n.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        write(x, indent + 2, out, false);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", inline(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", inline(other))),
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        s => scalar(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_maps_and_lists() {
        let y = to_yaml(&json!({"a": {"b": [ {"name": "X", "value": "1"}, "s" ], "c": {}}, "d": true}));
        assert_eq!(y, "a:\n  b:\n  - name: \"X\"\n    value: \"1\"\n  - \"s\"\n  c: {}\nd: true\n");
    }

    #[test]
    fn characters_yaml_treats_specially_are_escaped() {
        assert_eq!(quote("a\u{85}b\u{2028}c\u{2029}d\u{feff}e\u{7f}f\u{9f}g\u{fffe}"), "\"a\\u0085b\\u2028c\\u2029d\\uFEFFe\\u007Ff\\u009Fg\\uFFFE\"");
        assert_eq!(quote("\"\\\n\t\r\u{0}"), "\"\\\"\\\\\\n\\t\\r\\u0000\"");
        assert_eq!(quote("é 😀 #: -"), "\"é 😀 #: -\"");
    }

    #[test]
    fn keys_that_would_resolve_to_other_types_are_quoted() {
        for k in ["true", "No", "null", "123", "-", "<<", "", "a b", ".x", "~"] {
            assert!(key(k).starts_with('"'), "{k}");
        }
        assert_eq!(key("app.kubernetes.io/managed-by"), "app.kubernetes.io/managed-by");
        let long = "k".repeat(1200);
        assert_eq!(to_yaml(&json!({ long.clone(): 1 })), format!("? {long}\n: 1\n"));
    }
}
