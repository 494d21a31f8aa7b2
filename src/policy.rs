//! The one policy engine: every catalog rule against the effective
//! configuration, with justifications applied.

use serde::Serialize;
use serde_json::{json, Value};

use crate::catalog::{lookup, Catalog, Rule, Severity};
use crate::document::{Deployment, Justification};
use crate::dates::Date;
use crate::error::Error;
use crate::justification;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    NotApplicable,
    /// Needs a value only the site can give (digest, CA bundle, banner text).
    Advisory,
    /// Non-compliant, with a valid justification.
    Waived,
    Fail,
    /// The setting is only honoured by a licensed edition that is not there.
    IneffectiveWithoutLicence,
}

impl Outcome {
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::IneffectiveWithoutLicence)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub id: String,
    pub title: String,
    pub controls: Vec<String>,
    pub severity: Severity,
    pub outcome: Outcome,
    /// Set when a justification was used or rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<AppliedJustification>,
    pub settings: Vec<String>,
    /// Values the rule looked at.
    pub found: Value,
    pub message: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedJustification {
    pub key: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// A plain-string justification: no approver, no expiry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub undated: bool,
    /// Every reason the justification was not accepted (empty when it was).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub results: Vec<RuleResult>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_failure()).count()
    }
    pub fn warnings(&self) -> impl Iterator<Item = (&RuleResult, &String)> {
        self.results.iter().flat_map(|r| r.warnings.iter().map(move |w| (r, w)))
    }
}

/// `today` is the policy date (from --today, which NixOS sets from
/// `nixos.policyDate`, else the clock): expiry and the waiver window are judged on it.
pub fn evaluate(
    catalog: &Catalog,
    d: &Deployment,
    deployment_raw: &Value,
    config: &Value,
    today: Date,
) -> Result<Report, Error> {
    check_justification_keys(catalog, d)?;
    let view = json!({ "config": config, "deployment": deployment_raw, "manifests": crate::render::kubernetes::manifests::facts(d, config) });
    let have = catalog.edition_rank(d.license.edition.as_str());
    let results = catalog
        .rules
        .iter()
        .map(|rule| judge(catalog, rule, d, &view, have, today))
        .collect();
    Ok(Report { results })
}

fn check_justification_keys(catalog: &Catalog, d: &Deployment) -> Result<(), Error> {
    for key in d.justification.keys() {
        let known = catalog.rules.iter().any(|r| r.id == *key) || crate::options::find(key).is_some_and(|o| !o.meta.answers.is_empty());
        if !known {
            return Err(Error::UnknownJustification { key: key.clone() });
        }
    }
    Ok(())
}

fn justification_for<'a>(rule: &Rule, d: &'a Deployment) -> Option<(String, &'a Justification)> {
    d.justification
        .get_key_value(&rule.id)
        .or_else(|| crate::options::answering(&rule.id).find_map(|o| d.justification.get_key_value(o)))
        .map(|(k, j)| (k.clone(), j))
}

fn judge(catalog: &Catalog, rule: &Rule, d: &Deployment, view: &Value, have: u8, today: Date) -> RuleResult {
    let mut paths = Vec::new();
    rule.compliant.paths(&mut paths);
    let found: serde_json::Map<String, Value> = paths.iter().map(|p| (p.to_string(), shown(view, p))).collect();
    let justification = justification_for(rule, d);
    let mut result = RuleResult {
        id: rule.id.clone(),
        title: rule.title.clone(),
        controls: rule.controls.iter().map(|c| label(c)).collect(),
        severity: rule.severity,
        outcome: Outcome::Pass,
        justification: justification.as_ref().map(|(k, j)| applied(k, j)),
        settings: rule.settings.clone(),
        found: Value::Object(found),
        message: String::new(),
        fix: rule.fix.clone(),
        warnings: Vec::new(),
    };

    // A defective justification (placeholder, no approver, no or a bad or too
    // distant expiry) is never accepted, whatever the rule's state; every
    // defect is listed.
    if let Some((key, j)) = &justification {
        let problems = justification::problems(catalog, key, j, today, d.policy.max_waiver_days);
        if !problems.is_empty() {
            result.outcome = Outcome::Fail;
            result.message = format!("justification.{key} is not acceptable: {}", problems.join("; "));
            if let Some(a) = result.justification.as_mut() {
                a.problems = problems;
            }
            return result;
        }
    }

    let applicable = rule.when.as_ref().is_none_or(|w| w.eval(view));
    let unverifiable = rule.advisory_when.as_ref().is_some_and(|w| w.eval(view));
    let needs_value = rule.needs_site_value.as_ref().is_some_and(|p| lookup(view, p).is_null());
    let required = rule.requires_edition.as_deref().map(|e| (e, catalog.edition_rank(e)));

    // What the declaration shows to be wrong fails before anything that only
    // cannot be seen from it (a DSN inside a Kubernetes Secret) is advisory.
    let (outcome, message) = if !applicable {
        (Outcome::NotApplicable, "does not apply to this deployment".to_string())
    } else if needs_value {
        let what = rule.needs_site_value.as_deref().unwrap_or_default();
        (
            Outcome::Advisory,
            format!("needs a site value: set {}", what.trim_start_matches("deployment.")),
        )
    } else if !rule.compliant.eval(view) {
        (Outcome::Fail, format!("non-compliant: {}", rule.rationale))
    } else if unverifiable {
        (
            Outcome::Advisory,
            "what the declaration says is compliant, but the deployed value cannot be verified from it in this mode; verify it on the deployed system".to_string(),
        )
    } else if let Some((edition, _)) = required.filter(|(_, rank)| have < *rank) {
        (
            Outcome::IneffectiveWithoutLicence,
            format!(
                "only honoured with a {edition} licence or better; license.edition is \"{}\"",
                d.license.edition
            ),
        )
    } else {
        (Outcome::Pass, "compliant".to_string())
    };

    result.outcome = outcome;
    result.message = message;
    match (outcome, &justification) {
        (Outcome::Fail | Outcome::IneffectiveWithoutLicence, Some((key, j))) => {
            let mut refused = Vec::new();
            if !rule.waivable {
                refused.push(format!("justification.{key} cannot waive this rule"));
            }
            if let Some(exp) = justification::expired(j, today) {
                refused.push(format!("justification.{key} expired on {exp}"));
            }
            if refused.is_empty() {
                result.warnings.push(format!("waived by justification.{key}: {}", j.reason().trim()));
                if matches!(j, Justification::Reason(_)) {
                    result.warnings.push(format!(
                        "justification.{key} is undated (a plain string): record approvedBy and expires so it comes back for review"
                    ));
                }
                result.outcome = Outcome::Waived;
            } else {
                result.message = format!("{}; {}", result.message, refused.join("; "));
                if let Some(a) = result.justification.as_mut() {
                    a.problems = refused;
                }
            }
        }
        (Outcome::Pass | Outcome::NotApplicable, Some((key, _))) => {
            result.warnings.push(format!(
                "justification.{key} is stale: the rule is satisfied; remove the waiver"
            ));
        }
        _ => {}
    }
    if result.outcome == Outcome::Advisory {
        result.warnings.push(result.message.clone());
    }
    result
}

/// The value a rule looked at, as reports may show it: a DSN is described by
/// what lib/pq makes of it (never printed: it may hold credentials the
/// patterns missed), other secret settings are withheld.
fn shown(view: &Value, path: &str) -> Value {
    let values: Vec<&Value> = crate::catalog::values_at(view, path);
    let value = if path.contains("[]") { Value::Array(values.into_iter().cloned().collect()) } else { lookup(view, path).clone() };
    let Some(setting) = path.strip_prefix("config.") else { return value };
    let segments: Vec<String> = setting.split('.').filter(|k| *k != "[]").map(str::to_string).collect();
    let secrets = crate::secrets::Secrets::get();
    if secrets.is_data_source_setting(&segments) {
        describe_dsns(&value)
    } else if secrets.is_secret_setting(&segments, &|_, _| false) {
        Value::String("(secret setting: value not shown)".into())
    } else {
        value
    }
}

/// What lib/pq makes of each DSN in `v`, never the DSN itself.
pub fn describe_dsns(v: &Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => json!(""),
        Value::String(s) => match crate::semantic::dsn::postgres_tls(s) {
            Ok(t) => json!(format!(
                "(DSN not shown) sslmode={} tls={} verifies-chain={} verifies-host={}",
                t.sslmode, t.requests_tls, t.verifies_chain, t.verifies_host
            )),
            Err(_) => json!("(DSN not shown) unparseable: lib/pq would refuse it"),
        },
        Value::Array(xs) => Value::Array(xs.iter().map(describe_dsns).collect()),
        Value::Null => Value::Null,
        _ => json!("(DSN not shown)"),
    }
}

fn applied(key: &str, j: &Justification) -> AppliedJustification {
    match j {
        Justification::Reason(r) => AppliedJustification {
            key: key.to_string(),
            reason: r.clone(),
            approved_by: None,
            expires: None,
            ticket: None,
            undated: true,
            problems: Vec::new(),
        },
        Justification::Record(r) => AppliedJustification {
            key: key.to_string(),
            reason: r.reason.clone(),
            approved_by: r.approved_by.clone(),
            expires: r.expires.clone(),
            ticket: r.ticket.clone(),
            undated: false,
            problems: Vec::new(),
        },
    }
}


/// `ac-2.1` → `AC-2(1)`, the form assessors write.
pub fn label(id: &str) -> String {
    let up = id.to_uppercase();
    match up.split_once('.') {
        Some((base, enh)) => format!("{base}({enh})"),
        None => up,
    }
}

#[cfg(test)]
mod tests {
    use super::*;


    #[test]
    fn labels() {
        assert_eq!(label("ac-2.1"), "AC-2(1)");
        assert_eq!(label("sc-8"), "SC-8");
    }
}

/// A failing rule as a diagnostic (printed to stderr before the summary):
/// rule id as the code, controls, the setting paths, values found, the fix.
#[derive(Debug)]
pub struct Finding(pub RuleResult);

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        write!(f, "{} [{}]: {}", r.title, r.controls.join(", "), r.message)?;
        if let Value::Object(found) = &r.found {
            for (path, value) in found {
                write!(f, "\n  {path} = {value}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Finding {}

impl miette::Diagnostic for Finding {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(format!("sm::rule::{}", self.0.id)))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Error)
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        let waiver = match Catalog::load().rule(&self.0.id) {
            Some(rule) if rule.waivable => format!(", or record justification.{}", self.0.id),
            _ => " (this rule cannot be waived)".to_string(),
        };
        Some(Box::new(format!("{}{waiver}", self.0.fix)))
    }
}
