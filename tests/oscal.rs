//! The OSCAL assessment results load with compliance-trestle's OSCAL models
//! (a real validator), and an invalid variant is rejected by the same check.

mod common;
use common::*;
use std::process::Command;

const VALIDATE: &str = "import pathlib, sys\nfrom trestle.oscal.assessment_results import AssessmentResults\nar = AssessmentResults.oscal_read(pathlib.Path(sys.argv[1]))\nprint(len(ar.results[0].findings))\n";

fn trestle(path: &std::path::Path) -> (bool, String) {
    let o = Command::new("python3").args(["-c", VALIDATE]).arg(path).output().expect("python3");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn assessment_results_are_valid_oscal() {
    let has = Command::new("python3").args(["-c", "import trestle.oscal.assessment_results"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !has {
        skip_missing("trestle", "oscal", "compliance-trestle not installed (scripts/test.sh installs it with pip)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let doc = patched(load("examples/kubernetes.json"), &serde_json::json!({"allowGuestUsers": true, "justification": {"allowGuestUsers": "Scoped exception"}}));
    let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = out.join("assessment-results.oscal.json");
    let (ok, text) = trestle(&file);
    assert!(ok, "{text}");
    let n: usize = text.trim().parse().expect("finding count");
    assert!(n >= 60, "only {n} findings");
    let oscal = std::fs::read_to_string(&file).unwrap();
    assert!(oscal.contains("Justification (allowGuestUsers): Scoped exception"));
    // Same input, same document (content-derived UUIDs).
    let out2 = dir.path().join("out2");
    run_stdin(&["render", "--input", "-", "--out", out2.to_str().unwrap(), "--today", TODAY], &doc.to_string());
    assert_eq!(oscal, std::fs::read_to_string(out2.join("assessment-results.oscal.json")).unwrap());
    // The validator is not a rubber stamp.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, oscal.replacen("\"not-satisfied\"", "\"maybe\"", 1)).unwrap();
    assert!(!trestle(&bad).0, "trestle accepted an invalid finding state");
}

tests![
    assessment_results_are_valid_oscal,
];
