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

fn word(o: Outcome) -> &'static str {
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

/// Today's date (UTC) as YYYY-MM-DD, without a date library.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert!(super::valid_date("2026-11-23"));
        assert!(!super::valid_date("2026-13-01"));
        assert!(!super::valid_date("tomorrow"));
        assert_eq!(super::today_utc().len(), 10);
    }
}
