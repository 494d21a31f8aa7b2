//! What the fuzz targets share: the `check`/`render` flow of the CLI on a
//! parsed document, run through the library (no process per input), and
//! the checks every refusal must pass. A panic anywhere aborts the fuzzer
//! (libfuzzer-sys installs an aborting panic hook), so "no panic" needs no
//! assertion of its own; the assertions here are the documented contract:
//! a refusal is exit 2 (bad input) for an in-memory input, and its
//! diagnostic renders.

use secure_mattermost::catalog::Catalog;
use secure_mattermost::dates::Date;
use secure_mattermost::document::{self, Document, Mode};
use secure_mattermost::error::{exit, Error};
use secure_mattermost::evidence::EvidenceArgs;
use secure_mattermost::render::{self, Binaries};
use secure_mattermost::{effective, oscal, policy, report, sarif};
use serde_json::Value;

/// The policy date the regression test (`tests/fuzz_regressions.rs`) passes
/// as `--today`, so an input behaves the same in both.
pub const TODAY: &str = "2026-11-23";

/// The declarations `post_render` picks from by its input's first byte
/// (shared with `tests/fuzz_regressions.rs`): JSON merge patches over
/// examples/kubernetes.json.
pub const POST_RENDER_DECLARATIONS: &str = include_str!("../post-render-declarations.json");

/// Installs main's diagnostic hook once, so refusals render as the binary renders them.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = miette::set_hook(Box::new(|_| Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())));
    });
}

pub fn today() -> Date {
    Date::parse(TODAY).expect("a valid date")
}

/// A refusal of an input given in memory: bad input (exit 2), never I/O or
/// a policy failure, and its diagnostic renders without panicking.
pub fn refused(e: Error, what: &str) {
    let code = e.exit_code();
    let text = format!("{:?}", miette::Report::new(e));
    assert!(!text.is_empty(), "{what}: an empty diagnostic");
    assert_eq!(code, exit::INVALID_INPUT, "{what}: refused with exit {code}, not 2: {text}");
}

/// Renders a diagnostic as main does (exercises spans and snippets).
pub fn render_diagnostic(e: impl miette::Diagnostic + Send + Sync + 'static) -> String {
    format!("{:?}", miette::Report::new(e))
}

/// `check` and, when it passes, `render` on a parsed document, as the CLI
/// runs them (src/cli.rs): effective configuration, policy, every output
/// format, the artifacts and the evidence (nothing is written to disk).
pub fn check_and_render(doc: Document, raw: Value) {
    if !doc.secure_mattermost.enable {
        return;
    }
    let catalog = Catalog::load();
    let d = &doc.secure_mattermost;
    let eff = match effective::build(d, catalog) {
        Ok(e) => e,
        Err(e) => return refused(e, "effective::build"),
    };
    let report = match policy::evaluate(catalog, d, &raw["secureMattermost"], &eff.config, today()) {
        Ok(r) => r,
        Err(e) => return refused(e, "policy::evaluate"),
    };
    let ids: Vec<&str> = report.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, catalog.rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), "not one outcome per rule");
    for (_, w) in report.warnings() {
        assert!(!w.is_empty());
    }
    for r in report.results.iter().filter(|r| r.outcome.is_failure()) {
        let _ = render_diagnostic(policy::Finding(r.clone()));
    }
    let mode = match d.mode {
        Mode::Kubernetes => "kubernetes",
        Mode::Baremetal => "baremetal",
    };
    let today = today().to_string();
    let _ = report::table(&report);
    let outcomes = report::outcomes_json(&report, mode, &d.domain, &today);
    assert!(serde_json::from_str::<Value>(&outcomes).is_ok(), "outcomes.json is not JSON");
    let _ = sarif::report(catalog, &report, "<fuzz>");
    if report.failed() > 0 {
        return;
    }
    let bins = Binaries {
        mattermost: "/usr/local/bin/mattermost".into(),
        helper: "/usr/local/bin/secure-mattermost".into(),
        artifact_dir: d.baremetal.install_dir.clone(),
    };
    let mut files = match render::artifacts(d, &eff.config, &bins) {
        Ok(f) => f,
        Err(e) => return refused(e, "render::artifacts"),
    };
    files.push(("outcomes.json".into(), outcomes));
    files.push(("assessment-results.oscal.json".into(), oscal::assessment_results(&report, mode, &d.domain, &today)));
    match secure_mattermost::evidence::render_files(&doc, &report, self::today(), &EvidenceArgs::default()) {
        Ok(evidence) => files.extend(evidence),
        Err(e) => refused(e, "evidence::render_files"),
    }
    let names: std::collections::BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), files.len(), "two artifacts with one name");
}

/// `check --input` on the bytes of a document.
pub fn json_input(data: &[u8]) {
    // As the CLI reads --input: bytes that are not UTF-8 are refused (exit 2).
    let Ok(text) = std::str::from_utf8(data) else { return };
    match document::parse(text, "<fuzz>") {
        Ok((doc, raw)) => check_and_render(doc, raw),
        Err(e) => refused(e, "document::parse"),
    }
}

/// The declaration `post_render` uses for selector byte `b`: the `b %
/// n`-th patch over examples/kubernetes.json.
pub fn post_render_declaration(b: u8) -> Value {
    let patches: Vec<Value> = serde_json::from_str(POST_RENDER_DECLARATIONS).expect("post-render-declarations.json");
    let mut doc: Value = serde_json::from_str(include_str!("../../examples/kubernetes.json")).expect("examples/kubernetes.json");
    merge(&mut doc["secureMattermost"], &patches[b as usize % patches.len()]);
    doc
}

fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch) {
        (Some(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (_, other) => *target = other.clone(),
    }
}
