//! Crash-safe output: `render` killed with SIGKILL at random moments leaves
//! the output directory either exactly as the previous run wrote it or
//! exactly as the new run would, never a mix; whatever a killed run left
//! beside it is cleared by the next run. Also the refusals around the output
//! path: a file in its place, and a parent that cannot be written.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

/// name → sha256 of every entry of `dir` (files only; a subdirectory or
/// anything else is recorded as such so it cannot match).
fn tree(dir: &Path) -> Option<BTreeMap<String, String>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut m = BTreeMap::new();
    for e in entries {
        let e = e.ok()?;
        let name = e.file_name().to_string_lossy().into_owned();
        let ft = e.file_type().ok()?;
        let v = if ft.is_file() {
            let bytes = std::fs::read(e.path()).ok()?;
            format!("{:x}", Sha256::digest(&bytes))
        } else {
            "not a regular file".into()
        };
        m.insert(name, v);
    }
    Some(m)
}

fn hidden_siblings(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn decl(dir: &Path, domain: &str) -> std::path::PathBuf {
    let d = patched(base("kubernetes"), &json!({ "domain": domain }));
    let p = dir.join(format!("{domain}.json"));
    std::fs::write(&p, d.to_string()).unwrap();
    p
}

fn render_cmd(input: &Path, out: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("secure-mattermost"));
    c.args(["render", "--today", TODAY, "--input"]).arg(input).arg("--out").arg(out);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

fn render_ok(input: &Path, out: &Path) {
    let st = render_cmd(input, out).status().unwrap();
    assert!(st.success(), "render of {} into {} failed", input.display(), out.display());
}

/// A uniformly random duration in [0, max) from /dev/urandom.
fn random_below(max: Duration) -> Duration {
    use std::io::Read;
    let mut b = [0u8; 8];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut b).unwrap();
    let r = u64::from_le_bytes(b) as f64 / u64::MAX as f64;
    max.mul_f64(r)
}

fn killed_render_leaves_old_or_new_never_a_mix() {
    let work = tempfile::tempdir().unwrap();
    let a = decl(work.path(), "a.example.com");
    let b = decl(work.path(), "b.example.com");
    let refs = work.path().join("refs");
    std::fs::create_dir(&refs).unwrap();
    render_ok(&a, &refs.join("a"));
    render_ok(&b, &refs.join("b"));
    let tree_a = tree(&refs.join("a")).unwrap();
    let tree_b = tree(&refs.join("b")).unwrap();
    assert_ne!(tree_a, tree_b, "the two declarations must render differently");

    let parent = work.path().join("site");
    std::fs::create_dir(&parent).unwrap();
    let out = parent.join("out");
    render_ok(&a, &out);
    // How long a full run takes here: kills are spread over 1.3 times that.
    let t = Instant::now();
    render_ok(&b, &out);
    let full = t.elapsed();
    render_ok(&a, &out);
    let mut current = "a";

    let (mut kept_old, mut got_new, mut leftovers, mut rounds) = (0, 0, 0, 0);
    while rounds < 400 && (rounds < 60 || kept_old == 0 || got_new == 0 || leftovers == 0) {
        rounds += 1;
        let (next, next_input) = if current == "a" { ("b", &b) } else { ("a", &a) };
        let mut child = render_cmd(next_input, &out).spawn().unwrap();
        std::thread::sleep(random_below(full.mul_f64(1.3)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let now = tree(&out).unwrap_or_else(|| panic!("round {rounds}: {} is missing after a kill", out.display()));
        let state = if now == tree_a {
            "a"
        } else if now == tree_b {
            "b"
        } else {
            panic!("round {rounds}: the output is neither the previous nor the new render: {now:?}");
        };
        if status.success() {
            assert_eq!(state, next, "round {rounds}: a run that finished left the old output");
        }
        if state == current {
            kept_old += 1;
        } else {
            got_new += 1;
        }
        if !hidden_siblings(&parent).is_empty() {
            leftovers += 1;
        }
        current = state;
    }
    eprintln!("{rounds} kills: {kept_old} kept the previous output, {got_new} the new one, {leftovers} left a hidden directory beside it");
    assert!(kept_old > 0 && got_new > 0, "the kills never landed both before and after the swap ({kept_old} old, {got_new} new)");
    assert!(leftovers > 0, "no kill landed while a run was building its new tree: the test proved nothing about partial output");

    // The next run completes and clears what the killed ones left.
    let (other, other_state) = if current == "a" { (&b, tree_b.clone()) } else { (&a, tree_a.clone()) };
    render_ok(other, &out);
    assert_eq!(tree(&out).unwrap(), other_state);
    assert_eq!(hidden_siblings(&parent), Vec::<String>::new(), "a later run left stray directories");
    let names: Vec<String> = std::fs::read_dir(&parent).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["out".to_string()]);
}

fn output_path_that_is_a_file_is_refused_and_kept() {
    let work = tempfile::tempdir().unwrap();
    let a = decl(work.path(), "a.example.com");
    let out = work.path().join("out");
    std::fs::write(&out, "precious").unwrap();
    let r = run(&["render", "--today", TODAY, "--input", a.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains(out.to_str().unwrap()) && r.stderr.contains("not a directory"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
    assert_eq!(hidden_siblings(work.path()), Vec::<String>::new());
}

/// A read-only parent, made read-only the way that binds root too: a
/// read-only bind mount in a private mount namespace.
fn read_only_parent_is_an_io_error_and_keeps_the_old_output() {
    let work = tempfile::tempdir().unwrap();
    let a = decl(work.path(), "a.example.com");
    let b = decl(work.path(), "b.example.com");
    let parent = work.path().join("site");
    std::fs::create_dir(&parent).unwrap();
    let out = parent.join("out");
    render_ok(&a, &out);
    let before = tree(&out).unwrap();
    let helper = assert_cmd::cargo::cargo_bin("secure-mattermost");
    let script = format!(
        "mount --bind {p} {p} && mount -o remount,bind,ro {p} && exec {h} render --today {t} --input {b} --out {o}",
        p = parent.display(),
        h = helper.display(),
        t = TODAY,
        b = b.display(),
        o = out.display()
    );
    let probe = Command::new("unshare").args(["-m", "--propagation", "private", "true"]).status();
    if !matches!(probe, Ok(s) if s.success()) {
        skip_part("mount namespaces", "crash_safe_output/read_only_parent", "unshare -m is not permitted here (needs root or user namespaces)");
        return;
    }
    let o = Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(parent.to_str().unwrap()) && stderr.to_lowercase().contains("read-only"), "{stderr}");
    assert_eq!(tree(&out).unwrap(), before, "the previous output changed");
    assert_eq!(hidden_siblings(&parent), Vec::<String>::new());
}

tests![
    killed_render_leaves_old_or_new_never_a_mix,
    output_path_that_is_a_file_is_refused_and_kept,
    read_only_parent_is_an_io_error_and_keeps_the_old_output,
];
