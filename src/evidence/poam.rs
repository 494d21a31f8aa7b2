//! OSCAL plan of action and milestones: one item per waiver (its expiry is
//! the scheduled completion; an undated waiver has none and says so) and
//! one per vulnerability left in the server (waived by its id).

use serde_json::{json, Value};

use crate::policy::Outcome;

use super::oscal_common::{id, metadata, pretty, prop};
use super::Context;

struct Item {
    key: String,
    title: String,
    description: String,
    statement: String,
    deadline: Option<String>,
    remediation: String,
    props: Vec<Value>,
    status: &'static str,
}

fn items(ctx: &Context) -> Vec<Item> {
    let mut out = Vec::new();
    for r in ctx.waivers().filter(|r| r.outcome == Outcome::Waived) {
        let Some(j) = &r.justification else { continue };
        let mut props = vec![prop("rule", &r.id), prop("controls", &r.controls.join(" "))];
        if let Some(a) = &j.approved_by {
            props.push(prop("approved-by", a));
        }
        if let Some(t) = &j.ticket {
            props.push(prop("ticket", t));
        }
        if j.undated {
            props.push(prop("undated-waiver", "true"));
        }
        out.push(Item {
            key: format!("rule/{}", r.id),
            title: format!("Waived rule {}: {}", r.id, r.title),
            description: format!(
                "Rule {} ({}) is not met and is waived by justification.{}: {}{}",
                r.id,
                r.controls.join(", "),
                j.key,
                j.reason.trim(),
                if j.undated { " UNDATED: a plain-string waiver with no approver and no expiry; record approvedBy and expires." } else { "" }
            ),
            statement: r.message.clone(),
            deadline: j.expires.clone(),
            remediation: r.fix.clone(),
            props,
            status: if j.undated { "open" } else { "deviation-approved" },
        });
    }
    if let Some(scan) = ctx.scan {
        for f in &scan.findings {
            let mut props = vec![prop("vulnerability-id", &f.id), prop("module", &f.module), prop("reachability", f.reachability())];
            if let Some(w) = &f.waiver {
                if let Some(a) = &w.approved_by {
                    props.push(prop("approved-by", a));
                }
                if let Some(t) = &w.ticket {
                    props.push(prop("ticket", t));
                }
            }
            out.push(Item {
                key: format!("vuln/{}/{}", f.id, f.module),
                title: format!("Vulnerability {} in {} {}", f.id, f.module, f.version),
                description: format!(
                    "{} affects {} {} in the Mattermost server binary ({}).{}",
                    f.id,
                    f.module,
                    f.version,
                    f.reachability_words(),
                    f.waiver.as_ref().map(|w| format!(" Waived: {}", w.reason.trim())).unwrap_or_default()
                ),
                statement: format!("The deployed server contains {} {}, which {} lists as affected.", f.module, f.version, f.id),
                deadline: f.waiver.as_ref().and_then(|w| w.expires.clone()),
                remediation: match &f.fixed {
                    Some(v) => format!("Upgrade {} to {v} or later (bump catalog/mattermost-pin.json to a release that includes it).", f.module),
                    None => format!("No fixed version is known for {}: remove or replace the affected module.", f.module),
                },
                props,
                status: if f.waiver.is_some() { "deviation-approved" } else { "open" },
            });
        }
    }
    out
}

/// The POA&M, or `None` when there is nothing open (OSCAL needs at least one item).
pub fn render_opt(ctx: &Context) -> Option<String> {
    let items = items(ctx);
    if items.is_empty() {
        return None;
    }
    let mut risks = Vec::new();
    let mut poam_items = Vec::new();
    for it in &items {
        let risk_uuid = id(ctx, &["poam", "risk", &it.key]);
        let mut risk = json!({
            "uuid": risk_uuid,
            "title": it.title,
            "description": it.description,
            "statement": it.statement,
            "status": it.status,
            "remediations": [{
                "uuid": id(ctx, &["poam", "remediation", &it.key]),
                "lifecycle": "planned",
                "title": "Remediation",
                "description": it.remediation
            }]
        });
        if let Some(date) = &it.deadline {
            risk["deadline"] = json!(format!("{date}T23:59:59Z"));
            risk["remediations"][0]["tasks"] = json!([{
                "uuid": id(ctx, &["poam", "milestone", &it.key]),
                "type": "milestone",
                "title": "Scheduled completion (waiver expiry)",
                "timing": {"on-date": {"date": format!("{date}T23:59:59Z")}}
            }]);
        }
        risks.push(risk);
        poam_items.push(json!({
            "uuid": id(ctx, &["poam", "item", &it.key]),
            "title": it.title,
            "description": it.description,
            "props": it.props,
            "related-risks": [{"risk-uuid": risk_uuid}]
        }));
    }
    let doc: Value = json!({
        "plan-of-action-and-milestones": {
            "uuid": id(ctx, &["poam"]),
            "metadata": metadata(ctx, format!("Plan of action and milestones: Mattermost at {}", ctx.deployment.domain)),
            "import-ssp": {"href": "system-security-plan.oscal.json"},
            "system-id": {"identifier-type": "https://ietf.org/rfc/rfc4122", "id": id(ctx, &["ssp", "system-id"])},
            "risks": risks,
            "poam-items": poam_items
        }
    });
    Some(pretty(&doc))
}
