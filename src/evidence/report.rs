//! report.md: the assessor's reading of the check, per SP 800-53 family.

use crate::policy::{label, Outcome, RuleResult};

use super::{families, evidence_lines, family_name, outcome_word, Context};

/// Markdown table cells: no line breaks, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub fn outcome_with_reason(r: &RuleResult) -> String {
    match r.outcome {
        Outcome::NotApplicable | Outcome::Advisory | Outcome::Fail | Outcome::IneffectiveWithoutLicence => {
            format!("{}: {}", outcome_word(r.outcome), r.message)
        }
        Outcome::Waived => format!(
            "waived ({})",
            r.justification.as_ref().map(|j| format!("justification.{}", j.key)).unwrap_or_default()
        ),
        Outcome::Pass => "pass".into(),
    }
}

pub fn markdown(ctx: &Context) -> String {
    let d = ctx.deployment;
    let mut o = String::new();
    o.push_str(&format!("# Security assessment evidence: {}\n\n", cell(&d.domain)));
    o.push_str("## Deployment\n\n| | |\n|---|---|\n");
    for (k, v) in super::summary_rows(ctx) {
        o.push_str(&format!("| {k} | {} |\n", cell(&v)));
    }
    o.push_str(&format!("\n**Outcome:** {}\n\n", super::outcome_sentence(ctx)));

    o.push_str("## Controls\n\n");
    for (fam, controls) in families() {
        o.push_str(&format!("### {} — {}\n\n", fam.to_uppercase(), family_name(&fam)));
        o.push_str("| Control | Rule | Outcome | Evidence |\n|---|---|---|---|\n");
        for (control, rules) in controls {
            for rule in rules {
                let Some(r) = ctx.report.results.iter().find(|x| x.id == rule.id) else { continue };
                o.push_str(&format!(
                    "| {} | `{}` {} | {} | {} |\n",
                    label(&control),
                    r.id,
                    cell(&r.title),
                    cell(&outcome_with_reason(r)),
                    cell(&evidence_lines(r).iter().map(|l| format!("`{}`", l.replace('`', "'"))).collect::<Vec<_>>().join("<br>"))
                ));
            }
        }
        o.push('\n');
    }

    o.push_str("## Waiver register\n\n");
    let waivers: Vec<&RuleResult> = ctx.waivers().collect();
    if waivers.is_empty() {
        o.push_str("No justification is recorded.\n\n");
    } else {
        o.push_str("| Rule | Key | Status | Reason | Approver | Expires | Ticket | Flags |\n|---|---|---|---|---|---|---|---|\n");
        for r in waivers {
            let Some(j) = &r.justification else { continue };
            o.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
                r.id,
                cell(&j.key),
                waiver_status(r),
                cell(&j.reason),
                cell(j.approved_by.as_deref().unwrap_or("—")),
                cell(j.expires.as_deref().unwrap_or("—")),
                cell(j.ticket.as_deref().unwrap_or("—")),
                cell(&waiver_flags(r))
            ));
        }
        o.push('\n');
    }
    super::vulns::markdown_section(ctx.scan, &mut o);
    o
}

/// accepted (the waiver is in force), stale (the rule passes anyway), refused.
pub fn waiver_status(r: &RuleResult) -> &'static str {
    match (r.outcome, r.justification.as_ref().map(|j| j.problems.is_empty())) {
        (Outcome::Waived, _) => "accepted",
        (_, Some(false)) => "refused",
        (Outcome::Pass | Outcome::NotApplicable | Outcome::Advisory, _) => "stale",
        _ => "refused",
    }
}

pub fn waiver_flags(r: &RuleResult) -> String {
    let Some(j) = &r.justification else { return String::new() };
    let mut flags = Vec::new();
    if j.undated {
        flags.push("UNDATED: plain string, no approver or expiry".to_string());
    }
    flags.extend(j.problems.iter().cloned());
    flags.join("; ")
}
