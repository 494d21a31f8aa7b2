//! The built-in evaluator (`--config FILE.nix`): the input is the
//! declaration file's text. A document it produces must be taken by the
//! `--input` path exactly as by `--config` (same refusal class), and then
//! goes through `check`/`render` like any document.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use secure_mattermost::document;
use secure_mattermost::nixeval::{self, ErrorKind};
use secure_mattermost_fuzz as common;

/// One directory per fuzzing process, holding the declaration under test
/// (imports of `./…` resolve next to it, as for a user's file).
fn decl_path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("sm-fuzz-nix-").tempdir().expect("a temporary directory");
        let p = dir.path().join("declaration.nix");
        (dir, p)
    });
    p
}

fuzz_target!(|data: &[u8]| {
    common::init();
    let path = decl_path();
    std::fs::write(path, data).expect("writes the declaration");
    match nixeval::evaluate_file(path) {
        Err(e) => {
            // An internal error is a caught panic or a lost worker thread.
            assert_ne!(e.kind(), ErrorKind::Internal, "internal error: {}", e.message());
            let _ = common::render_diagnostic(e);
        }
        Ok(v) => {
            let from_value = document::from_value(v.clone(), "<fuzz>");
            let text = serde_json::to_string_pretty(&v).expect("a document serialises");
            let from_text = document::parse(&text, "<fuzz>");
            match (from_value, from_text) {
                (Ok((doc, raw)), Ok((_, raw2))) => {
                    assert_eq!(raw, raw2, "--config and --input read different documents");
                    common::check_and_render(doc, raw);
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.exit_code(), b.exit_code());
                    common::refused(a, "document::from_value");
                    common::refused(b, "document::parse");
                }
                (a, b) => panic!(
                    "--config and --input disagree: from_value {:?}, parse {:?}",
                    a.as_ref().err().map(ToString::to_string),
                    b.as_ref().err().map(ToString::to_string)
                ),
            }
        }
    }
});
