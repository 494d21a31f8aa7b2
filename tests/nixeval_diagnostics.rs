//! Diagnostics of the built-in evaluator: every refusal and type error of the
//! suite points at the right line and column of the user's file, secrets never
//! show up in a message, and no input makes the evaluator panic.
//!
//! Expectations are comments in the declarations:
//!   `# diagnostic: <kind> <line>:<column>`
//! in tests/conformance/cases (type errors, checked against Nix by
//! tests/conformance.rs too) and tests/conformance/unsupported (constructs
//! outside the subset, which Nix may well accept).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use miette::{GraphicalReportHandler, GraphicalTheme};
use secure_mattermost::limits::MAX_NESTING;
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
    assert!(err.is_io());
}

// --- Through the real binary -------------------------------------------------

const HEAD: &str = "services.secureMattermost = { mode = \"kubernetes\"; domain = \"chat.example.com\"; };";

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write declaration");
    file
}

/// `eval --config FILE` and `check --config FILE`, each within `limit`.
fn run_both(file: &Path, limit: Duration) -> Vec<common::Run> {
    let file = file.to_str().expect("UTF-8 path");
    ["eval", "check"]
        .iter()
        .map(|cmd| {
            let start = Instant::now();
            let r = common::run(&[cmd, "--config", file, "--today", common::TODAY][..if *cmd == "eval" { 3 } else { 5 }]);
            let took = start.elapsed();
            assert!(took < limit, "{cmd} --config {file} took {took:?} (limit {limit:?})");
            r
        })
        .collect()
}

#[test]
fn a_diagnostic_past_column_65535_is_shown_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pad = " ".repeat(70_000);
    let long = "x".repeat(70_000);
    let cases = [
        // A type error, an undefined variable and a syntax error at the end
        // of a minified one-line file; a span that is itself 70,000 columns.
        (format!("{{ {HEAD}{pad}services.secureMattermost.database.port = \"x\"; }}"), "\"x\"", "option_type"),
        (format!("{{ {HEAD}{pad}services.secureMattermost.siteName = y; }}"), "y;", "eval"),
        (format!("{{ {HEAD}{pad}services.secureMattermost.siteName = ; }}"), "; }", "parse"),
        (format!("{{ {HEAD} services.secureMattermost.database.port = \"{long}\"; }}"), "\"x", "option_type"),
    ];
    for (text, at, kind) in cases {
        let column = text.rfind(at).expect("marker") + 1;
        let file = write(dir.path(), "minified.nix", &text);
        for r in run_both(&file, Duration::from_secs(60)) {
            assert_eq!(r.code, 2, "{kind}: {}", r.stderr);
            assert!(r.stderr.contains(&format!("nixeval::{kind}")), "{kind}: {}", r.stderr);
            assert!(
                r.stderr.contains(&format!("minified.nix:1:{column}")),
                "{kind}: no 1:{column} in {}",
                &r.stderr[..r.stderr.len().min(2_000)]
            );
            // The snippet is a window around the error, not the whole line.
            assert!(r.stderr.len() < 3_000, "{kind}: {} bytes of diagnostic", r.stderr.len());
        }
        let err = evaluate_file(&file).expect_err("fails");
        assert_eq!(err.location().map(|l| (l.line, l.column)), Some((1, column)));
        let _ = render(&err);
    }
}

/// `settings.a0.a1.….aN = 1;`: its deepest object is at level N + 2 of the
/// document (the document 1, `secureMattermost` 2, `settings` 3).
fn settings_path(names: usize, sep: &str, quoted: bool) -> String {
    let path: Vec<String> = (0..names)
        .map(|i| if quoted { format!("\"a{i}\"") } else { format!("a{i}") })
        .collect();
    format!("{{ {HEAD} services.secureMattermost.settings.{} = 1; }}", path.join(sep))
}

/// The nesting depth of a JSON text (objects and arrays), without parsing it
/// (serde_json refuses 128 levels itself).
fn json_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') | (false, '"') => in_string = !in_string,
            (false, '{' | '[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, '}' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[test]
fn a_deep_attribute_path_is_refused_in_linear_time() {
    // Before: 5,000 segments took 8 s, 20,000 took 150 s (debug build),
    // quadratic in rnix's tokenizer and the merge of nested paths.
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in [
        ("plain", settings_path(40_000, ".", false)),
        ("spaced", settings_path(40_000, " . ", false)),
        ("quoted", settings_path(40_000, ".", true)),
        (
            "nested-sets",
            format!(
                "{{ {HEAD} services.secureMattermost.settings = {}1{}; }}",
                "{ a = ".repeat(300),
                "; }".repeat(300)
            ),
        ),
    ] {
        let file = write(dir.path(), "deep.nix", &text);
        for r in run_both(&file, Duration::from_secs(20)) {
            assert_eq!(r.code, 2, "{name}: {}", r.stderr);
            assert!(r.stderr.contains("nixeval::too_deep"), "{name}: {}", r.stderr);
            assert!(
                r.stderr.contains("services.secureMattermost.settings."),
                "{name}: the option path prefix is not named: {}",
                r.stderr
            );
        }
        let err = evaluate_file(&file).expect_err(name);
        assert_eq!(err.kind(), ErrorKind::TooDeep, "{name}: {err}");
        let option = err.option_path().expect("option path");
        assert!(option.starts_with("services.secureMattermost.settings."), "{name}: {option}");
        assert_eq!(option.split('.').count(), MAX_NESTING + 1, "{name}: {option}");
    }
}

#[test]
fn the_nesting_limit_is_max_nesting_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The deepest object at exactly MAX_NESTING: evaluated, and as deep.
    let at_limit = [
        settings_path(MAX_NESTING - 2, ".", false),
        // With a `config.` prefix the paths are one longer.
        format!(
            "{{ config.{HEAD} config.services.secureMattermost.settings.{} = 1; }}",
            (0..MAX_NESTING - 2).map(|i| format!("a{i}")).collect::<Vec<_>>().join(".")
        ),
        // Lists count as levels: settings.x (4) holding lists down to MAX_NESTING.
        format!(
            "{{ {HEAD} services.secureMattermost.settings.x = {}1{}; }}",
            "[ ".repeat(MAX_NESTING - 3),
            " ]".repeat(MAX_NESTING - 3)
        ),
        // Built by a function, not written out.
        format!(
            "let f = n: if n == 0 then 1 else {{ a = f (n - 1); }}; in {{ {HEAD} services.secureMattermost.settings = f {}; }}",
            MAX_NESTING - 2
        ),
    ];
    for text in &at_limit {
        let file = write(dir.path(), "limit.nix", text);
        let r = common::run(&["eval", "--config", file.to_str().expect("path")]);
        assert_eq!(r.code, 0, "{text}: {}", r.stderr);
        assert_eq!(json_depth(&r.stdout), MAX_NESTING, "{text}");
        let r = common::run(&["check", "--config", file.to_str().expect("path"), "--today", common::TODAY]);
        assert!(!r.stderr.contains("too_deep") && !r.stderr.contains("deeper than"), "{text}: {}", r.stderr);
    }
    // One level more is refused, naming where.
    let past_limit = [
        (settings_path(MAX_NESTING - 1, ".", false), format!(
                "`services.secureMattermost.settings.a0.a1.….a{}.a{}` is level {}",
                MAX_NESTING - 4,
                MAX_NESTING - 3,
                MAX_NESTING + 1
            )),
        (
            format!(
                "{{ {HEAD} services.secureMattermost.settings.x = {}1{}; }}",
                "[ ".repeat(MAX_NESTING - 2),
                " ]".repeat(MAX_NESTING - 2)
            ),
            "`services.secureMattermost.settings.x.[0].….[0].[0]`".to_string(),
        ),
        (
            format!(
                "let f = n: if n == 0 then 1 else {{ a = f (n - 1); }}; in {{ {HEAD} services.secureMattermost.settings = f {}; }}",
                MAX_NESTING - 1
            ),
            "`services.secureMattermost.settings.a.a.….a.a`".to_string(),
        ),
        (
            format!(
                "let f = n: if n == 0 then [] else [ (f (n - 1)) ]; in {{ {HEAD} services.secureMattermost.settings.x = f 1000000; }}"
            ),
            "`services.secureMattermost.settings.x.[0].….[0].[0]`".to_string(),
        ),
    ];
    for (text, shown) in &past_limit {
        let file = write(dir.path(), "limit.nix", text);
        for r in run_both(&file, Duration::from_secs(60)) {
            assert_eq!(r.code, 2, "{text}: {}", r.stderr);
            assert!(r.stderr.contains("nixeval::too_deep"), "{}", r.stderr);
            assert!(r.stderr.contains(&format!("deeper than {MAX_NESTING} levels")), "{}", r.stderr);
            assert!(r.stderr.contains(shown.as_str()), "{shown} not in {}", r.stderr);
        }
    }
}

#[test]
fn deep_expressions_are_refused_before_they_recurse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 100_000;
    let cases = [
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", "{ a = ".repeat(n), "; }".repeat(n)),
        format!("{}true", "!".repeat(n)),
        format!("{}1", "- ".repeat(n)),
        format!("{}1", "-".repeat(n)),
        format!("{}1", "f ".repeat(n)),
        vec!["1"; n].join(" + "),
        vec!["1"; n].join("+"),
        vec!["[]"; n].join(" ++ "),
        format!("{}\"x\"{}", "\"${".repeat(n), "}\"".repeat(n)),
        format!("{}1", "x: ".repeat(n)),
        format!("{}1", "let a = 1; in ".repeat(n)),
        format!("{}1{}", "if true then ".repeat(n), " else 1".repeat(n)),
    ];
    for text in &cases {
        let file = write(dir.path(), "deep.nix", text);
        for r in run_both(&file, Duration::from_secs(20)) {
            assert_eq!(r.code, 2, "{}…: {}", &text[..30], r.stderr);
            assert!(r.stderr.contains("levels deep") || r.stderr.contains("without a space"), "{}…: {}", &text[..30], r.stderr);
        }
        let err = evaluate_file(&file).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{}…: {err}", &text[..30]);
        assert!(err.location().is_some(), "{}…: no location", &text[..30]);
    }
    // Deep values built at run time stop at the evaluation depth limit.
    let file = write(
        dir.path(),
        "deep.nix",
        format!("let f = n: if n == 0 then [] else [ (f (n - 1)) ]; in {{ {HEAD} services.secureMattermost.siteName = if f 1000000 == f 1000000 then \"a\" else \"b\"; }}"),
    );
    let err = evaluate_file(&file).expect_err("too deep");
    assert_ne!(err.kind(), ErrorKind::Internal, "{err}");
}

#[test]
fn file_errors_are_reported_by_their_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_string();

    // Missing: I/O (exit 3).
    let missing = dir.path().join("missing.nix");
    let err = evaluate_file(&missing).expect_err("missing");
    assert!(err.is_io() && err.message().contains("No such file"), "{err}");
    for r in run_both(&missing, Duration::from_secs(30)) {
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains("No such file"), "{}", r.stderr);
    }

    // A directory: I/O (exit 3), said as such.
    let err = evaluate_file(dir.path()).expect_err("directory");
    assert!(err.is_io() && err.message().contains("is a directory"), "{err}");
    assert!(!err.message().contains("No such file"), "{err}");
    for r in run_both(dir.path(), Duration::from_secs(30)) {
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    }

    // Not UTF-8: bad input (exit 2) naming the file, the byte offset and the
    // line; the line is not shown (it may hold a secret in Latin-1).
    let mut bytes = format!("{{\n  {HEAD}\n  services.secureMattermost.siteName = \"caf").into_bytes();
    let offset = bytes.len();
    bytes.extend_from_slice(b"\xe9 hunter2\"; }\n");
    let latin1 = write(dir.path(), "latin1.nix", &bytes);
    let err = evaluate_file(&latin1).expect_err("not UTF-8");
    assert!(!err.is_io(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert!(err.message().contains(&format!("byte offset {offset}")), "{err}");
    let loc = err.location().expect("location");
    let column = offset - bytes[..offset].iter().rposition(|&b| b == b'\n').expect("line 3") ;
    assert_eq!((loc.line, loc.column, loc.offset), (3, column, offset));
    for r in run_both(&latin1, Duration::from_secs(30)) {
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("latin1.nix") && r.stderr.contains(&format!("byte offset {offset}")), "{}", r.stderr);
        assert!(r.stderr.contains(&format!("latin1.nix:3:{column}")), "{}", r.stderr);
        assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    }

    // An import that is missing is I/O too, pointing at the import.
    let importer = write(dir.path(), "importer.nix", format!("{{\n  imports = [ ./gone.nix ];\n  {HEAD}\n}}\n"));
    let err = evaluate_file(&importer).expect_err("missing import");
    assert!(err.is_io(), "{err}");
    assert_eq!(err.location().map(|l| (l.line, l.column)), Some((2, 15)), "{err}");
    let r = common::run(&["eval", "--config", &path(&importer)]);
    assert_eq!(r.code, 3, "{}", r.stderr);

    // An imported directory means its default.nix, as in Nix.
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    write(&dir.path().join("sub"), "default.nix", "{ services.secureMattermost.siteName = \"From a directory\"; }");
    let importer = write(dir.path(), "importer.nix", format!("{{ imports = [ ./sub ]; {HEAD} }}"));
    let doc = evaluate_file(&importer).expect("imports sub/default.nix");
    assert_eq!(doc["secureMattermost"]["siteName"], "From a directory");

    // A NUL byte (Nix 2.8 silently stops reading there) is refused.
    let nul = write(dir.path(), "nul.nix", format!("{{ {HEAD} services.secureMattermost.siteName = \"a\0b\"; }}"));
    let err = evaluate_file(&nul).expect_err("NUL");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(!err.is_io());
}
