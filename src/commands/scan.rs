//! `secure-mattermost scan`: SBOM and offline vulnerability scan of the
//! Mattermost server binary, on its own (render does the same with
//! `--scan-binary`/`--vuln-db` and puts the result into the evidence).
//! Waivers come from the declaration (`--input`/`--config`:
//! `vulnerabilityWaivers`, `policy.maxWaiverDays`), as in `render`, or, for a
//! scan without one, from a `--vuln-waivers` file. `--grype`/`--grypedb`
//! add grype (offline, its database built from `--vuln-db`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::cli::Format;
use crate::dates::Date;
use crate::document::{self, Justification};
use crate::error::{exit, Error};
use crate::evidence::vulns::{self, GrypeTools, Scan, Tools};
use crate::output;

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The Mattermost server binary.
    #[arg(long, value_name = "PATH")]
    pub binary: PathBuf,
    /// Local OSV database: a directory of <ID>.json entries (as `govulncheck -db file://DIR` reads).
    #[arg(long, value_name = "DIR")]
    pub vuln_db: PathBuf,
    /// The declaration (evaluated JSON document, or - for stdin) whose vulnerabilityWaivers and policy.maxWaiverDays apply.
    #[arg(long, value_name = "FILE", group = "waivers")]
    pub input: Option<PathBuf>,
    /// The declaration in Nix (built-in evaluator), as with --input.
    #[arg(long, value_name = "FILE", group = "waivers")]
    pub config: Option<PathBuf>,
    /// Without a declaration: waivers as a JSON object from vulnerability id to {reason, approvedBy, expires, ticket}.
    #[arg(long, value_name = "FILE", group = "waivers")]
    pub vuln_waivers: Option<PathBuf>,
    /// Policy date (YYYY-MM-DD) waiver expiry is judged on. Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Without a declaration: longest a waiver may run past the policy date [default: 365]. With one, its policy.maxWaiverDays.
    #[arg(long, value_name = "DAYS", conflicts_with_all = ["input", "config"])]
    pub max_waiver_days: Option<u32>,
    /// Write sbom-mattermost.cdx.json, sbom-secure-mattermost.cdx.json and vulnerabilities.json into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// govulncheck to run (default: PATH, then ~/go/bin).
    #[arg(long, value_name = "PATH")]
    pub govulncheck: Option<PathBuf>,
    /// SBOM generator: cyclonedx-gomod (default, PATH then ~/go/bin) or syft.
    #[arg(long, value_name = "PATH")]
    pub sbom_tool: Option<PathBuf>,
    /// grype as a third scanner (offline; the first path `scripts/grype-build.sh --print-path` prints); needs --grypedb.
    #[arg(long, value_name = "PATH", requires = "grypedb")]
    pub grype: Option<PathBuf>,
    /// tools/grypedb, which builds grype's database from --vuln-db beside --out (the second path `--print-path` prints); needs --grype.
    #[arg(long, value_name = "PATH", requires = "grype")]
    pub grypedb: Option<PathBuf>,
}

pub fn run(args: ScanArgs, format: Format) -> Result<i32, Error> {
    let today = match &args.today {
        Some(t) => Date::parse(t).ok_or_else(|| Error::Today { value: t.clone() })?,
        None => Date::today_utc(),
    };
    let (waivers, max_waiver_days) = waivers(&args)?;
    let grype = match (&args.grype, &args.grypedb) {
        (Some(grype), Some(grypedb)) => Some(GrypeTools { grype: grype.clone(), grypedb: grypedb.clone() }),
        _ => None,
    };
    let tools = Tools { govulncheck: args.govulncheck.clone(), sbom: args.sbom_tool.clone(), grype, out: args.out.clone() };
    let scan = vulns::scan_with(&args.binary, &args.vuln_db, &waivers, today, max_waiver_days, &tools)?;
    for line in scan.stderr_lines() {
        output::stderr(&line);
    }
    if let Some(out) = &args.out {
        let files = vec![
            ("sbom-mattermost.cdx.json".to_string(), scan.sbom_text.clone()),
            ("sbom-secure-mattermost.cdx.json".to_string(), crate::evidence::sbom::helper_sbom()),
            ("vulnerabilities.json".to_string(), scan.to_json()),
        ];
        crate::atomic_dir::replace(out, &files)?;
    }
    output::stdout(&match format {
        Format::Text => text(&scan),
        Format::Json => scan.to_json(),
        Format::Sarif => sarif(&scan, &args.binary.display().to_string()),
    })?;
    Ok(if scan.failing() > 0 { exit::POLICY_FAILED } else { exit::OK })
}

/// The waivers and the waiver window: the declaration's (`--input`/`--config`),
/// or a waiver file with `--max-waiver-days` for a scan on its own.
fn waivers(args: &ScanArgs) -> Result<(BTreeMap<String, Justification>, u32), Error> {
    let doc = match (&args.input, &args.config) {
        (Some(path), _) => {
            let (text, name) = crate::cli::read_input(path)?;
            Some(document::parse(&text, &name)?.0)
        }
        (None, Some(path)) => Some(document::from_value(crate::cli::evaluate_nix(path)?, &path.display().to_string())?.0),
        (None, None) => None,
    };
    Ok(match doc {
        Some(doc) => (vulns::declared_waivers(&doc.secure_mattermost), doc.secure_mattermost.policy.max_waiver_days),
        None => (vulns::load_waivers(args.vuln_waivers.as_deref())?, args.max_waiver_days.unwrap_or(DEFAULT_MAX_WAIVER_DAYS)),
    })
}

/// The module's default `policy.maxWaiverDays`.
const DEFAULT_MAX_WAIVER_DAYS: u32 = 365;

fn text(s: &Scan) -> String {
    let mut o = format!(
        "{} ({}, {} modules) against {} OSV entries by {}: {} finding(s), {} waived, {} failing; {} scanner disagreement(s), {} unexplained{}\n",
        s.binary,
        s.go_version,
        s.modules,
        s.database.entries,
        s.scanners.join(", "),
        s.findings.len(),
        s.findings.iter().filter(|f| f.status == "waived").count(),
        s.failing(),
        s.disagreements.len(),
        s.unexplained_disagreements,
        if s.grype.run { "" } else { "; grype not run" }
    );
    for f in &s.findings {
        o.push_str(&format!(
            "{:<8} {:<15} {:<7} {} {} (fixed: {}; found by {})\n",
            f.status,
            f.id,
            f.reachability(),
            f.module,
            f.version,
            f.fixed.as_deref().unwrap_or("none"),
            f.found_by.join(", ")
        ));
    }
    o
}

fn sarif(s: &Scan, artifact: &str) -> String {
    let mut ids: Vec<&str> = s.findings.iter().map(|f| f.id.as_str()).collect();
    ids.dedup();
    let rules: Vec<_> = ids.iter().map(|id| json!({"id": id, "name": id, "shortDescription": {"text": format!("Go vulnerability {id}")}})).collect();
    let results: Vec<_> = s
        .findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.id,
                "ruleIndex": ids.iter().position(|i| *i == f.id).unwrap_or(0),
                "level": if f.status == "waived" { "note" } else { "error" },
                "message": {"text": format!("{} {} is affected by {} ({})", f.module, f.version, f.id, f.reachability_words())},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact}}, "logicalLocations": [{"fullyQualifiedName": f.module, "kind": "module"}]}],
                "properties": {"reachability": f.reachability(), "fixed": f.fixed, "foundBy": f.found_by}
            });
            if let Some(w) = f.waiver.as_ref().filter(|_| f.status == "waived") {
                r["suppressions"] = json!([{"kind": "external", "status": "accepted", "justification": w.reason}]);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": crate::sarif::SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "secure-mattermost-scan", "version": env!("CARGO_PKG_VERSION"), "rules": rules}}, "results": results}]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
