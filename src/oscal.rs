//! OSCAL assessment results (NIST OSCAL 1.1.2) for the policy check: one
//! finding per rule and control, generated from the same results as
//! outcomes.json. UUIDs are derived from content, so a rebuild of the same
//! declaration gives the same document.

use serde_json::{json, Value};

use crate::policy::{Outcome, Report};

const OSCAL_VERSION: &str = "1.1.2";

use crate::evidence::oscal_common::uuid;

pub fn assessment_results(report: &Report, mode: &str, domain: &str, today: &str) -> String {
    let when = format!("{today}T00:00:00Z");
    let seed = [domain, mode, today];
    let mut controls: Vec<&str> = Vec::new();
    let mut observations = Vec::new();
    let mut findings = Vec::new();
    let catalog = crate::catalog::Catalog::load();
    for r in &report.results {
        if matches!(r.outcome, Outcome::NotApplicable) {
            continue;
        }
        let obs_uuid = uuid(&[&seed.join("/"), "observation", &r.id]);
        let mut obs = json!({
            "uuid": obs_uuid,
            "title": format!("secure-mattermost rule {}", r.id),
            "description": format!("{} Outcome: {:?}. {}", r.title, r.outcome, r.message),
            "methods": ["TEST"],
            "collected": when,
        });
        if let Some(j) = &r.justification {
            obs["remarks"] = json!(format!("Justification ({}): {}", j.key, j.reason));
        }
        observations.push(obs);
        let state = match r.outcome {
            Outcome::Pass => "satisfied",
            _ => "not-satisfied",
        };
        let rule = catalog.rule(&r.id);
        for control in rule.map(|x| x.controls.as_slice()).unwrap_or_default() {
            if !controls.contains(&control.as_str()) {
                controls.push(control);
            }
            findings.push(json!({
                "uuid": uuid(&[&seed.join("/"), "finding", &r.id, control]),
                "title": format!("{}: {}", crate::policy::label(control), r.title),
                "description": format!("Rule {} ({:?}): {}", r.id, r.outcome, r.message),
                "target": {
                    "type": "objective-id",
                    "target-id": format!("{control}_obj"),
                    "status": {"state": state}
                },
                "related-observations": [{"observation-uuid": obs_uuid}]
            }));
        }
    }
    let doc: Value = json!({
        "assessment-results": {
            "uuid": uuid(&[&seed.join("/"), "assessment-results"]),
            "metadata": {
                "title": format!("secure-mattermost policy check for {domain} ({mode})"),
                "last-modified": when,
                "version": env!("CARGO_PKG_VERSION"),
                "oscal-version": OSCAL_VERSION
            },
            "import-ap": {"href": "#secure-mattermost-catalog"},
            "results": [{
                "uuid": uuid(&[&seed.join("/"), "result"]),
                "title": "Automated configuration assessment",
                "description": "Every secure-mattermost catalog rule evaluated against the effective Mattermost configuration that will be deployed.",
                "start": when,
                "reviewed-controls": {
                    "control-selections": [{
                        "include-controls": controls.iter().map(|c| json!({"control-id": c})).collect::<Vec<_>>()
                    }]
                },
                "observations": observations,
                "findings": findings
            }]
        }
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = super::uuid(&["x", "y"]);
        assert_eq!(a, super::uuid(&["x", "y"]));
        assert_ne!(a, super::uuid(&["x", "z"]));
        let re = regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$").unwrap();
        assert!(re.is_match(&a), "{a}");
    }
}
