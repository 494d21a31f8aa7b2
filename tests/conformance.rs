//! Conformance of the built-in evaluator (`secure_mattermost::nixeval`) with
//! real Nix: every declaration in tests/conformance gives the document Nix
//! gives (compared after RFC 8785 canonicalisation), or fails naming the
//! option Nix names (and, for the module's own fixed messages, the same first
//! line). A case may list `# secret: <text>` lines: that text must appear in
//! no error, ours or Nix's. Expected results are written by real Nix only, with
//! scripts/gen-conformance-expected.sh; when nix-instantiate and
//! `<nixpkgs/lib>` are available the suite is also compared live, and the
//! committed option schema is checked for staleness.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use secure_mattermost::nixeval::{evaluate_file, ErrorKind};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn conformance_dir() -> PathBuf {
    root().join("tests/conformance")
}

/// Every declaration of the suite: (name, file).
fn declarations() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let cases = conformance_dir().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("tests/conformance/cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "nix"))
        .collect();
    files.sort();
    for f in files {
        let name = f
            .file_stem()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        out.push((name, f));
    }
    let list =
        std::fs::read_to_string(conformance_dir().join("examples.list")).expect("examples.list");
    for line in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(path)) = (parts.next(), parts.next()) else {
            panic!("bad line in examples.list: {line}");
        };
        out.push((name.to_string(), root().join(path)));
    }
    out
}

enum Expected {
    Document(Value),
    Error {
        option: Option<String>,
        rule: Option<String>,
        /// First line of Nix's message, repository root stripped.
        message: Option<String>,
    },
}

/// The module's own fixed messages (traps, file paths, undeclared options,
/// literal secrets) begin so; the evaluator must reproduce their first line.
const MODULE_MESSAGE: &str = "secure-mattermost: ";

/// `# secret: <text>` lines of a declaration.
fn secrets_of(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# secret:"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Everything the built-in evaluator shows of an error, rendered without line
/// wrapping (a wrapped secret would slip past `contains`).
fn shown(e: &secure_mattermost::nixeval::NixEvalError) -> String {
    let mut rendered = String::new();
    let _ = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(usize::MAX / 2)
        .with_wrap_lines(false)
        .render_report(&mut rendered, e);
    format!("{e}\n{e:?}\n{rendered}")
}

fn expected(name: &str) -> Expected {
    let dir = conformance_dir().join("expected");
    let doc = dir.join(format!("{name}.json"));
    let err = dir.join(format!("{name}.error.json"));
    let read = |p: &Path| -> Value {
        parse_json_exact(
            &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    match (doc.exists(), err.exists()) {
        (true, false) => Expected::Document(read(&doc)),
        (false, true) => {
            let v = read(&err);
            Expected::Error {
                option: v["option"].as_str().map(str::to_string),
                rule: v.get("rule").and_then(Value::as_str).map(str::to_string),
                message: v.get("message").and_then(Value::as_str).map(str::to_string),
            }
        }
        _ => panic!("{name}: expected exactly one of {name}.json / {name}.error.json; run scripts/gen-conformance-expected.sh"),
    }
}

/// Compares the built-in evaluator's outcome with an expected one; `Err`
/// describes the difference.
fn compare(name: &str, file: &Path, want: &Expected) -> Result<(), String> {
    let got = evaluate_file(file);
    if let Err(e) = &got {
        let text = shown(e);
        for secret in secrets_of(file) {
            if text.contains(&secret) {
                return Err(format!("{name}: our error shows the secret {secret:?}:\n{text}"));
            }
        }
    }
    match (want, got) {
        (Expected::Document(doc), Ok(ours)) => {
            let (a, b) = (strict_json(doc), strict_json(&ours));
            if a == b {
                Ok(())
            } else {
                Err(format!(
                    "{name}: documents differ\n  nix:  {a}\n  ours: {b}"
                ))
            }
        }
        (Expected::Document(_), Err(e)) => {
            Err(format!("{name}: Nix evaluates it, ours fails: {e}"))
        }
        (Expected::Error { option, .. }, Ok(_)) => Err(format!(
            "{name}: Nix fails (option {option:?}), ours succeeds"
        )),
        (
            Expected::Error {
                option,
                rule,
                message,
            },
            Err(e),
        ) => {
            if e.kind() == ErrorKind::Internal {
                return Err(format!("{name}: internal error: {e}"));
            }
            if e.option_path() != option.as_deref() {
                return Err(format!(
                    "{name}: Nix names option {option:?}, ours {:?} ({e})",
                    e.option_path()
                ));
            }
            if rule.is_some() && e.rule() != rule.as_deref() {
                return Err(format!(
                    "{name}: Nix names rule {rule:?}, ours {:?}",
                    e.rule()
                ));
            }
            if let Some(want) = message.as_deref().filter(|m| m.starts_with(MODULE_MESSAGE)) {
                let root = format!("{}/", root().display());
                let ours = e.message().lines().next().unwrap_or("").replace(&root, "");
                if ours != want {
                    return Err(format!(
                        "{name}: messages differ\n  nix:  {want}\n  ours: {ours}"
                    ));
                }
            }
            Ok(())
        }
    }
}

fn suite_is_large_enough() {
    let n = declarations().len();
    assert!(n >= 30, "only {n} conformance declarations");
}

fn built_in_evaluator_matches_committed_nix_results() {
    let mut failures = Vec::new();
    for (name, file) in declarations() {
        let committed = conformance_dir().join(format!("expected/{name}.error.json"));
        let committed = std::fs::read_to_string(committed).unwrap_or_default();
        for secret in secrets_of(&file) {
            if committed.contains(&secret) {
                failures.push(format!("{name}: Nix's committed error shows the secret {secret:?}"));
            }
        }
        if let Err(e) = compare(&name, &file, &expected(&name)) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whether real Nix with nixpkgs' lib can run here; if not, says so loudly.
fn nix_available(what: &str) -> bool {
    let ok = Command::new("nix-instantiate")
        .args(["--eval", "--expr", "<nixpkgs/lib>"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let why = "no nixpkgs lib on NIX_PATH; set NIX_PATH=nixpkgs=<nixpkgs or nixpkgs.lib> with nix-instantiate installed to run it";
        common::skip_missing("nix", &format!("conformance/{what}"), why);
        // libtest captures `eprintln!` of a passing test; the handle itself is
        // not captured, so the skip shows in a plain `cargo test` too.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED conformance/{what}: {why}");
    }
    ok
}

/// The outcome of real Nix on one declaration; Nix must not show any of its
/// `# secret:` texts either.
fn nix_evaluate(file: &Path) -> Expected {
    let expr = format!(
        "let lib = import <nixpkgs/lib>; in (import {} {{ inherit lib; modules = [ {} ]; }}).evaluated",
        root().join("modules/standalone.nix").display(),
        file.display()
    );
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--expr", &expr])
        .output()
        .expect("nix-instantiate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for secret in secrets_of(file) {
        assert!(
            !stderr.contains(&secret) && !String::from_utf8_lossy(&out.stdout).contains(&secret),
            "{}: Nix shows the secret {secret:?}:\n{stderr}",
            file.display()
        );
    }
    if out.status.success() {
        Expected::Document(
            parse_json_exact(&String::from_utf8_lossy(&out.stdout)).expect("Nix's JSON"),
        )
    } else {
        let (option, rule) = option_named_by_nix(&stderr);
        // As scripts/gen-conformance-expected.sh: the first `error:` line.
        let root = format!("{}/", root().display());
        let message = stderr
            .lines()
            .find_map(|l| l.strip_prefix("error:"))
            .map(|m| m.trim_start().replace(&root, ""));
        Expected::Error {
            option,
            rule,
            message,
        }
    }
}

/// The option (and catalog rule) Nix's first error names; kept in sync with
/// error_json() in scripts/gen-conformance-expected.sh.
fn option_named_by_nix(stderr: &str) -> (Option<String>, Option<String>) {
    let text: String = match stderr
        .find("\nerror:")
        .map(|i| i + 1)
        .or(stderr.starts_with("error:").then_some(0))
    {
        Some(i) => stderr[i..].replace('\n', " "),
        None => return (None, None),
    };
    let finding =
        regex::Regex::new(r"\[([a-z-]+)\] (services\.secureMattermost[^ ]*)").expect("regex");
    let trap =
        regex::Regex::new(r"secure-mattermost: \[([a-z-]+)\] option `([^']+)'").expect("regex");
    let named = regex::Regex::new(r"option\s+`([^'`]+)['`]").expect("regex");
    if let Some(c) = finding.captures(&text) {
        return (Some(c[2].to_string()), Some(c[1].to_string()));
    }
    if let Some(c) = trap.captures(&text) {
        return (Some(c[2].to_string()), Some(c[1].to_string()));
    }
    (named.captures(&text).map(|c| c[1].to_string()), None)
}

fn built_in_evaluator_matches_live_nix() {
    if !nix_available("live comparison of the conformance suite with nix-instantiate") {
        return;
    }
    let mut failures = Vec::new();
    for (name, file) in declarations() {
        let live = nix_evaluate(&file);
        if let Err(e) = compare(&name, &file, &live) {
            failures.push(e);
        }
        // The committed expectation must still be what Nix says.
        let committed = expected(&name);
        let same = match (&live, &committed) {
            (Expected::Document(a), Expected::Document(b)) => strict_json(a) == strict_json(b),
            (
                Expected::Error {
                    option: a,
                    rule: r,
                    message: m,
                },
                Expected::Error {
                    option: b,
                    rule: s,
                    message: n,
                },
            ) => a == b && r == s && m == n,
            _ => false,
        };
        if !same {
            failures.push(format!(
                "{name}: committed expectation is stale; run scripts/gen-conformance-expected.sh"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn committed_options_schema_is_current() {
    if !nix_available("staleness check of modules/options-schema.json") {
        return;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/gen-options-schema.sh"))
        .arg("--stdout")
        .output()
        .expect("scripts/gen-options-schema.sh");
    assert!(
        out.status.success(),
        "gen-options-schema.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh: Value = serde_json::from_slice(&out.stdout).expect("generated schema is JSON");
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("modules/options-schema.json"))
            .expect("modules/options-schema.json"),
    )
    .expect("committed schema is JSON");
    assert!(
        canonical_json(&fresh) == canonical_json(&committed),
        "modules/options-schema.json is stale: run scripts/gen-options-schema.sh and commit the result"
    );
}

/// Through the real binary, once `eval --config` is wired to the evaluator.
fn cli_eval_config_prints_the_document() {
    let case = |name: &str| conformance_dir().join("cases").join(format!("{name}.nix"));
    let run = |file: &Path| {
        assert_cmd::Command::cargo_bin("secure-mattermost")
            .expect("binary")
            .args(["eval", "--config"])
            .arg(file)
            .output()
            .expect("run secure-mattermost")
    };
    let ok = run(&case("minimal"));
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "eval --config failed: {stderr}");
    let Expected::Document(want) = expected("minimal") else {
        panic!("minimal is expected to evaluate");
    };
    let got = parse_json_exact(&String::from_utf8_lossy(&ok.stdout)).expect("eval prints JSON");
    assert_eq!(strict_json(&got), strict_json(&want));

    for name in ["unknown-option", "literal-secret-option", "bad-type-port"] {
        let out = run(&case(name));
        assert_eq!(out.status.code(), Some(2), "{name}: exit code");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Expected::Error {
            option: Some(option),
            ..
        } = expected(name)
        {
            assert!(
                stderr.contains(&option),
                "{name}: stderr does not name {option}: {stderr}"
            );
        }
        assert!(
            !stderr.contains("correct horse"),
            "{name}: a secret leaked: {stderr}"
        );
    }
}

// --- Reading JSON exactly ----------------------------------------------------

/// JSON as serde_json reads it, except that every non-integer number is the
/// double nearest to its text: serde_json's default reader can be one unit
/// in the last place off (e.g. Nix's `2.22507e-308`), which would make a
/// correctly rounding evaluator look wrong. Numbers are matched to their text
/// in document order (serde_json keeps object order here: `preserve_order`).
fn parse_json_exact(text: &str) -> Result<Value, String> {
    let mut v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut numbers = number_tokens(text).into_iter();
    let mut bad = None;
    fix_numbers(&mut v, &mut numbers, &mut bad);
    match (bad, numbers.next()) {
        (None, None) => Ok(v),
        (Some(e), _) => Err(e),
        (None, Some(extra)) => Err(format!("number {extra} left over")),
    }
}

/// The number tokens of a JSON text, outside strings, in order.
fn number_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '-' || c.is_ascii_digit() {
            let mut token = c.to_string();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                    token.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(token);
        }
    }
    out
}

fn fix_numbers(v: &mut Value, numbers: &mut impl Iterator<Item = String>, bad: &mut Option<String>) {
    match v {
        Value::Number(n) => {
            let Some(token) = numbers.next() else {
                *bad = Some("fewer number tokens than numbers".to_string());
                return;
            };
            if n.is_f64() {
                match token.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    Some(exact) => *n = exact,
                    None => *bad = Some(format!("number {token}")),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fix_numbers(i, numbers, bad)),
        Value::Object(map) => map.values_mut().for_each(|i| fix_numbers(i, numbers, bad)),
        _ => {}
    }
}

// --- RFC 8785 (JSON Canonicalization Scheme) --------------------------------

fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out, false);
    out
}

/// RFC 8785, but numbers keep what RFC 8785 deliberately forgets and a
/// consumer of the document does not: integer or float (`2` and `2.0` are
/// different settings to Mattermost), and the sign of a zero.
fn strict_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out, true);
    out
}

fn write_canonical(v: &Value, out: &mut String, strict: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if strict && n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f == 0.0 && f.is_sign_negative() {
                out.push_str("-0");
            } else {
                out.push_str(&es_number(n));
            }
            out.push_str("(float)");
        }
        Value::Number(n) => out.push_str(&es_number(n)),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out, strict);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Keys sorted by their UTF-16 code units.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&map[k], out, strict);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript Number::toString, as RFC 8785 requires.
fn es_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f == 0.0 {
        return "0".to_string();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Shortest round-trip digits and exponent.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n_exp = exp.parse::<i32>().unwrap_or(0) + 1;
    let body = if k <= n_exp && n_exp <= 21 {
        format!("{digits}{}", "0".repeat((n_exp - k) as usize))
    } else if 0 < n_exp && n_exp <= 21 {
        format!(
            "{}.{}",
            &digits[..n_exp as usize],
            &digits[n_exp as usize..]
        )
    } else if -6 < n_exp && n_exp <= 0 {
        format!("0.{}{digits}", "0".repeat((-n_exp) as usize))
    } else {
        let e = n_exp - 1;
        let esign = if e < 0 { '-' } else { '+' };
        let m = if k == 1 {
            digits.clone()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        format!("{m}e{esign}{}", e.abs())
    };
    format!("{sign}{body}")
}

fn exact_reading_and_strict_comparison() {
    // serde_json alone reads 2.22507e-308 one unit in the last place off.
    let v = parse_json_exact(r#"{"a":[2.22507e-308,-0,2,1e+21,"1.5e3 \" 7"],"b":1.23457e+100}"#).unwrap();
    assert_eq!(v["a"][0].as_f64(), Some("2.22507e-308".parse::<f64>().unwrap()));
    assert_eq!(v["b"].as_f64(), Some(1.23457e100));
    assert_eq!(
        strict_json(&v),
        "{\"a\":[2.22507e-308(float),-0(float),2,1e+21(float),\"1.5e3 \\\" 7\"],\"b\":1.23457e+100(float)}"
    );
    // 2 and 2.0, 0 and -0.0 differ strictly, not canonically.
    let (int, float) = (serde_json::json!(2), serde_json::json!(2.0));
    assert_eq!(canonical_json(&int), canonical_json(&float));
    assert_ne!(strict_json(&int), strict_json(&float));
    let (zero, negative) = (serde_json::json!(0.0), serde_json::json!(-0.0));
    assert_eq!(canonical_json(&zero), canonical_json(&negative));
    assert_ne!(strict_json(&zero), strict_json(&negative));
}

fn canonicaliser_follows_rfc_8785() {
    // UTF-16 order puts U+1F600 (D83D DE00) before U+FF61; UTF-8 order would not.
    let v: Value = serde_json::from_str(
        r#"{"b":[1,1.5,1e21,0.000001,1e-7,-0.0],"a":"\u0007é","\uff61":3,"€":1,"\ud83d\ude00":2}"#,
    )
    .unwrap();
    assert_eq!(
        canonical_json(&v),
        "{\"a\":\"\\u0007é\",\"b\":[1,1.5,1e+21,0.000001,1e-7,0],\"€\":1,\"\u{1F600}\":2,\"\u{FF61}\":3}"
    );
}

tests![
    suite_is_large_enough,
    built_in_evaluator_matches_committed_nix_results,
    built_in_evaluator_matches_live_nix,
    committed_options_schema_is_current,
    cli_eval_config_prints_the_document,
    exact_reading_and_strict_comparison,
    canonicaliser_follows_rfc_8785,
];
