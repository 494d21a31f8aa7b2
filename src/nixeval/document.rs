//! `modules/document.nix`, mirrored: the evaluated document, with secret
//! traps forced first and every string checked against the catalog's rules.

use std::rc::Rc;

use serde_json::{Map, Number, Value as Json};

use super::error::{Error, ErrorKind, Result};
use super::eval::Eval;
use super::modules::ModuleSystem;
use super::source::Span;
use super::value::*;

struct Finding {
    rule: String,
    path: Vec<String>,
    span: Option<Span>,
}

impl Eval {
    pub(crate) fn document(&mut self, sys: &Rc<ModuleSystem>) -> Result<Json> {
        // Reading `eval.config` runs lib's check for undeclared options.
        self.check_unmatched(sys)?;
        let mut cfg = Thunk::value(self.system_config(sys), None);
        let prefix = self.schema.prefix.clone();
        for name in &prefix {
            cfg = self.select(&cfg, name)?;
        }
        // `trapsUnset`, in catalog order: a defined trap fails in its merge.
        let traps: Vec<Vec<String>> = self.secrets.traps.iter().map(|t| t.path.clone()).collect();
        for trap in &traps {
            let mut t = cfg.clone();
            for name in trap {
                t = self.select(&t, name)?;
            }
            if !matches!(self.force(&t)?, Value::Null) {
                return Err(Error::eval(
                    "secure-mattermost: unreachable: a secret trap option accepted a value",
                ));
            }
        }
        let mut findings = Vec::new();
        let mut path = Vec::new();
        // The document is level 1; the option values' set is level 2.
        let body = self.document_json(&cfg, &mut path, 2, &traps, &mut findings)?;
        if let Some(first) = findings.first() {
            let secrets = self.secrets;
            let mut message = String::from(
                "secure-mattermost: literal secret(s) refused; the Nix store is world-readable, so secrets may only be given as file paths or Secret references. The values are not shown.",
            );
            let head = prefix.join(".");
            for f in &findings {
                message.push_str(&format!("\n  [{}] {head}.{}", f.rule, f.path.join(".")));
            }
            let _ = secrets;
            return Err(Error::new(ErrorKind::SecretInValue, message)
                .with_option(format!("{head}.{}", first.path.join(".")))
                .with_rule(first.rule.clone())
                .at(first.span));
        }
        let mut doc = Map::new();
        for (k, v) in &self.schema.document.clone() {
            if k == "cfgAttr" {
                continue;
            }
            if let Some(constants) = v.as_object().filter(|_| k == "constants") {
                for (ck, cv) in constants {
                    doc.insert(ck.clone(), cv.clone());
                }
            }
        }
        let slot = self
            .schema
            .document
            .get("cfgAttr")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::eval("modules/options-schema.json: document.cfgAttr missing"))?;
        doc.insert(slot.to_string(), body);
        doc.sort_keys();
        Ok(Json::Object(doc))
    }

    /// document.nix `publicPlugin`: whether `cfg.publicPluginSettings.<plugin>`
    /// lists the key (ASCII case-insensitively).
    fn public_plugin_setting(&mut self, plugin: &str, key: &str) -> Result<bool> {
        // The top-level evaluation is the first system created.
        let mut cfg = Thunk::value(self.system_config(&self.systems[0].clone()), None);
        for name in self.schema.prefix.clone() {
            cfg = self.select(&cfg, &name)?;
        }
        let Value::Attrs(all) = self.force(&cfg)? else {
            return Ok(false);
        };
        let Some(public) = all.get("publicPluginSettings").cloned() else {
            return Ok(false);
        };
        let Value::Attrs(by_plugin) = self.force(&public)? else {
            return Ok(false);
        };
        let Some(keys) = by_plugin.get(plugin).cloned() else {
            return Ok(false);
        };
        let Value::List(keys) = self.force(&keys)? else {
            return Ok(false);
        };
        for k in keys.iter() {
            if let Value::Str(k) = self.force(k)? {
                if k.to_ascii_lowercase() == key.to_ascii_lowercase() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn select(&mut self, t: &Thunk, name: &str) -> Result<Thunk> {
        match self.force(t)? {
            Value::Attrs(a) => a
                .get(name)
                .cloned()
                .ok_or_else(|| Error::eval(format!("attribute '{name}' missing"))),
            other => Err(Error::eval(format!(
                "value is {} while a set was expected",
                other.describe()
            ))),
        }
    }

    /// Forces the whole value in attribute order (as `findings` does in
    /// document.nix) and collects the catalog findings on the way.
    /// `level`: the nesting level an object or list here has in the document
    /// (counted as serde_json counts its recursion limit); past
    /// [`crate::limits::MAX_NESTING`] the value is refused before its
    /// elements are forced, so the recursion stays that shallow.
    fn document_json(
        &mut self,
        t: &Thunk,
        path: &mut Vec<String>,
        level: usize,
        skip: &[Vec<String>],
        findings: &mut Vec<Finding>,
    ) -> Result<Json> {
        let v = self.force(t)?;
        if matches!(v, Value::List(_) | Value::Attrs(_)) && level > crate::limits::MAX_NESTING {
            let mut option = self.schema.prefix.clone();
            option.extend(path.iter().cloned());
            return Err(Error::too_deep(&option).at(t.span()));
        }
        Ok(match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Int(i) => Json::Number(i.into()),
            Value::Float(f) => Json::Number(nix_float(f)?),
            Value::Str(s) => {
                // modules/document.nix `findings`: the first rule that applies.
                let secrets = self.secrets;
                let is_setting =
                    path.len() > 1 && path.first().map(String::as_str) == Some("settings");
                let rule = if secrets.looks_like_credential(&s) {
                    Some(&secrets.value_rule)
                } else if is_setting {
                    let setting = &path[1..];
                    let public = match secrets.plugin_setting(setting) {
                        Some((plugin, key)) if !s.is_empty() => self.public_plugin_setting(plugin, key)?,
                        _ => false,
                    };
                    let last_key = path.iter().rev().find(|k| !(k.starts_with('[') && k.ends_with(']')));
                    if !s.is_empty() && secrets.is_secret_setting(setting, &|_, _| public) {
                        Some(&secrets.setting_rule)
                    } else if crate::secrets::in_store(&s)
                        && last_key.is_some_and(|k| secrets.is_secret_file_key(k))
                    {
                        Some(&secrets.store_file_rule)
                    } else {
                        None
                    }
                } else {
                    None
                };
                if let Some(rule) = rule {
                    findings.push(Finding {
                        rule: rule.clone(),
                        path: path.clone(),
                        span: t.span(),
                    });
                }
                Json::String(s.to_string())
            }
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(format!("[{i}]"));
                    let r = self.document_json(item, path, level + 1, &[], findings);
                    path.pop();
                    out.push(r?);
                }
                Json::Array(out)
            }
            Value::Attrs(a) => {
                let mut out = Map::new();
                for (k, attr) in &a.map {
                    path.push(k.to_string());
                    if skip.iter().any(|s| s == path) {
                        path.pop();
                        continue;
                    }
                    let r = self.document_json(&attr.value, path, level + 1, skip, findings);
                    path.pop();
                    out.insert(k.to_string(), r?);
                }
                Json::Object(out)
            }
            Value::Path(_) => return Err(Error::path_literal().at(t.span())),
            Value::Lambda(_) | Value::Prim(_) => {
                return Err(Error::eval("cannot convert a function to JSON").at(t.span()))
            }
        })
    }
}

/// A float as Nix 2.8 prints it in JSON: C++ stream defaults, i.e. `%g`
/// with six significant digits ("1", "0.1", "1.23457e+08").
pub(crate) fn nix_float(f: f64) -> Result<Number> {
    if !f.is_finite() {
        return Err(Error::eval("cannot represent a non-finite float in JSON"));
    }
    let text = format_g6(f);
    // The number a JSON reader takes from Nix's text: an integer where the
    // text is one ("2" for 2.0; "-0" is negative zero), else the double
    // nearest to the text, correctly rounded (serde_json's own reader may be
    // one unit in the last place off for large exponents).
    if text == "-0" {
        return Number::from_f64(-0.0).ok_or_else(|| Error::eval("float -0"));
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Number::from(i));
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| Error::eval(format!("float {text}")))
}

fn format_g6(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Round to 6 significant digits first; the exponent decides the style.
    let sci = format!("{f:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        trim_zeros(&format!("{f:.decimals$}"))
    } else {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::format_g6;

    #[test]
    fn floats_print_like_nix_2_8() {
        assert_eq!(format_g6(1.0), "1");
        assert_eq!(format_g6(1.5), "1.5");
        assert_eq!(format_g6(0.1), "0.1");
        assert_eq!(format_g6(123456789.123), "1.23457e+08");
        assert_eq!(format_g6(0.0001), "0.0001");
        assert_eq!(format_g6(0.00001), "1e-05");
        assert_eq!(format_g6(100000.0), "100000");
        assert_eq!(format_g6(999999.5), "1e+06");
        assert_eq!(format_g6(-2.25), "-2.25");
        // Recorded from nix-instantiate 2.8: ties to even, rounding that
        // changes the exponent, the extremes.
        for (f, nix) in [
            (1234565.0, "1.23456e+06"),
            (1234575.0, "1.23458e+06"),
            (1000005.0, "1e+06"),
            (1000015.0, "1.00002e+06"),
            (99999.95, "99999.9"),
            (9.999995, "10"),
            (9.9999949, "9.99999"),
            (0.00009999995, "0.0001"),
            (0.000012345, "1.2345e-05"),
            (1048576.5, "1.04858e+06"),
            (1.0e15, "1e+15"),
            (1.5e300, "1.5e+300"),
            (f64::MAX, "1.79769e+308"),
            (f64::MIN_POSITIVE, "2.22507e-308"),
            (-0.0, "-0"),
        ] {
            assert_eq!(format_g6(f), nix, "{f:e}");
        }
    }

    #[test]
    fn json_numbers_are_what_a_reader_takes_from_nix_text() {
        // An integer where Nix's text is one, a correctly rounded double
        // otherwise (serde_json's own reader is off by one ulp here).
        assert!(super::nix_float(2.0).unwrap().is_u64());
        assert_eq!(
            super::nix_float(f64::MIN_POSITIVE).unwrap().as_f64(),
            Some("2.22507e-308".parse::<f64>().unwrap())
        );
        let negative_zero = super::nix_float(-0.0).unwrap().as_f64().unwrap();
        assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
    }
}
