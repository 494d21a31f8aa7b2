//! The options contract, derived from the module: `modules/options-schema.json`
//! (generated from `modules/` by `scripts/gen-options-schema.sh`) carries every
//! option's type and, declared next to the option with `withMeta`
//! (modules/types.nix), what it means to the helper:
//!
//! - `sets`: the Mattermost settings it decides and the value mapping;
//! - `secret`: the secret setting its file or Secret reference supplies;
//! - `answers`: the rules a justification keyed by the option's name waives.
//!
//! Nothing here names an option: the option→setting layer, the file-option
//! list, the secret environment and the justification aliases are all read
//! from the schema. `docs/option-metadata.md` describes the language.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{json, Value};

pub const SCHEMA_JSON: &str = include_str!("../modules/options-schema.json");

/// One option of `services.secureMattermost` (or of a submodule below an
/// `attrsOf`, whose path then holds `<name>`).
#[derive(Debug, Clone)]
pub struct OptionDecl {
    /// Dotted path relative to `services.secureMattermost`.
    pub name: String,
    pub path: Vec<String>,
    pub ty: Value,
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    #[serde(default)]
    pub sets: Vec<Mapping>,
    #[serde(default)]
    pub secret: Option<SecretMeta>,
    #[serde(default)]
    pub answers: Vec<String>,
    /// The grammar a string option is held to (`crate::validate::kind`), or
    /// `freeText`: none, and every renderer encodes it.
    #[serde(default)]
    pub kind: Option<String>,
}

/// A condition on another option's value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    pub option: String,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<Value>>,
    #[serde(default)]
    pub not_in: Option<Vec<Value>>,
    #[serde(default)]
    pub not_null: Option<bool>,
}

/// How an option's value becomes a setting's value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mapping {
    pub setting: String,
    #[serde(default)]
    pub when: Vec<Condition>,
    /// Decide nothing while the option is null.
    #[serde(default)]
    pub skip_null: bool,
    #[serde(default)]
    pub constant: Option<Value>,
    /// A value only the helper can compose (see [`computed`]).
    #[serde(default)]
    pub computed: Option<String>,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default)]
    pub not_null: Option<bool>,
    #[serde(default)]
    pub greater_than: Option<f64>,
    /// By the value's string form; a value not listed maps to `otherwise`,
    /// and without `otherwise` decides nothing.
    #[serde(default)]
    pub map: Option<serde_json::Map<String, Value>>,
    /// The setting's value while the option is null.
    #[serde(default)]
    pub null_as: Option<Value>,
    #[serde(default)]
    pub otherwise: Option<Value>,
    #[serde(default)]
    pub to_string: bool,
    #[serde(default)]
    pub trim_end: Option<String>,
    /// `{}` is replaced by the (trimmed) value.
    #[serde(default)]
    pub template: Option<String>,
}

/// The secret setting an option's file (bare metal) or Secret reference
/// (Kubernetes) supplies at start; its `MM_*` variable is the setting's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretMeta {
    pub setting: String,
    pub credential: String,
    #[serde(default)]
    pub when: Vec<Condition>,
    /// The server reads a file: pass the credential's path, not its contents.
    #[serde(default)]
    pub path_only: bool,
    /// The secret goes into this helper-composed value at `{}` (e.g. the DSN).
    #[serde(default)]
    pub computed: Option<String>,
    /// Percent-encode the secret first (it lands in a URL).
    #[serde(default)]
    pub encode: bool,
}

/// The option schema, parsed once for every reader (this module and the
/// built-in evaluator's `nixeval::schema`).
pub fn schema_json() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    // Compiled in and checked by tests; a broken schema is a build defect.
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_JSON).expect("modules/options-schema.json is valid JSON (checked by tests)"))
}

/// Every option with its metadata, in schema order (submodule options below
/// `attrsOf` included, with `<name>` in their path).
pub fn all() -> &'static [OptionDecl] {
    static OPTIONS: OnceLock<Vec<OptionDecl>> = OnceLock::new();
    // Compiled in and checked by tests; a broken schema is a build defect.
    OPTIONS.get_or_init(|| {
        let mut out = Vec::new();
        collect(schema_json()["options"].as_array().map(Vec::as_slice).unwrap_or_default(), &[], &mut out);
        out
    })
}

fn collect(options: &[Value], prefix: &[String], out: &mut Vec<OptionDecl>) {
    for o in options {
        let mut path: Vec<String> = prefix.to_vec();
        path.extend(o["path"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
        let meta: Meta = o.get("meta").cloned().map(|m| serde_json::from_value(m).expect("option metadata follows docs/option-metadata.md (checked by tests)")).unwrap_or_default();
        let ty = o["type"].clone();
        // Options inside submodules: below an `attrsOf` with `<name>` in their
        // path; below a (nullable) plain submodule, directly.
        let inner = if ty["kind"] == "nullOr" { &ty["elem"] } else { &ty };
        if inner["kind"] == "attrsOf" && inner["elem"]["kind"] == "submodule" {
            let mut below = path.clone();
            below.push("<name>".into());
            collect(inner["elem"]["options"].as_array().map(Vec::as_slice).unwrap_or_default(), &below, out);
        } else if inner["kind"] == "submodule" {
            collect(inner["options"].as_array().map(Vec::as_slice).unwrap_or_default(), &path, out);
        }
        out.push(OptionDecl { name: path.join("."), path, ty, meta });
    }
}

pub fn find(name: &str) -> Option<&'static OptionDecl> {
    all().iter().find(|o| o.name == name)
}

/// The value of an option (dotted name) in the declaration; absent is null.
pub fn value_of<'a>(decl: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    name.split('.').try_fold(decl, |v, k| v.get(k)).unwrap_or(&NULL)
}

fn holds(decl: &Value, conditions: &[Condition]) -> bool {
    conditions.iter().all(|c| {
        let v = value_of(decl, &c.option);
        c.equals.as_ref().is_none_or(|e| e == v)
            && c.one_of.as_ref().is_none_or(|xs| xs.contains(v))
            && c.not_in.as_ref().is_none_or(|xs| !xs.contains(v))
            && c.not_null.is_none_or(|want| !v.is_null() == want)
    })
}

fn string_form(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a helper-composed value is, by the name the metadata gives it.
pub type Computer<'a> = dyn Fn(&str) -> Option<Value> + 'a;

fn apply(m: &Mapping, v: &Value, computed: &Computer) -> Option<Value> {
    if let Some(c) = &m.constant {
        return Some(c.clone());
    }
    if let (Some(x), Value::Null) = (&m.null_as, v) {
        return Some(x.clone());
    }
    if let Some(name) = &m.computed {
        return computed(name);
    }
    if let Some(e) = &m.equals {
        return Some(json!(v == e));
    }
    if let Some(want) = m.not_null {
        return Some(json!(!v.is_null() == want));
    }
    if let Some(n) = m.greater_than {
        return Some(json!(v.as_f64().is_some_and(|x| x > n)));
    }
    if let Some(map) = &m.map {
        return map.get(&string_form(v)).cloned().or_else(|| m.otherwise.clone());
    }
    let mut out = v.clone();
    if m.to_string {
        out = Value::String(string_form(&out));
    }
    if let (Some(t), Value::String(s)) = (&m.trim_end, &out) {
        out = Value::String(s.trim_end_matches(t.as_str()).to_string());
    }
    if let (Some(t), Value::String(s)) = (&m.template, &out) {
        out = Value::String(t.replace("{}", s));
    }
    Some(out)
}

/// Every setting the options decide, as (setting, value, option name), in
/// schema order. A mapping whose conditions do not hold, or whose option is
/// null with `skipNull`, decides nothing.
pub fn settings_from_options(decl: &Value, computed: &Computer) -> Vec<(String, Value, String)> {
    let mut out = Vec::new();
    for o in all().iter().filter(|o| !o.name.contains("<name>")) {
        let v = value_of(decl, &o.name);
        for m in &o.meta.sets {
            if (m.skip_null && v.is_null()) || !holds(decl, &m.when) {
                continue;
            }
            if let Some(value) = apply(m, v, computed) {
                out.push((m.setting.clone(), value, o.name.clone()));
            }
        }
    }
    out
}

/// A secret the deployment needs at start, from a file option (bare metal)
/// or a Secret-reference option (Kubernetes).
#[derive(Debug, Clone)]
pub struct SecretSource<'a> {
    pub option: &'static str,
    pub meta: &'static SecretMeta,
    /// The option's value: a path string, or `{ name, key }`.
    pub value: &'a Value,
}

/// The secrets whose conditions hold, from the options of one kind: `file`
/// (file-path options, bare metal) or `secretRef` (Kubernetes Secret
/// references, submodules).
pub fn secret_sources<'a>(decl: &'a Value, kind: &str) -> Vec<SecretSource<'a>> {
    all()
        .iter()
        .filter(|o| !o.name.contains("<name>"))
        .filter_map(|o| o.meta.secret.as_ref().map(|s| (o, s)))
        .filter(|(o, _)| match kind {
            "file" => is_file_type(&o.ty),
            _ => o.ty["kind"] == "submodule",
        })
        .filter(|(_, s)| holds(decl, &s.when))
        .map(|(o, s)| SecretSource { option: &o.name, meta: s, value: value_of(decl, &o.name) })
        .collect()
}

/// The option names a justification may be keyed by for `rule`.
pub fn answering(rule: &str) -> impl Iterator<Item = &'static str> + '_ {
    all().iter().filter(move |o| o.meta.answers.iter().any(|r| r == rule)).map(|o| o.name.as_str())
}

/// Whether an option's type is a file path (`absolutePathString`, possibly nullable).
pub fn is_file_type(ty: &Value) -> bool {
    ty["kind"] == "absolutePathString" || (ty["kind"] == "nullOr" && ty["elem"]["kind"] == "absolutePathString")
}

/// Every file-path option set in the declaration, as (option as users write
/// it, path), `attrsOf` entries included (`secretSettings."X".file`).
pub fn file_values(decl: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for o in all().iter().filter(|o| is_file_type(&o.ty)) {
        match o.path.iter().position(|p| p == "<name>") {
            None => {
                if let Some(s) = value_of(decl, &o.name).as_str() {
                    out.push((o.name.clone(), s.to_string()));
                }
            }
            Some(i) => {
                let parent = o.path[..i].join(".");
                let rest = o.path[i + 1..].join(".");
                if let Some(m) = value_of(decl, &parent).as_object() {
                    for (k, entry) in m {
                        if let Some(s) = value_of(entry, &rest).as_str() {
                            out.push((format!("{parent}.\"{k}\".{rest}"), s.to_string()));
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_and_its_metadata_parse() {
        assert!(all().len() > 60);
        assert!(all().iter().any(|o| !o.meta.sets.is_empty()));
        assert!(find("auth.provider").is_some_and(|o| o.meta.answers.contains(&"sso-only-sign-in".to_string())));
    }

    #[test]
    fn every_mapping_has_at_most_one_way_to_map() {
        for o in all() {
            for m in &o.meta.sets {
                let ways = [
                    m.constant.is_some(),
                    m.computed.is_some(),
                    m.equals.is_some(),
                    m.not_null.is_some(),
                    m.greater_than.is_some(),
                    m.map.is_some(),
                ];
                assert!(ways.iter().filter(|x| **x).count() <= 1, "{}: {}", o.name, m.setting);
                assert!(m.otherwise.is_none() || m.map.is_some(), "{}: otherwise without map", o.name);
                for c in &m.when {
                    assert!(find(&c.option).is_some(), "{}: condition on unknown option {}", o.name, c.option);
                }
            }
        }
    }
}
