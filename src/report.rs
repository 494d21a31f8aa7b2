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

/// `text` left-aligned in `width` characters, as `{:<width}` writes it.
fn pad(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(text.chars().count())));
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
    // Columns padded by hand: the same text as `{:<width}`, without the
    // formatter's one-character-at-a-time fill (audit writes this per file).
    let mut out = String::with_capacity(128 * (rows.len() + 2));
    let columns = |out: &mut String, outcome: &str, id: &str| {
        pad(out, outcome, 17);
        out.push(' ');
        pad(out, id, id_w);
        out.push(' ');
    };
    columns(&mut out, "OUTCOME", "RULE");
    pad(&mut out, "CONTROLS", 24);
    out.push_str(" TITLE\n");
    for r in rows {
        columns(&mut out, word(r.outcome), &r.id);
        pad(&mut out, &r.controls.join(","), 24);
        out.push(' ');
        out.push_str(&r.title);
        out.push('\n');
        if r.outcome.is_failure() {
            columns(&mut out, "", "");
            out.push_str(&r.message);
            out.push_str("; fix: ");
            out.push_str(&r.fix);
            out.push('\n');
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
