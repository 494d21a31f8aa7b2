//! OSCAL component definition: this deployment's Mattermost configuration
//! as a component, each SP 800-53 control it implements with the rules and
//! the settings that do it.

use serde_json::{json, Value};

use crate::policy::label;

use super::oscal_common::{id, metadata, pretty, prop, SP800_53_CATALOG};
use super::{families, evidence_lines, outcome_word, Context};

pub fn render(ctx: &Context) -> String {
    let d = ctx.deployment;
    let mut reqs = Vec::new();
    for (_, controls) in families() {
        for (control, rules) in controls {
            let mut lines = Vec::new();
            let mut props = Vec::new();
            for rule in rules {
                let Some(r) = ctx.report.results.iter().find(|x| x.id == rule.id) else { continue };
                let ev = evidence_lines(r);
                lines.push(format!(
                    "Rule {} ({}): {}. Settings: {}.{}",
                    r.id,
                    outcome_word(r.outcome),
                    r.title,
                    if r.settings.is_empty() { "none".to_string() } else { r.settings.join(", ") },
                    if ev.is_empty() { String::new() } else { format!(" Configured: {}.", ev.join("; ")) }
                ));
                props.push(prop("rule", &r.id));
                props.push(prop(&format!("outcome-{}", r.id), super::outcome_token(r.outcome)));
            }
            reqs.push(json!({
                "uuid": id(ctx, &["component-definition", "requirement", &control]),
                "control-id": control,
                "description": format!("{} is addressed by the deployment's configuration. {}", label(&control), lines.join(" ")),
                "props": props
            }));
        }
    }
    let doc: Value = json!({
        "component-definition": {
            "uuid": id(ctx, &["component-definition"]),
            "metadata": metadata(ctx, format!("Mattermost configuration of {} ({})", d.domain, ctx.mode())),
            "components": [{
                "uuid": id(ctx, &["component-definition", "component"]),
                "type": "software",
                "title": format!("Mattermost {} configured by secure-mattermost for {}", ctx.provenance.mattermost_version, d.domain),
                "description": format!(
                    "The effective Mattermost server configuration rendered for {} in {} mode: release defaults, the catalog's hardened values, the declaration's options and settings, checked by {} catalog rules.",
                    d.domain, ctx.mode(), ctx.report.results.len()
                ),
                "purpose": "Team messaging inside the authorization boundary",
                "props": [prop("mode", ctx.mode()), prop("mattermost-version", &ctx.provenance.mattermost_version)],
                "control-implementations": [{
                    "uuid": id(ctx, &["component-definition", "control-implementation"]),
                    "source": SP800_53_CATALOG,
                    "description": "SP 800-53 rev5 controls implemented by the rendered configuration, each with the secure-mattermost rules that check it.",
                    "implemented-requirements": reqs
                }]
            }]
        }
    });
    pretty(&doc)
}
