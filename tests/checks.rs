//! Runs every real-Nix gate of `checks/` (the same expressions the flake's
//! `checks` force) with `nix-instantiate` and nixpkgs' lib. Without
//! `<nixpkgs/lib>` on NIX_PATH each is reported SKIPPED, or fails when
//! SECURE_MATTERMOST_REQUIRE names `nix`.

mod common;
use common::*;
use std::process::Command;

fn run_check(name: &str) {
    let test = format!("checks/{name}");
    if !nix_lib_available(&test) {
        return;
    }
    let expr = format!("(import ./checks/default.nix {{ lib = import <nixpkgs/lib>; }}).{name}");
    let out = Command::new("nix-instantiate")
        .current_dir(root())
        .args(["--eval", "--strict", "-E", &expr])
        .output()
        .expect("nix-instantiate runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.trim() == "true", "{test} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn options_schema_is_fresh() {
    run_check("options-schema");
}

fn options_doc_is_fresh() {
    run_check("options-doc");
}

fn example_documents_are_fresh() {
    run_check("examples");
}

fn conformance_expectations_match_real_nix() {
    run_check("conformance");
}

fn nixos_module_evaluates_against_its_stand_ins() {
    run_check("nixos-standin");
}

/// The flake's example checks build the helper and render; here the same
/// documents (from real Nix) are rendered by the binary under test.
fn examples_render() {
    if !nix_lib_available("checks/examples-render") {
        return;
    }
    for ex in ["baremetal", "kubernetes"] {
        let expr = format!(
            "let lib = import <nixpkgs/lib>; in (import ./modules/standalone.nix {{ inherit lib; modules = [ ./examples/{ex}.nix ]; }}).evaluated"
        );
        let out = Command::new("nix-instantiate").current_dir(root()).args(["--eval", "--strict", "--json", "-E", &expr]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let dir = tempfile::tempdir().unwrap();
        let r = run_stdin(
            &["render", "--input", "-", "--out", dir.path().join("o").to_str().unwrap(), "--today", TODAY],
            &String::from_utf8_lossy(&out.stdout),
        );
        assert_eq!(r.code, 0, "{ex}: {}", r.stderr);
    }
}

tests![
    options_schema_is_fresh,
    options_doc_is_fresh,
    example_documents_are_fresh,
    conformance_expectations_match_real_nix,
    nixos_module_evaluates_against_its_stand_ins,
    examples_render,
];
