//! `secure-mattermost lint PATH…`: what in `.nix` sources would put a secret
//! into the world-readable Nix store, before anything is evaluated: string
//! literals bound to password/secret/key/token-like attributes, credentials
//! inside connection strings, Nix path literals (and store paths) given to
//! secret-file options, and placeholder justifications. Diagnostics point
//! at file:line:column with the place underlined and the secret's characters
//! masked: lint output lands in CI logs.

use std::path::{Path, PathBuf};

use clap::Args;
use miette::{Diagnostic, NamedSource, SourceSpan};
use rnix::ast::{self, InterpolPart};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;
use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::cli::Format;
use crate::error::{exit, Error};
use crate::evidence::diag::bad_input;
use crate::output;
use crate::secrets::Secrets;

#[derive(Args, Debug)]
pub struct LintArgs {
    /// .nix files, or directories searched for them (recursively, hidden directories skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintRule {
    LiteralSecret,
    CredentialInString,
    PathLiteralSecretFile,
    StorePathSecretFile,
    PlaceholderJustification,
}

impl LintRule {
    pub const ALL: [LintRule; 5] = [
        LintRule::LiteralSecret,
        LintRule::CredentialInString,
        LintRule::PathLiteralSecretFile,
        LintRule::StorePathSecretFile,
        LintRule::PlaceholderJustification,
    ];
    pub fn id(self) -> &'static str {
        match self {
            LintRule::LiteralSecret => "literal-secret",
            LintRule::CredentialInString => "credential-in-string",
            LintRule::PathLiteralSecretFile => "path-literal-secret-file",
            LintRule::StorePathSecretFile => "store-path-secret-file",
            LintRule::PlaceholderJustification => "placeholder-justification",
        }
    }
    fn describe(self) -> &'static str {
        match self {
            LintRule::LiteralSecret => "A string literal bound to a secret-like attribute ends up in the world-readable Nix store",
            LintRule::CredentialInString => "A string carries a credential (URL userinfo, password= in a DSN, private key, access key id)",
            LintRule::PathLiteralSecretFile => "A Nix path literal given to a file option copies the file into the world-readable Nix store",
            LintRule::StorePathSecretFile => "A secret-file option names a path that is not a safe runtime path or is inside the Nix store",
            LintRule::PlaceholderJustification => "A justification's reason is blank or a placeholder",
        }
    }
    fn help(self) -> &'static str {
        match self {
            LintRule::LiteralSecret | LintRule::CredentialInString => {
                "give the secret as a runtime file path (…File options, e.g. \"/run/secrets/db\"), a systemd credential or a Kubernetes Secret reference"
            }
            LintRule::PathLiteralSecretFile => "write the runtime path as a string (\"/run/secrets/…\"); a path literal is copied into the store at evaluation",
            LintRule::StorePathSecretFile => "point the option at a runtime path outside the store, e.g. \"/run/secrets/…\"",
            LintRule::PlaceholderJustification => "say in at least two real words why the deviation is acceptable, and record approvedBy and expires",
        }
    }
    /// Whether the underlined text is a secret to be masked in the snippet.
    fn masks(self) -> bool {
        matches!(self, LintRule::LiteralSecret | LintRule::CredentialInString | LintRule::StorePathSecretFile)
    }
}

/// One finding: byte range into the file, the attribute path it sits at.
#[derive(Debug, Clone)]
pub struct LintFinding {
    pub rule: LintRule,
    pub start: usize,
    pub end: usize,
    pub attribute: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct LintDiagnostic {
    message: String,
    code: &'static str,
    help: &'static str,
    src: NamedSource<String>,
    span: SourceSpan,
    label: String,
}

impl Diagnostic for LintDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("sm::lint::{}", self.code)))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.help))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(Some(self.label.clone()), self.span))))
    }
}

/// Every `.nix` file under the paths (directories recursively, hidden ones
/// skipped), in a stable order, and what could not be read. The bare-parse
/// benchmark (benches/rnix_parse.rs) walks with this too.
pub fn nix_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    collect(paths, &mut files, &mut errors);
    (files, errors)
}

/// Every `.nix` file under the paths, in a stable order.
fn collect(paths: &[PathBuf], out: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => errors.push(Error::io(p, e)),
            Ok(m) if m.is_dir() => {
                let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
                    Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
                    Err(e) => {
                        errors.push(Error::io(p, e));
                        continue;
                    }
                };
                entries.sort();
                let sub: Vec<PathBuf> = entries
                    .into_iter()
                    .filter(|e| !e.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                    .filter(|e| e.is_dir() && !e.is_symlink() || e.extension().is_some_and(|x| x == "nix"))
                    .collect();
                collect(&sub, out, errors);
            }
            Ok(_) => out.push(p.clone()),
        }
    }
}

/// One file's part of the output, made by a worker: stderr diagnostics,
/// text for stdout, JSON/SARIF findings for the closing document.
#[derive(Default)]
struct Linted {
    stderr: Option<String>,
    text: String,
    json: Vec<Value>,
    sarif: Vec<Value>,
    /// The exit code this file alone would give.
    code: i32,
    findings: usize,
}

/// Linted files that may wait to be written (the workers run at most this
/// far ahead of the output).
const WINDOW: usize = 64;

pub fn run(args: LintArgs, format: Format) -> Result<i32, Error> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect(&args.paths, &mut files, &mut errors);
    let mut worst = 0u8;
    let mut bump = |code: i32| {
        let r = match code {
            exit::IO => 3,
            exit::INVALID_INPUT => 2,
            exit::POLICY_FAILED => 1,
            _ => 0,
        };
        worst = worst.max(r);
    };
    for e in errors {
        bump(e.exit_code());
        output::stderr(&format!("{:?}", miette::Report::new(e)));
    }
    // Shared, read-only state, loaded before the workers start.
    Secrets::get();
    Catalog::load();
    let mut total = 0usize;
    let mut sarif_results: Vec<Value> = Vec::new();
    let mut json_findings: Vec<Value> = Vec::new();
    crate::parallel::ordered(&files, crate::parallel::workers(files.len()), WINDOW, |f| lint_file(f, format), |l| {
        if let Some(e) = &l.stderr {
            output::stderr(e);
        }
        bump(l.code);
        total += l.findings;
        json_findings.extend(l.json);
        sarif_results.extend(l.sarif);
        if !l.text.is_empty() {
            output::stdout(&l.text)?;
        }
        Ok::<(), Error>(())
    })?;
    match format {
        Format::Text => output::stdout(&format!("{} file(s) checked, {total} finding(s)\n", files.len()))?,
        Format::Json => output::stdout(&(serde_json::to_string_pretty(&json!({"files": files.len(), "findings": json_findings})).unwrap_or_default() + "\n"))?,
        Format::Sarif => {
            let rules: Vec<Value> = LintRule::ALL
                .iter()
                .map(|r| json!({"id": r.id(), "name": r.id(), "shortDescription": {"text": r.describe()}, "help": {"text": r.help()}}))
                .collect();
            let doc = json!({
                "$schema": crate::sarif::SARIF_SCHEMA,
                "version": "2.1.0",
                "runs": [{"tool": {"driver": {"name": "secure-mattermost-lint", "version": env!("CARGO_PKG_VERSION"), "rules": rules}}, "results": sarif_results}]
            });
            output::stdout(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"))?;
        }
    }
    Ok(match worst {
        3 => exit::IO,
        2 => exit::INVALID_INPUT,
        1 => exit::POLICY_FAILED,
        _ => exit::OK,
    })
}

fn lint_file(file: &Path, format: Format) -> Linted {
    let mut l = Linted::default();
    let name = file.display().to_string();
    let source = match std::fs::read(file) {
        Ok(b) => match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => {
                l.code = exit::INVALID_INPUT;
                l.stderr = Some(format!("{:?}", miette::Report::new(bad_input(format!("{name}: not UTF-8 (byte offset {})", e.utf8_error().valid_up_to()), None))));
                return l;
            }
        },
        Err(e) => {
            l.code = exit::IO;
            l.stderr = Some(format!("{:?}", miette::Report::new(Error::io(file, e))));
            return l;
        }
    };
    let findings = match lint_source(&source) {
        Ok(f) => f,
        Err(at) => {
            l.code = exit::INVALID_INPUT;
            let (line, col) = line_col(&source, at);
            l.stderr = Some(format!("error[sm::lint::parse]: {name}:{line}:{col}: not valid Nix; nothing in this file was checked"));
            return l;
        }
    };
    if findings.is_empty() {
        return l;
    }
    l.code = exit::POLICY_FAILED;
    l.findings = findings.len();
    let masked = mask(&source, &findings);
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor()).with_width(120);
    for f in &findings {
        let (line, col) = line_col(&source, f.start);
        let (end_line, end_col) = line_col(&source, f.end);
        match format {
            Format::Text => {
                let d = LintDiagnostic {
                    message: format!("{name}:{line}:{col}: {} (at {})", f.rule.describe(), f.attribute),
                    code: f.rule.id(),
                    help: f.rule.help(),
                    src: NamedSource::new(name.clone(), masked.clone()),
                    span: (f.start, f.end - f.start).into(),
                    label: if f.rule.masks() { "here (value masked)".into() } else { "here".into() },
                };
                let mut s = String::new();
                let _ = handler.render_report(&mut s, &d);
                l.text.push_str(&s);
                l.text.push('\n');
            }
            Format::Json => l.json.push(json!({
                "file": name, "line": line, "column": col, "endLine": end_line, "endColumn": end_col,
                "rule": f.rule.id(), "attribute": f.attribute, "message": f.rule.describe()
            })),
            Format::Sarif => l.sarif.push(json!({
                "ruleId": f.rule.id(),
                "ruleIndex": LintRule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0),
                "level": if f.rule == LintRule::PlaceholderJustification { "warning" } else { "error" },
                "message": {"text": format!("{} (at {})", f.rule.describe(), f.attribute)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": name},
                    "region": {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}
                }}]
            })),
        }
    }
    l
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(s: &str, at: usize) -> (usize, usize) {
    let at = at.min(s.len());
    let before = &s[..s.floor_char_boundary_compat(at)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

/// The source with every masked finding's characters replaced by `*`
/// (byte for byte, so offsets stay valid), quotes kept.
pub fn mask(source: &str, findings: &[LintFinding]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for f in findings.iter().filter(|f| f.rule.masks()) {
        let text = &source[f.start..f.end];
        let (lead, trail) = if text.starts_with("''") { (2, 2) } else if text.starts_with('"') { (1, 1) } else { (0, 0) };
        let inner = (f.start + lead)..(f.end.saturating_sub(trail)).max(f.start + lead);
        for b in &mut bytes[inner] {
            if *b != b'\n' {
                *b = b'*';
            }
        }
    }
    // Only ASCII '*' replaced whole UTF-8 sequences' bytes, so this is valid UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| "*".repeat(source.len()))
}

/// The static keys of an attribute path (`${…}` for a dynamic one).
fn keys_of(path: Option<ast::Attrpath>) -> Vec<String> {
    path.into_iter()
        .flat_map(|p| p.attrs())
        .map(|a| match a {
            ast::Attr::Ident(i) => i.ident_token().map(|t| t.text().to_string()).unwrap_or_default(),
            ast::Attr::Str(s) => match literal(&s) {
                Some(t) => t,
                None => "${…}".into(),
            },
            ast::Attr::Dynamic(_) => "${…}".into(),
        })
        .collect()
}

/// The text of a string without interpolation (`None` when it has some).
fn literal(s: &ast::Str) -> Option<String> {
    let mut out = String::new();
    for p in s.normalized_parts() {
        match p {
            InterpolPart::Literal(t) => out.push_str(&t),
            InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(out)
}

/// The literal parts of a string, interpolations left out.
fn literal_parts(s: &ast::Str) -> String {
    s.normalized_parts()
        .into_iter()
        .filter_map(|p| match p {
            InterpolPart::Literal(t) => Some(t),
            InterpolPart::Interpolation(_) => None,
        })
        .collect::<Vec<_>>()
        .join("")
}

/// Words in a `…File` option's name that say the file holds a secret. A
/// `…File` option without one (`cargoLock.lockFile`, `configFile`,
/// `caFile`, `certificateFile`) names a file that may be in the store.
const SECRET_FILE_WORDS: &[&str] = &["password", "passwd", "secret", "key", "token", "credential", "environment", "licen", "auth", "private", "htpasswd", "dsn"];

/// An option whose value names a file holding a secret: a `…File` option
/// whose name says so, the secret-file pattern of the catalog, or the
/// `file` of a secretSettings entry or of the licence.
fn is_file_option(keys: &[String]) -> bool {
    let Some(last) = keys.last() else { return false };
    let s = Secrets::get();
    let lower = last.to_ascii_lowercase();
    (last.ends_with("File") && SECRET_FILE_WORDS.iter().any(|w| lower.contains(w)))
        || s.is_secret_file_key(last)
        || (last == "file" && keys.iter().any(|k| k == "secretSettings" || k == "license"))
}

/// Findings in one source text; `Err(offset)` when it does not parse.
pub fn lint_source(source: &str) -> Result<Vec<LintFinding>, usize> {
    let parse = rnix::Root::parse(source);
    if let Some(e) = parse.errors().first() {
        use rnix::ParseError as P;
        let at = match e {
            P::Unexpected(r) | P::UnexpectedExtra(r) | P::UnexpectedDoubleBind(r) | P::UnexpectedWanted(_, r, _) | P::DuplicatedArgs(r, _) => usize::from(r.start()),
            _ => source.len(),
        };
        return Err(at);
    }
    let secrets = Secrets::get();
    let catalog = Catalog::load();
    let root: SyntaxNode = parse.syntax();
    let mut out: Vec<LintFinding> = Vec::new();
    let range = |n: &SyntaxNode| (usize::from(n.text_range().start()), usize::from(n.text_range().end()));
    // One walk: the keys of every binding entered and not yet left, so a
    // binding's full attribute path (enclosing bindings' keys, then its own)
    // is the stack, and a string's attribute is its nearest binding's path.
    // A binding's value comes after the binding, so when a string is reached
    // a finding on it as a binding's value is already in `out`.
    let mut stack: Vec<Vec<String>> = Vec::new();
    for event in root.preorder() {
        let node = match event {
            rowan::WalkEvent::Enter(n) => n,
            rowan::WalkEvent::Leave(n) => {
                if n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE {
                    stack.pop();
                }
                continue;
            }
        };
        if let Some(apv) = ast::AttrpathValue::cast(node.clone()) {
            stack.push(keys_of(apv.attrpath()));
            let keys: Vec<String> = stack.concat();
            let attribute = keys.join(".");
            let Some(value) = apv.value() else { continue };
            let vnode = value.syntax().clone();
            let (start, end) = range(&vnode);
            let finding = |rule| LintFinding { rule, start, end, attribute: attribute.clone() };
            match &value {
                ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) | ast::Expr::PathSearch(_)
                    if is_file_option(&keys) || secrets.is_secret_binding(&keys) =>
                {
                    out.push(finding(LintRule::PathLiteralSecretFile));
                }
                ast::Expr::Str(s) => {
                    let text = literal(s);
                    let j = keys.iter().position(|k| k == "justification");
                    let is_reason = j.is_some_and(|j| keys.len() == j + 2 || (keys.len() == j + 3 && keys[j + 2] == "reason"));
                    if is_reason {
                        if text.as_deref().is_some_and(|t| crate::justification::is_placeholder(catalog, t)) {
                            out.push(finding(LintRule::PlaceholderJustification));
                        }
                    } else if is_file_option(&keys) {
                        if let Some(t) = &text {
                            if secrets.looks_like_credential(t) {
                                out.push(finding(LintRule::CredentialInString));
                            } else if !t.is_empty() && !secrets.is_safe_path(t) {
                                out.push(finding(LintRule::StorePathSecretFile));
                            }
                        }
                    } else if secrets.is_secret_binding(&keys) && !literal_parts(s).trim().is_empty() && !text.as_deref().is_some_and(|t| secrets.is_safe_path(t)) {
                        out.push(finding(LintRule::LiteralSecret));
                    }
                }
                _ => {}
            }
        } else if node.kind() == SyntaxKind::NODE_STRING {
            // Credentials in any string, wherever it is (lists, let bindings, arguments).
            let Some(s) = ast::Str::cast(node.clone()) else { continue };
            let (start, end) = range(&node);
            if out.iter().any(|f| f.start == start && f.end == end) {
                continue;
            }
            if secrets.looks_like_credential(&literal_parts(&s)) {
                let attribute = if stack.is_empty() { "(expression)".into() } else { stack.concat().join(".") };
                out.push(LintFinding { rule: LintRule::CredentialInString, start, end, attribute });
            }
        }
    }
    out.sort_by_key(|f| (f.start, f.end));
    Ok(out)
}

