//! A small YAML writer for the values and manifests we render. Strings are
//! always double-quoted (JSON escapes are valid YAML), so no value can be
//! misread as another type.

use serde_json::Value;

pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    write(v, 0, &mut out, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    let plain = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if plain {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_default()
    }
}

fn write(v: &Value, indent: usize, out: &mut String, in_list: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, x)) in m.iter().enumerate() {
                let lead = if in_list && i == 0 { String::new() } else { pad.clone() };
                match x {
                    Value::Object(n) if !n.is_empty() => {
                        out.push_str(&format!("{lead}{}:\n", key(k)));
                        write(x, indent + 2, out, false);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{lead}{}:\n", key(k)));
                        write(x, indent, out, false);
                    }
                    _ => out.push_str(&format!("{lead}{}: {}\n", key(k), inline(x))),
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
}
