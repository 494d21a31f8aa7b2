//! The rendered unit under systemd's own analyzer: it parses, its binaries
//! resolve, and its sandboxing scores as low exposure (the same check fails
//! once the hardening lines are removed).

mod common;
use common::*;
use std::process::Command;

fn analyze(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let o = Command::new("systemd-analyze").current_dir(dir).args(args).output().expect("systemd-analyze");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn unit_verifies_and_is_sandboxed() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        skip_missing("systemd", "real_systemd", "systemd-analyze not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run(&[
        "render", "--input", "examples/baremetal.json", "--out", out.to_str().unwrap(), "--today", TODAY,
        "--mattermost-bin", "/bin/true", "--helper-bin", "/bin/true",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (ok, text) = analyze(&["verify", "./mattermost.service"], &out);
    assert!(ok, "{text}");
    let (ok, text) = analyze(&["security", "--offline=true", "--threshold=20", "./mattermost.service"], &out);
    assert!(ok, "exposure above 2.0:\n{text}");

    // The thresholds bite: without the sandboxing directives the same check fails.
    let unit = std::fs::read_to_string(out.join("mattermost.service")).unwrap();
    let bare: String = unit
        .lines()
        .filter(|l| !(l.starts_with("Protect") || l.starts_with("Restrict") || l.starts_with("Private") || l.starts_with("SystemCall") || l.starts_with("Capability")))
        .map(|l| format!("{l}\n"))
        .collect();
    let weak = dir.path().join("weak");
    std::fs::create_dir(&weak).unwrap();
    std::fs::write(weak.join("mattermost.service"), bare).unwrap();
    let (ok, _) = analyze(&["security", "--offline=true", "--threshold=20", "./mattermost.service"], &weak);
    assert!(!ok, "a unit without sandboxing passed the exposure threshold");

    // Secrets reach the unit only as credential file references.
    assert!(unit.contains("LoadCredential=database-password:/run/secrets/mattermost/database-password"));
    // The unit refers to the install directory on the host, not the render directory.
    assert!(unit.contains("--spec /etc/secure-mattermost/secret-env.json "), "{unit}");
    assert!(!unit.contains(out.to_str().unwrap()), "{unit}");
}

tests![
    unit_verifies_and_is_sandboxed,
];
