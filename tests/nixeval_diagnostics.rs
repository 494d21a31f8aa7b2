//! Diagnostics of the built-in evaluator: every refusal and type error of the
//! suite points at the right line and column of the user's file, secrets never
//! show up in a message, and no input makes the evaluator panic.
//!
//! Expectations are comments in the declarations:
//!   `# diagnostic: <kind> <line>:<column>`
//! in tests/conformance/cases (type errors, checked against Nix by
//! tests/conformance.rs too) and tests/conformance/unsupported (constructs
//! outside the subset, which Nix may well accept).

use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};
use secure_mattermost::nixeval::{evaluate_file, ErrorKind, NixEvalError};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn nix_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "nix"))
        .collect();
    files.sort();
    files
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Io => "io",
        ErrorKind::Parse => "parse",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::PathLiteral => "path_literal",
        ErrorKind::Eval => "eval",
        ErrorKind::Module => "module",
        ErrorKind::UndeclaredOption => "undeclared_option",
        ErrorKind::OptionType => "option_type",
        ErrorKind::Conflict => "conflict",
        ErrorKind::MissingValue => "missing_value",
        ErrorKind::LiteralSecret => "literal_secret",
        ErrorKind::SecretInValue => "secret_in_value",
        ErrorKind::TooDeep => "too_deep",
        ErrorKind::Internal => "internal",
    }
}

/// The diagnostic as the user sees it, without line wrapping: wrapped text
/// would depend on the terminal width and on the length of the checkout path
/// inside messages (a file name or a secret split across lines would slip
/// past `contains`).
fn render(err: &NixEvalError) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(usize::MAX / 2)
        .with_wrap_lines(false)
        .render_report(&mut out, err)
        .expect("render diagnostic");
    out
}

/// (file, kind, line, column) for every `# diagnostic:` comment.
fn expectations() -> Vec<(PathBuf, String, usize, usize)> {
    let mut out = Vec::new();
    for dir in ["tests/conformance/cases", "tests/conformance/unsupported"] {
        for file in nix_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&file).expect("read declaration");
            for line in text.lines() {
                let Some(rest) = line.trim().strip_prefix("# diagnostic:") else {
                    continue;
                };
                let mut parts = rest.split_whitespace();
                let kind = parts.next().expect("kind").to_string();
                let (l, c) = parts
                    .next()
                    .and_then(|p| p.split_once(':'))
                    .expect("line:column");
                out.push((
                    file.clone(),
                    kind,
                    l.parse().expect("line"),
                    c.parse().expect("column"),
                ));
            }
        }
    }
    out
}

#[test]
fn every_expected_diagnostic_points_at_the_users_line_and_column() {
    let expected = expectations();
    assert!(
        expected.len() >= 30,
        "only {} diagnostics expected",
        expected.len()
    );
    let unsupported = expected.iter().filter(|e| e.1 == "unsupported").count();
    assert!(
        unsupported >= 10,
        "only {unsupported} unsupported constructs covered"
    );
    let mut failures = Vec::new();
    for (file, kind, line, column) in &expected {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let err = match evaluate_file(file) {
            Ok(_) => {
                failures.push(format!("{name}: evaluated, expected a {kind} diagnostic"));
                continue;
            }
            Err(e) => e,
        };
        if kind_name(err.kind()) != kind {
            failures.push(format!(
                "{name}: kind {} (expected {kind}): {err}",
                kind_name(err.kind())
            ));
            continue;
        }
        let Some(loc) = err.location() else {
            failures.push(format!("{name}: no location (expected {line}:{column})"));
            continue;
        };
        if (loc.line, loc.column) != (*line, *column) {
            failures.push(format!(
                "{name}: at {}:{} (expected {line}:{column}): {err}",
                loc.line, loc.column
            ));
        }
        // The span itself must start at that line and column.
        let text = std::fs::read_to_string(file).expect("read");
        let before = &text[..loc.offset];
        let l = before.matches('\n').count() + 1;
        let c = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
        if (l, c) != (*line, *column) {
            failures.push(format!("{name}: span offset {} is {l}:{c}", loc.offset));
        }
        let shown = render(&err);
        if !shown.contains(&name) {
            failures.push(format!(
                "{name}: the rendered diagnostic does not show the file:\n{shown}"
            ));
        }
        if kind == "unsupported" && !shown.contains("nix-instantiate") {
            failures.push(format!(
                "{name}: no hint to evaluate with real Nix:\n{shown}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_never_appear_in_errors() {
    let cases = root().join("tests/conformance/cases");
    let secrets = [
        ("literal-secret-option", "correct horse battery staple"),
        ("literal-secret-option-mkdefault", "hunter2"),
        ("literal-secret-setting", "abc123"),
        ("literal-secret-setting", "s3cret"),
        ("literal-secret-value", "topsecret"),
    ];
    for (case, secret) in secrets {
        let err = evaluate_file(&cases.join(format!("{case}.nix"))).expect_err(case);
        assert!(
            matches!(
                err.kind(),
                ErrorKind::LiteralSecret | ErrorKind::SecretInValue
            ),
            "{case}: {err}"
        );
        assert!(err.rule().is_some(), "{case}: no rule id");
        assert!(err.location().is_some(), "{case}: no location");
        let shown = format!("{err}\n{err:?}\n{}", render(&err));
        assert!(
            !shown.contains(secret),
            "{case}: the secret is shown:\n{shown}"
        );
    }
}

/// Every case that marks a `# secret: <text>` (a password pasted into a
/// `…File` option, a misspelt secret option, a secret-named plugin key, …)
/// fails at the user's line without showing the text anywhere.
#[test]
fn annotated_secrets_never_appear_in_errors() {
    let mut checked = 0;
    for file in nix_files(&root().join("tests/conformance/cases")) {
        let text = std::fs::read_to_string(&file).expect("read declaration");
        let secrets: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("# secret:"))
            .map(str::trim)
            .collect();
        if secrets.is_empty() {
            continue;
        }
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let err = evaluate_file(&file).expect_err(&name);
        assert!(err.location().is_some(), "{name}: no location");
        assert!(err.option_path().is_some(), "{name}: no option named");
        let shown = format!("{err}\n{err:?}\n{}", render(&err));
        for secret in secrets {
            assert!(
                !shown.contains(secret),
                "{name}: the secret is shown:\n{shown}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} annotated secrets");
}

#[test]
fn a_secret_next_to_a_type_error_stays_hidden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("decl.nix");
    std::fs::write(
        &file,
        "{\n  services.secureMattermost = {\n    mode = \"kubernetes\"; domain = \"chat.example.com\";\n    settings.SqlSettings.DataSourcePassword = \"pa55word\"; database.port = \"x\";\n    settings.X = \"postgres://u:hunter22@db/x\";\n  };\n}\n",
    )
    .expect("write");
    let err = evaluate_file(&file).expect_err("type error");
    assert_eq!(err.kind(), ErrorKind::OptionType);
    let shown = render(&err);
    assert!(shown.contains("database.port"), "{shown}");
    assert!(
        !shown.contains("pa55word") && !shown.contains("hunter22"),
        "{shown}"
    );
}

/// A small deterministic generator for the mutation test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn truncated_and_mutated_declarations_never_panic() {
    let mut sources: Vec<PathBuf> = nix_files(&root().join("examples"));
    sources.extend(nix_files(&root().join("tests/conformance/cases")));
    sources.extend(nix_files(&root().join("tests/conformance/unsupported")));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("decl.nix");
    let tokens: &[&[u8]] = &[
        b"{",
        b"}",
        b";",
        b"=",
        b"\"",
        b"''",
        b"${",
        b".",
        b"(",
        b")",
        b"[",
        b"]",
        b"\n",
        b"a",
        b"1",
        b"//",
        b"rec ",
        b"let ",
        b" in ",
        b"with ",
        b"inherit ",
        b"./",
        b"?",
        b":",
        b"@",
        b"...",
        b"-",
        b"!",
        b"if ",
        b"#",
        b"/*",
    ];
    let mut rng = Lcg(0x5eed);
    let mut variants = 0;
    for src in &sources {
        let text = std::fs::read(src).expect("read");
        if text.is_empty() {
            continue;
        }
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for _ in 0..4 {
            inputs.push(text[..rng.next() % text.len()].to_vec());
        }
        for _ in 0..4 {
            let mut t = text.clone();
            let at = rng.next() % t.len();
            match rng.next() % 3 {
                0 => {
                    t.remove(at);
                }
                1 => {
                    let tok = tokens[rng.next() % tokens.len()];
                    t.splice(at..at, tok.iter().copied());
                }
                _ => {
                    let end = (at + 1 + rng.next() % 40).min(t.len());
                    let chunk = t[at..end].to_vec();
                    t.splice(at..at, chunk);
                }
            }
            inputs.push(t);
        }
        for input in inputs {
            std::fs::write(&file, &input).expect("write");
            variants += 1;
            if let Err(e) = evaluate_file(&file) {
                assert_ne!(
                    e.kind(),
                    ErrorKind::Internal,
                    "the evaluator panicked on a variant of {}:\n{}",
                    src.display(),
                    String::from_utf8_lossy(&input)
                );
                let _ = render(&e);
            }
        }
    }
    assert!(variants >= 300, "only {variants} variants");
}

#[test]
fn deep_nesting_and_recursion_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("decl.nix");
    let cases = [
        format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000)),
        format!("{}{{}}{}", "{ a = ".repeat(20_000), "; }".repeat(20_000)),
        "let f = x: f x; in f 1".to_string(),
        "let x = x; in { services.secureMattermost.siteName = x; }".to_string(),
        "rec { a = b; b = a; services.secureMattermost.siteName = a; }".to_string(),
        "{ config, ... }: { services.secureMattermost.siteName = config.services.secureMattermost.siteName; }"
            .to_string(),
        "{ config, ... }: { imports = if config.services.secureMattermost.enable then [ ] else [ ]; }".to_string(),
    ];
    for src in cases {
        std::fs::write(&file, &src).expect("write");
        let err = evaluate_file(&file).expect_err("must fail");
        assert_ne!(err.kind(), ErrorKind::Internal, "{err}");
    }
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = evaluate_file(Path::new("/nonexistent/declaration.nix")).expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::Io);
}
