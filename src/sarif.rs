//! SARIF 2.1.0 for the policy check: one result per rule that failed, was
//! waived or is advisory, with the catalog rules as the tool's rule list, so
//! code-scanning dashboards show findings beside the declaration.

use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::policy::{Outcome, Report, RuleResult};

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The catalog as SARIF `rules` (reportingDescriptors).
pub fn rules(catalog: &Catalog) -> Vec<Value> {
    catalog
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.rationale},
                "help": {"text": r.fix},
                "properties": {
                    "controls": r.controls.iter().map(|c| crate::policy::label(c)).collect::<Vec<_>>(),
                    "severity": format!("{:?}", r.severity).to_lowercase(),
                    "waivable": r.waivable,
                }
            })
        })
        .collect()
}

pub fn report(catalog: &Catalog, report: &Report, artifact: &str) -> String {
    let rules = rules(catalog);
    let results: Vec<Value> = report
        .results
        .iter()
        .enumerate()
        .filter_map(|(index, r)| result(r, index, artifact))
        .collect();
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "secure-mattermost",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// One SARIF result for a rule outcome that is reported (failed, advisory or
/// waived, the waiver as an accepted suppression); `None` for pass and n/a.
pub fn result(r: &RuleResult, rule_index: usize, artifact: &str) -> Option<Value> {
    let (level, kind) = match r.outcome {
        Outcome::Fail | Outcome::IneffectiveWithoutLicence => ("error", "fail"),
        Outcome::Advisory => ("warning", "review"),
        Outcome::Waived => ("note", "pass"),
        Outcome::Pass | Outcome::NotApplicable => return None,
    };
    let mut result = json!({
        "ruleId": r.id,
        "ruleIndex": rule_index,
        "level": level,
        "kind": kind,
        "message": {"text": format!("{}: {}", r.title, r.message)},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": artifact}},
            "logicalLocations": r.settings.iter().map(|s| json!({"fullyQualifiedName": s, "kind": "member"})).collect::<Vec<_>>()
        }],
        "properties": {"outcome": r.outcome, "controls": r.controls}
    });
    if r.outcome == Outcome::Waived {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": r.justification.as_ref().map(|j| j.reason.clone()).unwrap_or_default()
        }]);
    }
    Some(result)
}
