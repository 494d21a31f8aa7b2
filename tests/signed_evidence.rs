//! The evidence bundle signed with a site key (`render --sign-key`, an SSH
//! signature over a sha256sum manifest) and `verify-evidence`: a good bundle
//! verifies; a changed, added or removed file, another signer or an
//! unsigned bundle does not.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn keygen(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join(name);
    let o = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"]).arg(&key).output().expect("ssh-keygen");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = dir.join(format!("{name}.allowed"));
    std::fs::write(&allowed, format!("evidence@example.mil namespaces=\"secure-mattermost-evidence\" {public}")).unwrap();
    (key, allowed)
}

fn verify(dir: &Path, allowed: &Path) -> Run {
    run(&["verify-evidence", dir.to_str().unwrap(), "--allowed-signers", allowed.to_str().unwrap(), "--format", "json"])
}

fn signed_bundle_verifies_and_tampering_is_caught() {
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        skip_missing("ssh-keygen", "signed_evidence", "ssh-keygen (openssh-client) not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, allowed) = keygen(dir.path(), "site");
    let (_, other_allowed) = keygen(dir.path(), "other");
    let out = dir.path().join("out");
    let r = run_stdin(
        &["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY, "--sign-key", key.to_str().unwrap()],
        &load("examples/baremetal.json").to_string(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest = std::fs::read_to_string(out.join("evidence-manifest.sha256")).unwrap();
    for f in ["config.json", "outcomes.json", "report.html", "report.md", "system-security-plan.oscal.json", "assessment-results.oscal.json"] {
        assert!(manifest.contains(&format!("  {f}\n")), "{f} not in the manifest:\n{manifest}");
    }
    // sha256sum reads the manifest as it is.
    let o = Command::new("sha256sum").args(["-c", "--quiet", "evidence-manifest.sha256"]).current_dir(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let r = verify(&out, &allowed);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("\"verified\": true") && r.stdout.contains("evidence@example.mil"));

    // Another site's key is not ours.
    let r = verify(&out, &other_allowed);
    assert_eq!(r.code, 1, "{}", r.stderr);

    // A changed file.
    let cfg = out.join("config.json");
    let original = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, original.replacen("\"MaximumLoginAttempts\": 3", "\"MaximumLoginAttempts\": 30", 1)).unwrap();
    let r = verify(&out, &allowed);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("config.json: changed since signing"), "{}", r.stderr);
    std::fs::write(&cfg, &original).unwrap();
    assert_eq!(verify(&out, &allowed).code, 0);

    // A file added, then a file removed.
    std::fs::write(out.join("extra-waiver.md"), "approved").unwrap();
    let r = verify(&out, &allowed);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("extra-waiver.md: not in the signed manifest"), "{}", r.stderr);
    std::fs::remove_file(out.join("extra-waiver.md")).unwrap();
    std::fs::remove_file(out.join("report.md")).unwrap();
    let r = verify(&out, &allowed);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("report.md: listed in the manifest but missing"), "{}", r.stderr);

    // A manifest edited to match a changed file breaks the signature.
    std::fs::write(out.join("report.md"), "forged").unwrap();
    let forged: String = manifest
        .lines()
        .map(|l| if l.ends_with("  report.md") { format!("{}  report.md\n", sha256("forged")) } else { format!("{l}\n") })
        .collect();
    std::fs::write(out.join("evidence-manifest.sha256"), forged).unwrap();
    let r = verify(&out, &allowed);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("signature does not match"), "{}", r.stderr);
}

fn sha256(s: &str) -> String {
    let mut c = Command::new("sha256sum").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap().split(' ').next().unwrap().to_string()
}

fn unsigned_bundles_bad_keys_and_missing_directories() {
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        skip_missing("ssh-keygen", "signed_evidence", "ssh-keygen (openssh-client) not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (key, allowed) = keygen(dir.path(), "site");
    let out = dir.path().join("unsigned");
    let doc = load("examples/kubernetes.json").to_string();
    assert_eq!(run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc).code, 0);
    let r = verify(&out, &allowed);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not signed"), "{}", r.stderr);
    assert_eq!(verify(&dir.path().join("nope"), &allowed).code, 3);
    // A key others can read is refused by ssh-keygen: bad input, nothing written.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out2 = dir.path().join("signed");
    let r = run_stdin(&["render", "--input", "-", "--out", out2.to_str().unwrap(), "--today", TODAY, "--sign-key", key.to_str().unwrap()], &doc);
    if r.code == 0 {
        // root may read any key; then the bundle must verify.
        assert_eq!(verify(&out2, &allowed).code, 0);
    } else {
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(!out2.exists());
    }
    assert!(!r.stderr.contains("PRIVATE KEY"), "the key must never be echoed");
    let r = run_stdin(&["render", "--input", "-", "--out", out2.to_str().unwrap(), "--today", TODAY, "--sign-key", dir.path().join("missing-key").to_str().unwrap()], &doc);
    assert_eq!(r.code, 3);
}

tests![
    signed_bundle_verifies_and_tampering_is_caught,
    unsigned_bundles_bad_keys_and_missing_directories,
];
