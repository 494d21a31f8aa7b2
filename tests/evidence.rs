//! The ATO evidence bundle `render` writes: report.md/report.html with a row
//! for every rule, the waiver register (undated waivers flagged), OSCAL
//! component definition, SSP and POA&M that compliance-trestle loads (and
//! rejects when broken), control ids that exist in SP 800-53 rev5 and are
//! not withdrawn, and the same bytes for the same input.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn waived_doc() -> Value {
    patched(
        load("examples/kubernetes.json"),
        &json!({
            "allowGuestUsers": true,
            "justification": {
                "allowGuestUsers": {"reason": "Partner agencies collaborate under ISA-2031", "approvedBy": "ISSO J. Doe", "expires": "2027-06-30", "ticket": "POAM-1234"},
                "personal-access-tokens-off": "Automation accounts need tokens for the pilot"
            },
            "settings": {"ServiceSettings": {"EnableUserAccessTokens": true}}
        }),
    )
}

fn render(doc: &Value, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY];
    args.extend_from_slice(extra);
    run_stdin(&args, &doc.to_string())
}

const EVIDENCE: &[&str] = &["report.md", "report.html", "component-definition.oscal.json", "system-security-plan.oscal.json", "poam.oscal.json"];

fn report_has_every_rule_the_waiver_register_and_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = render(&waived_doc(), &out, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let outcomes: Value = serde_json::from_str(&std::fs::read_to_string(out.join("outcomes.json")).unwrap()).unwrap();
    for rule in outcomes["rules"].as_array().unwrap() {
        let id = rule["id"].as_str().unwrap();
        assert!(md.contains(&format!("| `{id}` ")), "report.md lacks a row for {id}");
        assert!(html.contains(&format!("data-rule=\"{id}\"")), "report.html lacks a row for {id}");
    }
    // Provenance: the catalog hash is the hash of the shipped catalog.
    let catalog = std::fs::read(root().join("catalog/controls.json")).unwrap();
    let sha = {
        use std::fmt::Write;
        let o = Command::new("sha256sum").arg(root().join("catalog/controls.json")).output().unwrap();
        let mut s = String::new();
        let _ = write!(s, "{}", String::from_utf8_lossy(&o.stdout).split(' ').next().unwrap());
        s
    };
    assert!(!catalog.is_empty() && md.contains(&sha), "catalog SHA-256 {sha} not in report.md");
    assert!(md.contains("| Policy date | 2026-11-23 |"));
    // Waiver register: the structured waiver in full, the plain string flagged undated.
    let register = md.split("## Waiver register").nth(1).unwrap();
    assert!(register.contains("| `guest-accounts-disabled` | allowGuestUsers | accepted | Partner agencies collaborate under ISA-2031 | ISSO J. Doe | 2027-06-30 | POAM-1234 |"), "{register}");
    let undated = register.lines().find(|l| l.contains("`personal-access-tokens-off`")).expect("undated waiver listed");
    assert!(undated.contains("UNDATED"), "{undated}");
    // n/a and advisory carry their reason.
    assert!(md.contains("advisory: needs a site value: set classificationBanner.text"));
    assert!(md.contains("n/a: does not apply to this deployment"));
    // Nothing in the page can fetch anything.
    for bad in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
}

fn the_same_declaration_gives_the_same_evidence_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(render(&waived_doc(), &a, &[]).code, 0);
    assert_eq!(render(&waived_doc(), &b, &[]).code, 0);
    for f in EVIDENCE {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs between two renders");
    }
    // A different declaration is a different document (hash and UUIDs).
    let c = dir.path().join("c");
    let other = patched(waived_doc(), &json!({"siteName": "Other"}));
    assert_eq!(render(&other, &c, &[]).code, 0);
    assert_ne!(std::fs::read(a.join("poam.oscal.json")).unwrap(), std::fs::read(c.join("poam.oscal.json")).unwrap());
}

fn poam_has_one_item_per_waiver_with_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(render(&waived_doc(), &out, &[]).code, 0);
    let poam: Value = serde_json::from_str(&std::fs::read_to_string(out.join("poam.oscal.json")).unwrap()).unwrap();
    let p = &poam["plan-of-action-and-milestones"];
    let items = p["poam-items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:#?}");
    let risks = p["risks"].as_array().unwrap();
    let dated = risks.iter().find(|r| r["title"].as_str().unwrap().contains("guest-accounts-disabled")).unwrap();
    assert_eq!(dated["deadline"], "2027-06-30T23:59:59Z");
    assert_eq!(dated["remediations"][0]["tasks"][0]["timing"]["on-date"]["date"], "2027-06-30T23:59:59Z");
    let undated = risks.iter().find(|r| r["title"].as_str().unwrap().contains("personal-access-tokens-off")).unwrap();
    assert!(undated.get("deadline").is_none());
    assert!(undated["description"].as_str().unwrap().contains("UNDATED"));
    // No waiver, nothing open: no POA&M (OSCAL needs at least one item).
    let clean = dir.path().join("clean");
    assert_eq!(render(&load("examples/kubernetes.json"), &clean, &[]).code, 0);
    assert!(!clean.join("poam.oscal.json").exists());
    assert!(clean.join("system-security-plan.oscal.json").exists());
}

const TRESTLE: &str = "import pathlib, sys\n\
from trestle.oscal.component import ComponentDefinition\n\
from trestle.oscal.ssp import SystemSecurityPlan\n\
from trestle.oscal.poam import PlanOfActionAndMilestones\n\
kinds = {'component-definition': ComponentDefinition, 'system-security-plan': SystemSecurityPlan, 'plan-of-action-and-milestones': PlanOfActionAndMilestones}\n\
import json\n\
p = pathlib.Path(sys.argv[1])\n\
kind = next(iter(json.loads(p.read_text())))\n\
kinds[kind].oscal_read(p)\n\
print('ok', kind)\n";

fn trestle(path: &Path) -> (bool, String) {
    let o = Command::new("python3").args(["-c", TRESTLE]).arg(path).output().expect("python3");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn oscal_documents_load_in_compliance_trestle() {
    let has = Command::new("python3").args(["-c", "import trestle.oscal.poam"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !has {
        skip_missing("trestle", "evidence::oscal_documents_load_in_compliance_trestle", "compliance-trestle not installed (scripts/test.sh installs it with pip)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(render(&waived_doc(), &out, &[]).code, 0);
    for f in ["component-definition.oscal.json", "system-security-plan.oscal.json", "poam.oscal.json"] {
        let (ok, text) = trestle(&out.join(f));
        assert!(ok, "{f}: {text}");
    }
    // The validator is not a rubber stamp: a bad risk status, a bad implementation state.
    let poam = std::fs::read_to_string(out.join("poam.oscal.json")).unwrap();
    let bad = dir.path().join("bad-poam.json");
    std::fs::write(&bad, poam.replacen("\"uuid\": \"", "\"uuid\": \"not-a-uuid-", 1)).unwrap();
    assert!(!trestle(&bad).0, "trestle accepted an invalid UUID");
    let ssp = std::fs::read_to_string(out.join("system-security-plan.oscal.json")).unwrap();
    let bad = dir.path().join("bad-ssp.json");
    std::fs::write(&bad, ssp.replacen("\"control-implementation\"", "\"control-implementations\"", 1)).unwrap();
    assert!(!trestle(&bad).0, "trestle accepted an SSP without control-implementation");
}

/// oscal-validate (PyPI) checks against NIST's schema and constraints; it
/// needs Python 3.12, which scripts/test.sh provides in a venv where it can.
fn oscal_documents_pass_oscal_validate() {
    let venv = std::env::var("SM_OSCAL_VALIDATE").unwrap_or_else(|_| {
        cache_dir().join("secure-mattermost/oscal-validate/bin/oscal-validate").display().to_string()
    });
    if !Path::new(&venv).is_file() {
        skip_missing("oscal-validate", "evidence::oscal_documents_pass_oscal_validate", "oscal-validate not installed (needs Python >= 3.12; scripts/test.sh installs it into ~/.cache/secure-mattermost/oscal-validate)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(render(&waived_doc(), &out, &[]).code, 0);
    for f in ["component-definition.oscal.json", "system-security-plan.oscal.json", "poam.oscal.json", "assessment-results.oscal.json"] {
        let o = Command::new(&venv).arg(out.join(f)).output().expect("oscal-validate runs");
        assert!(o.status.success(), "{f}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    // The POA&M's import resolves against the SSP beside it.
    let o = Command::new(&venv).arg("--resolve").arg(out.join("system-security-plan.oscal.json")).arg(out.join("poam.oscal.json")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let poam = std::fs::read_to_string(out.join("poam.oscal.json")).unwrap();
    let bad = dir.path().join("bad-poam.json");
    std::fs::write(&bad, poam.replacen("\"uuid\": \"", "\"uuid\": \"not-a-uuid-", 1)).unwrap();
    let o = Command::new(&venv).arg(&bad).output().unwrap();
    assert!(!o.status.success(), "oscal-validate accepted an invalid UUID");
}

/// Every control id in the catalog and in every OSCAL document is an SP
/// 800-53 rev5 control or enhancement that is not withdrawn.
fn control_ids_exist_and_are_not_withdrawn() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("../shared/reference/sp800-53r5-controls.json")).expect("shared/reference beside the repo"),
    )
    .unwrap();
    let known: std::collections::BTreeMap<String, bool> = reference["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c["withdrawn"].as_bool().unwrap()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(render(&waived_doc(), &out, &[]).code, 0);
    let mut seen = 0;
    for f in ["component-definition.oscal.json", "system-security-plan.oscal.json", "assessment-results.oscal.json"] {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap();
        let mut ids = Vec::new();
        collect(&doc, &mut ids);
        for id in ids {
            seen += 1;
            match known.get(&id) {
                Some(false) => {}
                Some(true) => panic!("{f}: {id} is withdrawn"),
                None => panic!("{f}: {id} is not an SP 800-53 rev5 control"),
            }
        }
    }
    assert!(seen > 100, "only {seen} control ids checked");
    // The check can fail.
    assert_eq!(known.get("ac-2"), Some(&false));
    assert!(known.values().any(|w| *w), "the reference lists withdrawn controls");
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "control-id" {
                    out.push(x.as_str().unwrap().to_string());
                } else {
                    collect(x, out);
                }
            }
        }
        Value::Array(xs) => xs.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// `$XDG_CACHE_HOME`, else `~/.cache` (where scripts/test.sh installs tools).
fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"))
}

tests![
    report_has_every_rule_the_waiver_register_and_provenance,
    the_same_declaration_gives_the_same_evidence_bytes,
    poam_has_one_item_per_waiver_with_its_expiry,
    oscal_documents_load_in_compliance_trestle,
    oscal_documents_pass_oscal_validate,
    control_ids_exist_and_are_not_withdrawn,
];
