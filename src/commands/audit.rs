//! `secure-mattermost audit FILE…`: a Mattermost `config.json`, a chart
//! `values.yaml` or a Mattermost operator resource made elsewhere, judged by
//! the same catalog. Rules that read only the declaration (`deployment.*`)
//! are n/a; rules whose applicability or value a configuration file cannot
//! show are advisory, with the reason. The mode is inferred from the kind of
//! file (config.json: baremetal; chart values, operator resource:
//! kubernetes) unless `--mode` says otherwise. Files are read one at a time
//! and their results written as they are judged.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};

use crate::catalog::{lookup, Catalog, Predicate, Rule};
use crate::cli::Format;
use crate::error::{exit, Error};
use crate::evidence::diag::bad_input;
use crate::output;
use crate::policy::{label, Outcome, Report, RuleResult};

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// config.json, chart values (.yaml/.yml) or Mattermost operator resources (.yaml/.yml); - for stdin (JSON or YAML).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The deployment mode rules with a mode condition are judged for (default: inferred from the kind of file).
    #[arg(long, value_enum)]
    pub mode: Option<AuditMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditMode {
    Baremetal,
    Kubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Config,
    HelmValues,
    Operator,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Config => "config.json",
            Kind::HelmValues => "helm-values",
            Kind::Operator => "operator-resource",
        }
    }
}

/// One judged file.
pub struct Audited {
    pub kind: Kind,
    pub mode: &'static str,
    pub report: Report,
}

/// Judged files that may wait to be written (the workers run at most this
/// far ahead), so memory does not grow with the number of files.
const WINDOW: usize = 64;

/// One file's output, ready to write: stdout text (or SARIF results), the
/// stderr lines, the exit code.
struct Judged {
    out: String,
    sarif: Vec<String>,
    err: String,
    code: i32,
}

pub fn run(args: AuditArgs, format: Format) -> Result<i32, Error> {
    let catalog = Catalog::load();
    prepared();
    let mut worst = exit::OK;
    let rank = |c: i32| match c {
        exit::IO => 3,
        exit::INVALID_INPUT => 2,
        exit::POLICY_FAILED => 1,
        _ => 0,
    };
    if format == Format::Sarif {
        output::stdout(&sarif_head(catalog))?;
    }
    // Standard input can be read once, in order: with `-` among the files, one worker.
    let workers = if args.files.iter().any(|f| f == Path::new("-")) {
        1
    } else {
        crate::parallel::workers(args.files.len())
    };
    let mut first_result = true;
    crate::parallel::ordered(&args.files, workers, WINDOW, |f| judge_file(f, args.mode, format), |j| {
        if format == Format::Sarif {
            let mut text = String::new();
            for r in &j.sarif {
                text.push_str(if first_result { "\n" } else { ",\n" });
                first_result = false;
                text.push_str(r);
            }
            if !text.is_empty() {
                output::stdout(&text)?;
            }
        } else if !j.out.is_empty() {
            output::stdout(&j.out)?;
        }
        if !j.err.is_empty() {
            output::stderr(&j.err);
        }
        if rank(j.code) > rank(worst) {
            worst = j.code;
        }
        Ok::<(), Error>(())
    })?;
    if format == Format::Sarif {
        output::stdout("\n]}]}\n")?;
    }
    Ok(worst)
}

/// Judges one file and renders what is written for it.
fn judge_file(file: &Path, mode: Option<AuditMode>, format: Format) -> Judged {
    let name = file.display().to_string();
    let mut j = Judged { out: String::new(), sarif: Vec::new(), err: String::new(), code: exit::OK };
    match audit_file(file, mode) {
        Ok(a) => {
            let failed = a.report.failed();
            match format {
                Format::Text => {
                    j.out = format!("== {name} ({}, judged as {})\n{}\n", a.kind.word(), a.mode, crate::report::table(&a.report));
                }
                Format::Json => j.out = json_line(&name, &a),
                Format::Sarif => {
                    j.sarif = sarif_results(Catalog::load(), &a.report, &name).iter().map(|r| serde_json::to_string(r).unwrap_or_default()).collect();
                }
            }
            for r in a.report.results.iter().filter(|r| r.outcome.is_failure()) {
                if !j.err.is_empty() {
                    j.err.push('\n');
                }
                j.err.push_str(&format!("error[{}]: {name}: {} [{}]: {}", r.id, r.title, r.controls.join(", "), r.message));
            }
            j.code = if failed > 0 { exit::POLICY_FAILED } else { exit::OK };
        }
        Err(e) => {
            j.code = e.exit_code();
            j.err = format!("{:?}", miette::Report::new(e));
        }
    }
    j
}

/// A `--format json` line: `{"file","kind","mode","summary","rules"}`,
/// compact: the bytes serde_json writes for a struct of those fields.
fn json_line(name: &str, a: &Audited) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("{\"file\":");
    out.push_str(&s(name));
    out.push_str(",\"kind\":");
    out.push_str(&s(a.kind.word()));
    out.push_str(",\"mode\":");
    out.push_str(&s(a.mode));
    out.push_str(",\"summary\":");
    out.push_str(&serde_json::to_string(&crate::report::summary(&a.report)).unwrap_or_default());
    out.push_str(",\"rules\":[");
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        for (i, r) in a.report.results.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            rule_json(&mut memo, i, r, &mut out);
        }
    });
    out.push_str("]}\n");
    out
}

/// Serialised rule results by (catalog index, outcome, message, found): the
/// rest of an audit result is the rule's own text, so files that show a rule
/// the same values share its bytes. Bounded; one per worker thread.
#[derive(Default)]
struct Memo {
    by_rule: Vec<std::collections::HashMap<String, String>>,
    entries: usize,
}

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
}

const MEMO_ENTRIES: usize = 8192;

fn rule_json(memo: &mut Memo, index: usize, r: &RuleResult, out: &mut String) {
    let plain = || serde_json::to_string(r).unwrap_or_default();
    if r.justification.is_some() || !r.warnings.is_empty() {
        out.push_str(&plain());
        return;
    }
    let mut key = serde_json::to_string(&r.found).unwrap_or_default();
    key.push('\0');
    key.push_str(&r.message);
    key.push('\0');
    key.push_str(&serde_json::to_string(&r.outcome).unwrap_or_default());
    if memo.by_rule.len() <= index {
        memo.by_rule.resize_with(index + 1, Default::default);
    }
    if let Some(hit) = memo.by_rule[index].get(&key) {
        out.push_str(hit);
        return;
    }
    let text = plain();
    out.push_str(&text);
    if memo.entries >= MEMO_ENTRIES {
        memo.by_rule.iter_mut().for_each(std::collections::HashMap::clear);
        memo.entries = 0;
    }
    memo.entries += 1;
    memo.by_rule[index].insert(key, text);
}

fn read(path: &Path) -> Result<(String, String), Error> {
    crate::cli::read_input(path)
}

/// Parses and judges one file.
pub fn audit_file(path: &Path, mode: Option<AuditMode>) -> Result<Audited, Error> {
    let (text, name) = read(path)?;
    let (kind, doc, depth) = classify(&text, &name)?;
    if depth > crate::limits::MAX_NESTING {
        return Err(Error::TooDeep { file: name, limit: crate::limits::MAX_NESTING });
    }
    let mode = match (mode, kind) {
        (Some(AuditMode::Baremetal), _) => "baremetal",
        (Some(AuditMode::Kubernetes), _) => "kubernetes",
        (None, Kind::Config) => "baremetal",
        (None, _) => "kubernetes",
    };
    let (config, from_secrets) = effective(kind, doc, &name)?;
    let report = judge_owned(Catalog::load(), config, mode, &from_secrets);
    Ok(Audited { kind, mode, report })
}

/// What the file is: JSON with Mattermost's top-level sections is a
/// config.json; YAML (or JSON) with `kind: Mattermost` an operator
/// resource (the first such document of a multi-document file); YAML with
/// `mattermostApp` or `global` chart values. Also the nesting depth of the
/// document chosen, as `document::depth` counts it.
fn classify(text: &str, name: &str) -> Result<(Kind, Value, usize), Error> {
    let trimmed = text.trim_start();
    // A JSON document is read pruned to what the rules read (its depth counted while reading).
    let (docs, json_depth): (Vec<Value>, Option<usize>) = if trimmed.starts_with('{') {
        let (v, d) = pruned_json(text).map_err(|e| Error::MalformedJson { file: name.to_string(), detail: e.to_string() })?;
        (vec![v], Some(d))
    } else {
        let mut out = Vec::new();
        for d in serde_yaml_ng::Deserializer::from_str(text) {
            let v: Value = serde::Deserialize::deserialize(d)
                .map_err(|e| bad_input(format!("{name}: not valid YAML: {e}"), Some("audit reads config.json (JSON), chart values or operator resources (YAML)")))?;
            if !v.is_null() {
                out.push(v);
            }
        }
        (out, None)
    };
    let depth = |v: &Value| json_depth.unwrap_or_else(|| crate::document::depth(v));
    for d in &docs {
        if d["kind"] == "Mattermost" && d["apiVersion"].as_str().is_some_and(|a| a.starts_with("installation.mattermost.com/")) {
            return Ok((Kind::Operator, d.clone(), depth(d)));
        }
    }
    let Some(first) = docs.into_iter().next() else {
        return Err(bad_input(format!("{name}: empty document"), None));
    };
    let d = depth(&first);
    if first.get("ServiceSettings").is_some_and(Value::is_object) || first.get("SqlSettings").is_some_and(Value::is_object) {
        return Ok((Kind::Config, first, d));
    }
    if first.get("mattermostApp").is_some() || first.get("global").is_some() {
        return Ok((Kind::HelmValues, first, d));
    }
    Err(bad_input(
        format!("{name}: neither a Mattermost config.json, chart values (mattermostApp/global) nor a Mattermost operator resource (kind: Mattermost)"),
        None,
    ))
}

/// The configuration keys the catalog's rules read, as a tree: a key with
/// no children is read whole (a leaf setting, a map, a list).
#[derive(Default)]
struct Needed {
    whole: bool,
    keys: std::collections::HashMap<String, Needed, std::hash::BuildHasherDefault<Fnv>>,
}

impl Needed {
    fn add(&mut self, keys: &[&str]) {
        let Some((first, rest)) = keys.split_first() else { return };
        let child = self.keys.entry((*first).to_string()).or_default();
        if rest.first().is_none_or(|k| *k == "[]") {
            child.whole = true;
            child.keys.clear();
        } else if !child.whole {
            child.add(rest);
        }
    }
}

fn needed() -> &'static Needed {
    static NEEDED: std::sync::OnceLock<Needed> = std::sync::OnceLock::new();
    NEEDED.get_or_init(|| {
        let mut n = Needed::default();
        for r in &Catalog::load().rules {
            for p in std::iter::once(&r.compliant).chain(&r.when).chain(&r.advisory_when) {
                p.for_each_test(&mut |t| {
                    if let Some(setting) = t.path.strip_prefix("config.") {
                        n.add(&setting.split('.').collect::<Vec<_>>());
                    }
                });
            }
        }
        n
    })
}

/// Parses a JSON document keeping, below Mattermost's settings sections,
/// only the keys the rules read (every other top-level key whole: `kind`,
/// `spec`, chart values). The rest goes through the same parser with a
/// visitor that keeps nothing, so it is checked exactly as by
/// `serde_json::from_str` (syntax, escapes, number range; trailing
/// characters after it). Returns the document and its nesting depth as
/// `document::depth` counts it, or, when the text has too few brackets to
/// nest deeper than the limit, their number (a bound within the limit).
fn pruned_json(text: &str) -> Result<(Value, usize), serde_json::Error> {
    use serde::de::DeserializeSeed;
    // Every level opens with a bracket. (A fold without early exit: vectorised.)
    let brackets = text.bytes().fold(0usize, |n, c| n + usize::from(c == b'{' || c == b'['));
    let count = brackets > crate::limits::MAX_NESTING;
    let mut de = serde_json::Deserializer::from_str(text);
    let (v, depth) = Prune { needed: needed(), top: true, level: 0, count }.deserialize(&mut de)?;
    de.end()?;
    Ok((v, if count { depth } else { brackets }))
}

/// FNV-1a, for the small fixed key set of `Needed` (looked up once per key
/// of every audited file; SipHash's flood resistance is not needed there).
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// How deep skipped parts are walked key by key; below that they are only
/// checked (`IgnoredAny`, no recursion) and counted as too deep.
const SKIP_LEVELS: usize = 1024;

/// A value at a node of `Needed`: an object is pruned, anything else kept.
struct Prune<'n> {
    needed: &'n Needed,
    top: bool,
    level: usize,
    /// Whether depths are counted (see `pruned_json`).
    count: bool,
}

/// A value kept whole (its depth counted if `count`).
struct Keep {
    count: bool,
}

/// A value checked (and its depth counted if `count`), not kept.
struct Skip {
    level: usize,
    count: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Keep {
    type Value = (Value, usize);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let v: Value = serde::Deserialize::deserialize(d)?;
        let depth = if self.count { crate::document::depth(&v) } else { 0 };
        Ok((v, depth))
    }
}

/// Depth of an object or list from its members' depths, the last of a repeated key counting.
#[derive(Default)]
struct Depths(Vec<(String, usize)>);

impl Depths {
    fn member(&mut self, key: &str, depth: usize) {
        match self.0.iter().position(|(k, _)| k == key) {
            Some(i) if depth == 0 => {
                self.0.swap_remove(i);
            }
            Some(i) => self.0[i].1 = depth,
            None if depth > 0 => self.0.push((key.to_string(), depth)),
            None => {}
        }
    }
    fn of_container(&self) -> usize {
        self.0.iter().map(|(_, d)| *d).max().unwrap_or(0).saturating_add(1)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Prune<'_> {
    type Value = (Value, usize);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Prune<'_> {
    type Value = (Value, usize);
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        let mut depths = Depths::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // The decision is by key, so a repeated key is kept or skipped every time.
            let count = self.count;
            let level = self.level + 1;
            let kept = match self.needed.keys.get(key.as_ref()) {
                Some(n) if n.whole => map.next_value_seed(Keep { count })?,
                Some(n) => map.next_value_seed(Prune { needed: n, top: false, level, count })?,
                // At the top, other settings sections are skipped, anything else kept.
                None if self.top && defaults().get(key.as_ref()).is_none() => map.next_value_seed(Keep { count })?,
                None => {
                    let d = map.next_value_seed(Skip { level, count })?;
                    if count {
                        depths.member(&key, d);
                    }
                    continue;
                }
            };
            if count {
                depths.member(&key, kept.1);
            }
            out.insert(key.into_owned(), kept.0);
        }
        Ok((Value::Object(out), depths.of_container()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut deepest = 0;
        while let Some((v, d)) = seq.next_element_seed(Keep { count: self.count })? {
            deepest = deepest.max(d);
            out.push(v);
        }
        Ok((Value::Array(out), deepest.saturating_add(1)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok((Value::Bool(v), 0))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok((Value::from(v), 0))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok((Value::from(v), 0))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok((serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number), 0))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((Value::String(v.to_string()), 0))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok((Value::String(v), 0))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, 0))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, 0))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Skip {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.level > SKIP_LEVELS {
            <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d)?;
            return Ok(crate::limits::MAX_NESTING + 1);
        }
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Skip {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut depths = Depths::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let d = map.next_value_seed(Skip { level: self.level + 1, count: self.count })?;
            if self.count {
                depths.member(&key, d);
            }
        }
        Ok(depths.of_container())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut deepest = 0;
        while let Some(d) = seq.next_element_seed(Skip { level: self.level + 1, count: self.count })? {
            deepest = deepest.max(d);
        }
        Ok(deepest.saturating_add(1))
    }
    fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_str<E>(self, _: &str) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_unit<E>(self) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_none<E>(self) -> Result<usize, E> {
        Ok(0)
    }
}

/// The pinned release's defaults, parsed once.
fn defaults() -> &'static Value {
    static DEFAULTS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(crate::defaults::defaults)
}

/// The defaults of the settings the rules read (`needed`): all a pruned
/// configuration needs filled in.
fn read_defaults() -> &'static Value {
    static READ: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    READ.get_or_init(|| prune(defaults(), needed()))
}

fn prune(v: &Value, needed: &Needed) -> Value {
    match v {
        Value::Object(m) if !needed.whole => Value::Object(
            m.iter()
                .filter_map(|(k, x)| needed.keys.get(k).map(|n| (k.clone(), if n.whole { x.clone() } else { prune(x, n) })))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The file's settings over the defaults, built in the file's own document:
/// what the file leaves out is copied from the defaults (objects merged key
/// by key, anything else taken from the file), the same values as merging
/// the file into a copy of the defaults, without copying them whole.
fn fill_defaults(doc: &mut Value, defaults: &Value) {
    let (Value::Object(t), Value::Object(d)) = (doc, defaults) else { return };
    for (k, dv) in d {
        match t.get_mut(k) {
            None => {
                t.insert(k.clone(), dv.clone());
            }
            Some(slot) if slot.is_object() && dv.is_object() && !crate::defaults::is_free_form(k) => fill_defaults(slot, dv),
            Some(_) => {}
        }
    }
}

/// Every leaf of the defaults as `MM_*` variable → (dotted path, default);
/// the first leaf wins where two map to one variable.
fn env_paths() -> &'static std::collections::HashMap<String, (String, Value)> {
    static PATHS: std::sync::OnceLock<std::collections::HashMap<String, (String, Value)>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let mut out = std::collections::HashMap::new();
        let mut stack = vec![(String::new(), defaults().clone())];
        while let Some((prefix, v)) = stack.pop() {
            match v {
                Value::Object(m) if !m.is_empty() && !crate::defaults::is_free_form(&prefix) => {
                    for (k, x) in m {
                        stack.push((if prefix.is_empty() { k } else { format!("{prefix}.{k}") }, x));
                    }
                }
                other => {
                    out.entry(crate::render::env::var_name(&prefix)).or_insert((prefix, other));
                }
            }
        }
        out
    })
}

/// A value from the environment as the server reads it for a setting whose
/// default is `default` (lists split on spaces, booleans and numbers parsed).
fn env_value(default: &Value, s: &str) -> Value {
    match default {
        Value::Bool(_) => match s {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => json!(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => json!(false),
            _ => json!(s),
        },
        Value::Number(_) => s.parse::<i64>().map(|n| json!(n)).or_else(|_| s.parse::<f64>().map(|n| json!(n))).unwrap_or_else(|_| json!(s)),
        Value::Array(_) => Value::Array(s.split(' ').filter(|x| !x.is_empty()).map(|x| json!(x)).collect()),
        Value::Object(_) => serde_json::from_str(s).unwrap_or_else(|_| json!(s)),
        _ => json!(s),
    }
}

fn set(config: &mut Value, path: &str, v: Value) {
    let mut here = config;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, k) in parts.iter().enumerate() {
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
        let Value::Object(m) = here else { return };
        if i + 1 == parts.len() {
            m.insert((*k).to_string(), v);
            return;
        }
        here = m.entry((*k).to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The effective configuration a file gives the server, and the settings
/// whose value comes from a Kubernetes Secret (not visible in the file).
fn effective(kind: Kind, mut doc: Value, name: &str) -> Result<(Value, Vec<String>), Error> {
    let mut from_secrets = Vec::new();
    if kind == Kind::Config {
        if !doc.is_object() {
            return Err(bad_input(format!("{name}: a config.json is a JSON object"), None));
        }
        fill_defaults(&mut doc, read_defaults());
        return Ok((doc, from_secrets));
    }
    let mut config = defaults().clone();
    let envs: &Value = match kind {
        // (judged above)
        Kind::Config => return Ok((config, from_secrets)),
        Kind::HelmValues => {
            if let Some(u) = doc["global"]["siteUrl"].as_str() {
                set(&mut config, "ServiceSettings.SiteURL", json!(u));
            }
            if !doc["global"]["features"]["database"]["existingDatabaseSecret"].is_null() {
                from_secrets.push("SqlSettings.DataSource".to_string());
            }
            &doc["mattermostApp"]["extraEnv"]
        }
        Kind::Operator => {
            let spec = &doc["spec"];
            if let Some(h) = spec["ingress"]["host"].as_str() {
                set(&mut config, "ServiceSettings.SiteURL", json!(format!("https://{h}")));
            }
            if !spec["database"]["external"]["secret"].is_null() {
                from_secrets.push("SqlSettings.DataSource".to_string());
            }
            &spec["mattermostEnv"]
        }
    };
    for e in envs.as_array().into_iter().flatten() {
        let Some(var) = e["name"].as_str() else { continue };
        let Some((path, default)) = env_paths().get(var) else { continue };
        match e["value"].as_str() {
            Some(v) if e.get("valueFrom").is_none() => set(&mut config, path, env_value(default, v)),
            _ if e.get("valueFrom").is_some() => from_secrets.push(path.clone()),
            _ => {}
        }
    }
    Ok((config, from_secrets))
}

fn paths_of(p: Option<&Predicate>) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(p) = p {
        p.paths(&mut v);
    }
    v.into_iter().map(str::to_string).collect()
}

/// Paths under `deployment.` other than the mode, and the facts of the
/// objects a declaration renders (`manifests.`), which a file cannot show.
fn declaration_only(paths: &[String]) -> Vec<String> {
    paths.iter().filter(|p| (p.starts_with("deployment.") && *p != "deployment.mode") || p.starts_with("manifests.")).cloned().collect()
}

/// How a path a rule reads is shown in its result.
enum Shown {
    /// `manifests.*`, `deployment.*` other than the mode: a fixed note.
    Note(&'static str),
    /// A value, as found (`deployment.mode`, paths outside `config.`).
    Plain { list: bool },
    /// A DSN setting: described, never shown.
    Dsn { list: bool },
    /// A secret setting: withheld.
    Secret,
    /// Any other setting: shown with credentials withheld.
    Setting { list: bool },
}

/// What judging a rule needs that does not depend on the file.
struct Prepared {
    /// Each path the rule's compliance reads, how it is shown, and the
    /// setting (without `config.` and list parts) a Secret could hold.
    paths: Vec<(String, Shown, Option<String>)>,
    /// The outcome when the rule reads the declaration.
    fixed: Option<(Outcome, String)>,
    /// The rule applies only when a file-visible condition holds.
    when_from_file: bool,
    /// Why a non-compliant file is only advisory (the condition reads the declaration).
    when_declaration: Option<String>,
    /// `advisoryWhen` reads only the file.
    advisory_from_file: bool,
    controls: Vec<String>,
    fail: String,
}

fn prepare(rule: &Rule) -> Prepared {
    let compliant_paths = paths_of(Some(&rule.compliant));
    let when_decl = declaration_only(&paths_of(rule.when.as_ref()));
    let decl = declaration_only(&compliant_paths);
    let names = |ps: &[String]| ps.iter().map(|p| p.trim_start_matches("deployment.").to_string()).collect::<Vec<_>>().join(", ");
    let fixed = if !decl.is_empty() && decl.len() == compliant_paths.len() {
        Some((Outcome::NotApplicable, format!("reads only the declaration ({}), which a configuration file does not carry", names(&decl))))
    } else if !decl.is_empty() {
        Some((Outcome::Advisory, format!("also depends on the declaration ({}), which a configuration file does not carry; verify it on the deployed system", names(&decl))))
    } else {
        None
    };
    let secrets = crate::secrets::Secrets::get();
    let paths = compliant_paths
        .into_iter()
        .map(|p| {
            let list = p.contains("[]");
            let shown = if p.starts_with("manifests.") {
                Shown::Note("(rendered from a declaration: not in a configuration file)")
            } else if let Some(rest) = p.strip_prefix("deployment.") {
                if rest == "mode" {
                    Shown::Plain { list: false }
                } else {
                    Shown::Note("(declaration only: not in a configuration file)")
                }
            } else if let Some(setting) = p.strip_prefix("config.") {
                let segments: Vec<String> = setting.split('.').filter(|k| *k != "[]").map(str::to_string).collect();
                if secrets.is_data_source_setting(&segments) {
                    Shown::Dsn { list }
                } else if secrets.is_secret_setting(&segments, &|_, _| false) {
                    Shown::Secret
                } else {
                    Shown::Setting { list }
                }
            } else {
                Shown::Plain { list }
            };
            let base = p.strip_prefix("config.").map(|s| s.split(".[]").next().unwrap_or(s).to_string());
            (p, shown, base)
        })
        .collect();
    Prepared {
        paths,
        fixed,
        when_from_file: when_decl.is_empty() && rule.when.is_some(),
        when_declaration: (!when_decl.is_empty()).then(|| {
            format!("non-compliant as configured, but whether the rule applies depends on the declaration ({}); {}", names(&when_decl), rule.rationale)
        }),
        advisory_from_file: rule.advisory_when.as_ref().is_some_and(|w| declaration_only(&paths_of(Some(w))).is_empty()),
        controls: rule.controls.iter().map(|c| label(c)).collect(),
        fail: format!("non-compliant: {}", rule.rationale),
    }
}

/// The compiled-in catalog's rules, prepared once, in catalog order.
fn prepared() -> &'static [Prepared] {
    static PREPARED: std::sync::OnceLock<Vec<Prepared>> = std::sync::OnceLock::new();
    PREPARED.get_or_init(|| Catalog::load().rules.iter().map(prepare).collect())
}

pub fn judge_all(catalog: &Catalog, config: &Value, mode: &str, from_secrets: &[String]) -> Report {
    judge_owned(catalog, config.clone(), mode, from_secrets)
}

fn judge_owned(catalog: &Catalog, config: Value, mode: &str, from_secrets: &[String]) -> Report {
    // Built by hand: `json!` would copy the configuration through its serializer.
    let mut view = Map::new();
    view.insert("config".into(), config);
    view.insert("deployment".into(), json!({"mode": mode}));
    let view = Value::Object(view);
    let results = if std::ptr::eq(catalog, Catalog::load()) {
        catalog.rules.iter().zip(prepared()).map(|(r, p)| judge(r, p, &view, mode, from_secrets)).collect()
    } else {
        catalog.rules.iter().map(|r| judge(r, &prepare(r), &view, mode, from_secrets)).collect()
    };
    Report { results }
}

fn judge(rule: &Rule, prep: &Prepared, view: &Value, mode: &str, from_secrets: &[String]) -> RuleResult {
    let found: Map<String, Value> = prep.paths.iter().map(|(p, how, _)| (p.clone(), shown(view, p, how))).collect();
    let secret_read: Vec<&str> = prep
        .paths
        .iter()
        .filter(|(_, _, base)| base.as_ref().is_some_and(|b| from_secrets.iter().any(|f| f == b)))
        .map(|(p, _, _)| p.trim_start_matches("config."))
        .collect();
    let (outcome, message) = if let Some((o, m)) = &prep.fixed {
        (*o, m.clone())
    } else if prep.when_from_file && rule.when.as_ref().is_some_and(|w| !w.eval(view)) {
        (Outcome::NotApplicable, format!("does not apply in {mode} mode"))
    } else if !secret_read.is_empty() {
        (Outcome::Advisory, format!("{} comes from a Kubernetes Secret the file only references; verify it on the deployed system", secret_read.join(", ")))
    } else if rule.compliant.eval(view) {
        if prep.advisory_from_file && rule.advisory_when.as_ref().is_some_and(|w| w.eval(view)) {
            (Outcome::Advisory, format!("compliant as configured, but in {mode} mode the deployed value cannot be verified from the file"))
        } else {
            (Outcome::Pass, "compliant".to_string())
        }
    } else if let Some(m) = &prep.when_declaration {
        (Outcome::Advisory, m.clone())
    } else {
        (Outcome::Fail, prep.fail.clone())
    };
    RuleResult {
        id: rule.id.clone(),
        title: rule.title.clone(),
        controls: prep.controls.clone(),
        severity: rule.severity,
        outcome,
        justification: None,
        settings: rule.settings.clone(),
        found: Value::Object(found),
        message,
        fix: rule.fix.clone(),
        warnings: vec![],
    }
}

/// A value as reports may show it: DSNs described, secret settings and
/// anything that looks like a credential withheld.
fn shown(view: &Value, path: &str, how: &Shown) -> Value {
    let value = |list: bool| {
        if list {
            Value::Array(crate::catalog::values_at(view, path).into_iter().cloned().collect())
        } else {
            lookup(view, path).clone()
        }
    };
    match how {
        Shown::Note(n) => json!(n),
        Shown::Plain { list } => value(*list),
        Shown::Dsn { list } => crate::policy::describe_dsns(&value(*list)),
        Shown::Secret => json!("(secret setting: value not shown)"),
        Shown::Setting { list } => redact_credentials(value(*list)),
    }
}

fn redact_credentials(v: Value) -> Value {
    let secrets = crate::secrets::Secrets::get();
    match v {
        Value::String(s) if secrets.looks_like_credential(&s) => json!("(holds a credential: value not shown)"),
        Value::Array(xs) => Value::Array(xs.into_iter().map(redact_credentials).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, redact_credentials(x))).collect()),
        other => other,
    }
}

fn sarif_head(catalog: &Catalog) -> String {
    let rules = crate::sarif::rules(catalog);
    let driver = json!({"name": "secure-mattermost-audit", "version": env!("CARGO_PKG_VERSION"), "rules": rules});
    format!(
        "{{\"$schema\":{},\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{}}},\"results\":[",
        json!(crate::sarif::SARIF_SCHEMA),
        serde_json::to_string(&driver).unwrap_or_default()
    )
}

fn sarif_results(catalog: &Catalog, report: &Report, artifact: &str) -> Vec<Value> {
    report
        .results
        .iter()
        // An audited file carries no justifications: only failures and advisories.
        .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::IneffectiveWithoutLicence | Outcome::Advisory))
        .filter_map(|r| {
            let index = catalog.rules.iter().position(|x| x.id == r.id).unwrap_or(0);
            let mut result = crate::sarif::result(r, index, artifact)?;
            result["properties"]["found"] = r.found.clone();
            Some(result)
        })
        .collect()
}
