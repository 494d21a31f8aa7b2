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

pub fn run(args: AuditArgs, format: Format) -> Result<i32, Error> {
    let catalog = Catalog::load();
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
    let mut first_result = true;
    for file in &args.files {
        let name = file.display().to_string();
        let code = match audit_file(file, args.mode) {
            Ok(a) => {
                let failed = a.report.failed();
                match format {
                    Format::Text => output::stdout(&format!(
                        "== {name} ({}, judged as {})\n{}\n",
                        a.kind.word(),
                        a.mode,
                        crate::report::table(&a.report)
                    ))?,
                    Format::Json => {
                        let line = json!({
                            "file": name,
                            "kind": a.kind.word(),
                            "mode": a.mode,
                            "summary": crate::report::summary(&a.report),
                            "rules": a.report.results,
                        });
                        output::stdout(&(serde_json::to_string(&line).unwrap_or_default() + "\n"))?;
                    }
                    Format::Sarif => {
                        for r in sarif_results(catalog, &a.report, &name) {
                            let sep = if first_result { "\n" } else { ",\n" };
                            first_result = false;
                            output::stdout(&format!("{sep}{}", serde_json::to_string(&r).unwrap_or_default()))?;
                        }
                    }
                }
                for r in a.report.results.iter().filter(|r| r.outcome.is_failure()) {
                    output::stderr(&format!("error[{}]: {name}: {} [{}]: {}", r.id, r.title, r.controls.join(", "), r.message));
                }
                if failed > 0 {
                    exit::POLICY_FAILED
                } else {
                    exit::OK
                }
            }
            Err(e) => {
                let code = e.exit_code();
                output::stderr(&format!("{:?}", miette::Report::new(e)));
                code
            }
        };
        if rank(code) > rank(worst) {
            worst = code;
        }
    }
    if format == Format::Sarif {
        output::stdout("\n]}]}\n")?;
    }
    Ok(worst)
}

fn read(path: &Path) -> Result<(String, String), Error> {
    crate::cli::read_input(path)
}

/// Parses and judges one file.
pub fn audit_file(path: &Path, mode: Option<AuditMode>) -> Result<Audited, Error> {
    let (text, name) = read(path)?;
    let (kind, doc) = classify(&text, &name)?;
    if crate::document::depth(&doc) > crate::limits::MAX_NESTING {
        return Err(Error::TooDeep { file: name, limit: crate::limits::MAX_NESTING });
    }
    let mode = match (mode, kind) {
        (Some(AuditMode::Baremetal), _) => "baremetal",
        (Some(AuditMode::Kubernetes), _) => "kubernetes",
        (None, Kind::Config) => "baremetal",
        (None, _) => "kubernetes",
    };
    let (config, from_secrets) = effective(kind, &doc, &name)?;
    let report = judge_all(Catalog::load(), &config, mode, &from_secrets);
    Ok(Audited { kind, mode, report })
}

/// What the file is: JSON with Mattermost's top-level sections is a
/// config.json; YAML (or JSON) with `kind: Mattermost` an operator
/// resource (the first such document of a multi-document file); YAML with
/// `mattermostApp` or `global` chart values.
fn classify(text: &str, name: &str) -> Result<(Kind, Value), Error> {
    let trimmed = text.trim_start();
    let docs: Vec<Value> = if trimmed.starts_with('{') {
        vec![serde_json::from_str(text).map_err(|e| Error::MalformedJson { file: name.to_string(), detail: e.to_string() })?]
    } else {
        let mut out = Vec::new();
        for d in serde_yaml_ng::Deserializer::from_str(text) {
            let v: Value = serde::Deserialize::deserialize(d)
                .map_err(|e| bad_input(format!("{name}: not valid YAML: {e}"), Some("audit reads config.json (JSON), chart values or operator resources (YAML)")))?;
            if !v.is_null() {
                out.push(v);
            }
        }
        out
    };
    for d in &docs {
        if d["kind"] == "Mattermost" && d["apiVersion"].as_str().is_some_and(|a| a.starts_with("installation.mattermost.com/")) {
            return Ok((Kind::Operator, d.clone()));
        }
    }
    let Some(first) = docs.into_iter().next() else {
        return Err(bad_input(format!("{name}: empty document"), None));
    };
    if first.get("ServiceSettings").is_some_and(Value::is_object) || first.get("SqlSettings").is_some_and(Value::is_object) {
        return Ok((Kind::Config, first));
    }
    if first.get("mattermostApp").is_some() || first.get("global").is_some() {
        return Ok((Kind::HelmValues, first));
    }
    Err(bad_input(
        format!("{name}: neither a Mattermost config.json, chart values (mattermostApp/global) nor a Mattermost operator resource (kind: Mattermost)"),
        None,
    ))
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() && !crate::defaults::is_free_form(k) => merge(slot, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Every leaf of the defaults as `MM_*` variable → (dotted path, default).
fn env_paths() -> &'static Vec<(String, String, Value)> {
    static PATHS: std::sync::OnceLock<Vec<(String, String, Value)>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), crate::defaults::defaults())];
        while let Some((prefix, v)) = stack.pop() {
            match v {
                Value::Object(m) if !m.is_empty() && !crate::defaults::is_free_form(&prefix) => {
                    for (k, x) in m {
                        stack.push((if prefix.is_empty() { k } else { format!("{prefix}.{k}") }, x));
                    }
                }
                other => out.push((crate::render::env::var_name(&prefix), prefix, other)),
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
fn effective(kind: Kind, doc: &Value, name: &str) -> Result<(Value, Vec<String>), Error> {
    let mut config = crate::defaults::defaults();
    let mut from_secrets = Vec::new();
    let envs: &Value = match kind {
        Kind::Config => {
            if !doc.is_object() {
                return Err(bad_input(format!("{name}: a config.json is a JSON object"), None));
            }
            merge(&mut config, doc);
            return Ok((config, from_secrets));
        }
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
        let Some((_, path, default)) = env_paths().iter().find(|(n, _, _)| n == var) else { continue };
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

pub fn judge_all(catalog: &Catalog, config: &Value, mode: &str, from_secrets: &[String]) -> Report {
    let view = json!({"config": config, "deployment": {"mode": mode}});
    Report { results: catalog.rules.iter().map(|r| judge(r, &view, mode, from_secrets)).collect() }
}

fn judge(rule: &Rule, view: &Value, mode: &str, from_secrets: &[String]) -> RuleResult {
    let compliant_paths = paths_of(Some(&rule.compliant));
    let when_paths = paths_of(rule.when.as_ref());
    let found: Map<String, Value> = compliant_paths.iter().map(|p| (p.clone(), shown(view, p))).collect();
    let decl = declaration_only(&compliant_paths);
    let when_decl = declaration_only(&when_paths);
    let secret_read: Vec<&String> = compliant_paths
        .iter()
        .filter(|p| p.strip_prefix("config.").is_some_and(|s| from_secrets.iter().any(|f| f == s.split(".[]").next().unwrap_or(s))))
        .collect();
    let names = |ps: &[String]| ps.iter().map(|p| p.trim_start_matches("deployment.").to_string()).collect::<Vec<_>>().join(", ");
    let (outcome, message) = if !decl.is_empty() && decl.len() == compliant_paths.len() {
        (Outcome::NotApplicable, format!("reads only the declaration ({}), which a configuration file does not carry", names(&decl)))
    } else if !decl.is_empty() {
        (Outcome::Advisory, format!("also depends on the declaration ({}), which a configuration file does not carry; verify it on the deployed system", names(&decl)))
    } else if when_decl.is_empty() && rule.when.as_ref().is_some_and(|w| !w.eval(view)) {
        (Outcome::NotApplicable, format!("does not apply in {mode} mode"))
    } else if !secret_read.is_empty() {
        (
            Outcome::Advisory,
            format!(
                "{} comes from a Kubernetes Secret the file only references; verify it on the deployed system",
                secret_read.iter().map(|p| p.trim_start_matches("config.")).collect::<Vec<_>>().join(", ")
            ),
        )
    } else if rule.compliant.eval(view) {
        if rule.advisory_when.as_ref().is_some_and(|w| declaration_only(&paths_of(Some(w))).is_empty() && w.eval(view)) {
            (Outcome::Advisory, format!("compliant as configured, but in {mode} mode the deployed value cannot be verified from the file"))
        } else {
            (Outcome::Pass, "compliant".to_string())
        }
    } else if !when_decl.is_empty() {
        (
            Outcome::Advisory,
            format!("non-compliant as configured, but whether the rule applies depends on the declaration ({}); {}", names(&when_decl), rule.rationale),
        )
    } else {
        (Outcome::Fail, format!("non-compliant: {}", rule.rationale))
    };
    RuleResult {
        id: rule.id.clone(),
        title: rule.title.clone(),
        controls: rule.controls.iter().map(|c| label(c)).collect(),
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
fn shown(view: &Value, path: &str) -> Value {
    if path.starts_with("manifests.") {
        return json!("(rendered from a declaration: not in a configuration file)");
    }
    if let Some(rest) = path.strip_prefix("deployment.") {
        return if rest == "mode" { lookup(view, path).clone() } else { json!("(declaration only: not in a configuration file)") };
    }
    let value = if path.contains("[]") {
        Value::Array(crate::catalog::values_at(view, path).into_iter().cloned().collect())
    } else {
        lookup(view, path).clone()
    };
    let Some(setting) = path.strip_prefix("config.") else { return value };
    let segments: Vec<String> = setting.split('.').filter(|k| *k != "[]").map(str::to_string).collect();
    let secrets = crate::secrets::Secrets::get();
    if secrets.is_data_source_setting(&segments) {
        crate::policy::describe_dsns(&value)
    } else if secrets.is_secret_setting(&segments, &|_, _| false) {
        json!("(secret setting: value not shown)")
    } else {
        redact_credentials(value)
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
