//! What the check decided, for people (a table) and for machines
//! (outcomes.json, the evidence file kept beside the artifacts).

use serde_json::json;

use crate::policy::{Outcome, Report};

pub fn outcomes_json(report: &Report, mode: &str, domain: &str, today: &str) -> String {
    let doc = json!({
        "tool": "secure-mattermost",
        "toolVersion": env!("CARGO_PKG_VERSION"),
        "mattermostVersion": crate::defaults::pin().version,
        "evaluatedOn": today,
        "mode": mode,
        "domain": domain,
        "summary": summary(report),
        "rules": report.results,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

pub fn summary(report: &Report) -> serde_json::Value {
    let count = |o: Outcome| report.results.iter().filter(|r| r.outcome == o).count();
    json!({
        "pass": count(Outcome::Pass),
        "notApplicable": count(Outcome::NotApplicable),
        "advisory": count(Outcome::Advisory),
        "waived": count(Outcome::Waived),
        "fail": count(Outcome::Fail),
        "ineffectiveWithoutLicence": count(Outcome::IneffectiveWithoutLicence),
    })
}

/// The outcome as the tables print it.
pub(crate) fn word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::NotApplicable => "n/a",
        Outcome::Advisory => "advisory",
        Outcome::Waived => "WAIVED",
        Outcome::Fail => "FAIL",
        Outcome::IneffectiveWithoutLicence => "FAIL (no licence)",
    }
}

/// The outcome table printed by `check` and `render`.
pub fn table(report: &Report) -> String {
    let mut rows: Vec<_> = report.results.iter().collect();
    rows.sort_by_key(|r| match r.outcome {
        Outcome::Fail | Outcome::IneffectiveWithoutLicence => 0,
        Outcome::Waived => 1,
        Outcome::Advisory => 2,
        Outcome::Pass => 3,
        Outcome::NotApplicable => 4,
    });
    let id_w = rows.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<17} {:<id_w$} {:<24} {}\n", "OUTCOME", "RULE", "CONTROLS", "TITLE");
    for r in rows {
        let controls = r.controls.join(",");
        out.push_str(&format!("{:<17} {:<id_w$} {:<24} {}\n", word(r.outcome), r.id, controls, r.title));
        if r.outcome.is_failure() {
            out.push_str(&format!("{:<17} {:<id_w$} {}; fix: {}\n", "", "", r.message, r.fix));
        }
    }
    let s = summary(report);
    out.push_str(&format!(
        "\n{} rules: {} pass, {} n/a, {} advisory, {} waived, {} failed ({} ineffective without licence)\n",
        report.results.len(),
        s["pass"],
        s["notApplicable"],
        s["advisory"],
        s["waived"],
        report.failed(),
        s["ineffectiveWithoutLicence"]
    ));
    out
}
