//! Every input kept in `fuzz/regressions/<target>/` (the crash inputs
//! scripts/fuzz.sh found, after their fix, and the seeds it starts from)
//! fed to the real binary the way the target feeds the library: no panic,
//! the exit code pinned in the file's name (`<name>.exit<N>`, one of the
//! documented 0 pass, 1 findings, 2 bad input, 3 I/O), and no stray output:
//! a refusal prints nothing on stdout and names the file or option on
//! stderr, nothing is left behind, and what is printed on success parses.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Kept {
    name: String,
    data: Vec<u8>,
    expected: i32,
}

/// The fuzz targets fuzz/Cargo.toml declares (`[[bin]]` names).
fn fuzz_targets() -> Vec<String> {
    let toml = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut out = vec![];
    let mut in_bin = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(v) = line.strip_prefix("name = ").filter(|_| in_bin) {
            out.push(v.trim_matches('"').to_string());
        }
    }
    out
}

/// The exit code a kept input's name pins (`….exit2` → 2).
fn pinned(name: &str) -> Option<i32> {
    let (_, code) = name.rsplit_once(".exit")?;
    code.parse().ok().filter(|c| (0..=3).contains(c))
}

fn kept(target: &str) -> Vec<Kept> {
    let dir = root().join("fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let expected = pinned(&name).unwrap_or_else(|| panic!("{target}/{name}: the name must end in .exit<0-3>, the exit code it gets"));
            Kept { data: std::fs::read(&p).unwrap(), name, expected }
        })
        .collect()
}

struct Ran {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn ran(out: Output, what: &str) -> Ran {
    let r = Ran { code: out.status.code().unwrap_or(-1), stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into_owned() };
    assert!(!r.stderr.contains("panicked at") && !r.stderr.contains("RUST_BACKTRACE"), "{what}: the binary panicked:\n{}", r.stderr);
    assert!((0..=3).contains(&r.code), "{what}: exit {} is not a documented exit code:\n{}", r.code, r.stderr);
    r
}

fn exec(args: &[&str], stdin: &[u8], what: &str) -> Ran {
    ran(bin().args(args).write_stdin(stdin.to_vec()).output().expect("runs"), what)
}

/// A refusal: nothing on stdout, a message on stderr naming one of `names`.
fn assert_refusal(r: &Ran, names: &[&str], what: &str) {
    assert!(r.stdout.is_empty(), "{what}: a refusal printed on stdout:\n{}", String::from_utf8_lossy(&r.stdout));
    assert!(names.iter().any(|n| r.stderr.contains(n)), "{what}: the message names none of {names:?}:\n{}", r.stderr);
}

fn stdout_json(r: &Ran, what: &str) -> Value {
    serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e}):\n{}", String::from_utf8_lossy(&r.stdout)))
}

fn only_entries(dir: &Path, want: &[&str], what: &str) {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, want, "{what}: files left behind in {}", dir.display());
}

fn every_target_keeps_inputs_with_pinned_exit_codes() {
    let targets = fuzz_targets();
    assert_eq!(targets, ["json_input", "nix_eval", "lint", "post_render"], "fuzz/Cargo.toml's targets changed: keep their inputs here too");
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("fuzz/regressions"))
        .expect("fuzz/regressions")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut sorted = targets.clone();
    sorted.sort();
    assert_eq!(dirs, sorted, "fuzz/regressions/ holds a directory per fuzz target and nothing else");
    for t in &targets {
        let k = kept(t);
        assert!(k.len() >= 4, "{t}: only {} kept input(s)", k.len());
        for code in [0, 2] {
            assert!(k.iter().any(|k| k.expected == code), "{t}: no kept input that exits {code}");
        }
    }
    assert_eq!(pinned("crash-1.exit2"), Some(2));
    assert_eq!(pinned("crash-1.exit7"), None);
    assert_eq!(pinned("crash-1"), None);
}

/// `check` (every format) and `render --input` on the document.
fn json_input_inputs() {
    for k in kept("json_input") {
        let what = format!("json_input/{}", k.name);
        let dir = tempfile::tempdir().unwrap();
        let decl = dir.path().join("decl.json");
        std::fs::write(&decl, &k.data).unwrap();
        let d = decl.to_str().unwrap();
        for format in ["text", "json", "sarif"] {
            let r = exec(&["check", "--input", d, "--today", TODAY, "--format", format], b"", &what);
            assert_eq!(r.code, k.expected, "{what} --format {format}:\n{}", r.stderr);
            match r.code {
                0 | 1 if format != "text" => {
                    let v = stdout_json(&r, &what);
                    assert!(v["rules"].is_array() || v["runs"].is_array(), "{what}: {v}");
                }
                0 | 1 => assert!(!r.stdout.is_empty(), "{what}: no outcome table"),
                _ => assert_refusal(&r, &[d, "services.secureMattermost"], &what),
            }
        }
        let out = dir.path().join("out");
        let r = exec(&["render", "--input", d, "--out", out.to_str().unwrap(), "--today", TODAY, "--json"], b"", &what);
        assert_eq!(r.code, k.expected, "{what} render:\n{}", r.stderr);
        let disabled = r.code == 0 && stdout_json(&r, &what)["enabled"] == false;
        if r.code == 0 && !disabled {
            assert!(out.join("outcomes.json").is_file(), "{what}: render passed but wrote no outcomes.json");
            only_entries(dir.path(), &["decl.json", "out"], &what);
        } else {
            only_entries(dir.path(), &["decl.json"], &what);
        }
    }
}

/// `check --config` on the declaration, and `eval --config` whose document
/// `check --input` must judge exactly as `check --config` did.
fn nix_eval_inputs() {
    for k in kept("nix_eval") {
        let what = format!("nix_eval/{}", k.name);
        let dir = tempfile::tempdir().unwrap();
        let decl = dir.path().join("declaration.nix");
        std::fs::write(&decl, &k.data).unwrap();
        let d = decl.to_str().unwrap();
        let checked = exec(&["check", "--config", d, "--today", TODAY, "--json"], b"", &what);
        assert_eq!(checked.code, k.expected, "{what}:\n{}", checked.stderr);
        if checked.code >= 2 {
            assert_refusal(&checked, &["declaration.nix", "services.secureMattermost"], &what);
        }
        let evaluated = exec(&["eval", "--config", d], b"", &what);
        if evaluated.code != 0 {
            assert_eq!(evaluated.code, checked.code, "{what}: eval and check refuse differently:\n{}", evaluated.stderr);
            assert_refusal(&evaluated, &["declaration.nix", "services.secureMattermost"], &what);
            continue;
        }
        stdout_json(&evaluated, &what);
        let doc = dir.path().join("evaluated.json");
        std::fs::write(&doc, &evaluated.stdout).unwrap();
        let via_input = exec(&["check", "--input", doc.to_str().unwrap(), "--today", TODAY, "--json"], b"", &what);
        assert_eq!(via_input.code, checked.code, "{what}: --input and --config disagree:\n{}\n{}", via_input.stderr, checked.stderr);
        if checked.code <= 1 {
            assert_eq!(stdout_json(&via_input, &what), stdout_json(&checked, &what), "{what}: --input and --config outcomes differ");
        }
        only_entries(dir.path(), &["declaration.nix", "evaluated.json"], &what);
    }
}

/// `lint` on the source, in every format.
fn lint_inputs() {
    for k in kept("lint") {
        let what = format!("lint/{}", k.name);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("source.nix");
        std::fs::write(&src, &k.data).unwrap();
        let s = src.to_str().unwrap();
        for format in ["text", "json", "sarif"] {
            let r = exec(&["lint", "--format", format, s], b"", &what);
            assert_eq!(r.code, k.expected, "{what} --format {format}:\n{}", r.stderr);
            if r.code == 2 {
                assert!(r.stderr.contains("source.nix"), "{what}: the refusal does not name the file:\n{}", r.stderr);
            }
            match format {
                "json" => assert_eq!(stdout_json(&r, &what)["files"], 1, "{what}"),
                "sarif" => assert!(stdout_json(&r, &what)["runs"].is_array(), "{what}"),
                _ => assert!(String::from_utf8_lossy(&r.stdout).contains("1 file(s) checked"), "{what}"),
            }
        }
        only_entries(dir.path(), &["source.nix"], &what);
    }
}

/// The declarations the post_render target picks by its first byte.
fn post_render_declaration(selector: u8) -> Value {
    let patches: Vec<Value> = serde_json::from_value(load("fuzz/post-render-declarations.json")).unwrap();
    patched(load("examples/kubernetes.json"), &patches[selector as usize % patches.len()])
}

/// `post-render --input DECL` with the rest of the input on stdin.
fn post_render_inputs() {
    for k in kept("post_render") {
        let what = format!("post_render/{}", k.name);
        let Some((&selector, manifests)) = k.data.split_first() else { panic!("{what}: empty (the first byte picks the declaration)") };
        let dir = tempfile::tempdir().unwrap();
        let decl = dir.path().join("decl.json");
        std::fs::write(&decl, post_render_declaration(selector).to_string()).unwrap();
        let r = exec(&["post-render", "--input", decl.to_str().unwrap(), "--today", TODAY], manifests, &what);
        assert_eq!(r.code, k.expected, "{what}:\n{}", r.stderr);
        if r.code == 0 {
            let text = String::from_utf8(r.stdout).expect("UTF-8 manifests");
            let mut objects = 0;
            for de in serde_yaml_ng::Deserializer::from_str(&text) {
                let v: Value = serde::Deserialize::deserialize(de).unwrap_or_else(|e| panic!("{what}: invalid YAML written: {e}"));
                if !v.is_null() {
                    assert!(v["kind"].is_string(), "{what}: {v}");
                    objects += 1;
                }
            }
            assert!(objects > 0, "{what}: nothing written");
        } else {
            assert_refusal(&r, &["<stdin>", "decl.json", "services.secureMattermost"], &what);
        }
        only_entries(dir.path(), &["decl.json"], &what);
    }
}

tests![every_target_keeps_inputs_with_pinned_exit_codes, json_input_inputs, nix_eval_inputs, lint_inputs, post_render_inputs];
