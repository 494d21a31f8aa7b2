//! OSCAL system security plan: the system as far as the declaration
//! describes it, and the `control-implementation` part, each control's
//! implementation status derived from the rule outcomes.

use serde_json::{json, Value};

use crate::policy::{label, Outcome, RuleResult};

use super::oscal_common::{id, metadata, pretty, prop, SP800_53_MODERATE};
use super::{families, evidence_lines, outcome_token, outcome_word, Context};

/// Implementation status of a control from its rules' outcomes: every rule
/// passes → implemented; all n/a → not-applicable; otherwise partial (waived,
/// advisory: something is left for the site or accepted as risk).
pub fn status(results: &[&RuleResult]) -> &'static str {
    if results.is_empty() || results.iter().all(|r| r.outcome == Outcome::NotApplicable) {
        "not-applicable"
    } else if results.iter().all(|r| matches!(r.outcome, Outcome::Pass | Outcome::NotApplicable)) {
        "implemented"
    } else if results.iter().any(|r| r.outcome.is_failure()) {
        "planned"
    } else {
        "partial"
    }
}

pub fn render(ctx: &Context) -> String {
    let d = ctx.deployment;
    let this_system = id(ctx, &["ssp", "component", "this-system"]);
    let server = id(ctx, &["ssp", "component", "mattermost"]);
    let mut reqs = Vec::new();
    for (_, controls) in families() {
        for (control, rules) in controls {
            let results: Vec<&RuleResult> =
                rules.iter().filter_map(|rule| ctx.report.results.iter().find(|x| x.id == rule.id)).collect();
            let lines: Vec<String> = results
                .iter()
                .map(|r| {
                    let mut line = format!("{} — {}: {}", r.id, outcome_word(r.outcome), r.title);
                    if !matches!(r.outcome, Outcome::Pass) {
                        line.push_str(&format!(" ({})", r.message));
                    }
                    if let Some(j) = r.justification.as_ref().filter(|_| r.outcome == Outcome::Waived) {
                        line.push_str(&format!(" [waiver justification.{}: {}]", j.key, j.reason));
                    }
                    let ev = evidence_lines(r);
                    if !ev.is_empty() {
                        line.push_str(&format!(" Evidence: {}.", ev.join("; ")));
                    }
                    line
                })
                .collect();
            let props: Vec<Value> = results.iter().map(|r| prop(&format!("outcome-{}", r.id), outcome_token(r.outcome))).collect();
            reqs.push(json!({
                "uuid": id(ctx, &["ssp", "requirement", &control]),
                "control-id": control,
                "props": props,
                "by-components": [{
                    "component-uuid": server,
                    "uuid": id(ctx, &["ssp", "by-component", &control]),
                    "description": format!("{} as configured by secure-mattermost. {}", label(&control), lines.join(" ")),
                    "implementation-status": {"state": status(&results)}
                }]
            }));
        }
    }
    let doc: Value = json!({
        "system-security-plan": {
            "uuid": id(ctx, &["ssp"]),
            "metadata": metadata(ctx, format!("System security plan (configuration part): Mattermost at {}", d.domain)),
            "import-profile": {"href": SP800_53_MODERATE},
            "system-characteristics": {
                "system-ids": [{"identifier-type": "https://ietf.org/rfc/rfc4122", "id": id(ctx, &["ssp", "system-id"])}],
                "system-name": format!("Mattermost at {}", d.domain),
                "description": format!(
                    "Mattermost {} team messaging for {} ({}), deployed in {} mode from a secure-mattermost declaration.",
                    ctx.provenance.mattermost_version, d.site_name, d.domain, ctx.mode()
                ),
                "props": [prop("declaration-sha256", &ctx.provenance.input_sha256)],
                "system-information": {"information-types": [{
                    "uuid": id(ctx, &["ssp", "information-type"]),
                    "title": "Organizational messages and files",
                    "description": "Messages, files and user accounts held by the Mattermost server.",
                    "confidentiality-impact": {"base": "fips-199-moderate"},
                    "integrity-impact": {"base": "fips-199-moderate"},
                    "availability-impact": {"base": "fips-199-moderate"}
                }]},
                "security-impact-level": {
                    "security-objective-confidentiality": "fips-199-moderate",
                    "security-objective-integrity": "fips-199-moderate",
                    "security-objective-availability": "fips-199-moderate"
                },
                "status": {"state": "under-development"},
                "authorization-boundary": {"description": format!(
                    "The Mattermost server{} at {}, its database and file store, as rendered by secure-mattermost.",
                    if d.replicas > 1 { format!("s ({} replicas)", d.replicas) } else { String::new() },
                    d.domain
                )}
            },
            "system-implementation": {
                "users": [{
                    "uuid": id(ctx, &["ssp", "user", "member"]),
                    "title": "Mattermost user",
                    "description": format!("Authenticated through {}.", format!("{:?}", d.auth.provider).to_lowercase())
                }],
                "components": [
                    {
                        "uuid": this_system,
                        "type": "this-system",
                        "title": format!("Mattermost at {}", d.domain),
                        "description": "The whole system.",
                        "status": {"state": "under-development"}
                    },
                    {
                        "uuid": server,
                        "type": "software",
                        "title": format!("Mattermost server {}", ctx.provenance.mattermost_version),
                        "description": "The Mattermost server with the configuration the component definition describes.",
                        "status": {"state": "under-development"}
                    }
                ]
            },
            "control-implementation": {
                "description": format!(
                    "How the rendered configuration implements each SP 800-53 control that a secure-mattermost rule checks ({} rules, policy date {}).",
                    ctx.report.results.len(), ctx.provenance.policy_date
                ),
                "implemented-requirements": reqs
            }
        }
    });
    pretty(&doc)
}
