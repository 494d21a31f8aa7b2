//! `lint`: the rnix-based scan of a `.nix` source, the masking of what it
//! finds, and the command itself on the file in every output format (its
//! stdout goes to /dev/null under `-close_fd_mask=1`, as scripts/fuzz.sh runs it).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use secure_mattermost::cli::Format;
use secure_mattermost::commands::lint::{self, LintArgs};
use secure_mattermost::error::exit;

fn file() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("sm-fuzz-lint-").tempdir().expect("a temporary directory");
        let p = dir.path().join("source.nix");
        (dir, p)
    });
    p
}

fuzz_target!(|data: &[u8]| {
    secure_mattermost_fuzz::init();
    if let Ok(source) = std::str::from_utf8(data) {
        if let Ok(findings) = lint::lint_source(source) {
            let masked = lint::mask(source, &findings);
            assert_eq!(masked.len(), source.len(), "masking moved the offsets");
            for f in &findings {
                assert!(f.start <= f.end && f.end <= source.len(), "a finding outside the file");
                assert!(source.is_char_boundary(f.start) && source.is_char_boundary(f.end), "a finding splits a character");
            }
        }
    }
    std::fs::write(file(), data).expect("writes the source");
    for format in [Format::Text, Format::Json, Format::Sarif] {
        match lint::run(LintArgs { paths: vec![file().clone()] }, format) {
            Ok(code) => assert!([exit::OK, exit::POLICY_FAILED, exit::INVALID_INPUT].contains(&code), "lint exit {code}"),
            // Only stdout can fail here (the file was just written).
            Err(e) => assert_eq!(e.exit_code(), exit::IO, "{e}"),
        }
    }
});
