//! The evaluator's diagnostics.
//!
//! Every error names what Nix would name (`option_path`), carries the user's
//! file with a labelled span where one exists, and never includes a value:
//! values may be secrets, and the snippet shown is redacted and limited to the
//! labelled lines (see [`Snippet`]).

use std::fmt;
use std::path::PathBuf;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan,
    SpanContents,
};

use super::source::{SourceMap, Span};

/// What went wrong, coarsely; the message has the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A declaration file could not be read.
    Io,
    /// The file is not valid Nix.
    Parse,
    /// Valid Nix, but outside the subset the built-in evaluator implements.
    Unsupported,
    /// A path literal used as a value (it would be copied into the store).
    PathLiteral,
    /// A runtime error of the Nix language (missing attribute, wrong operand…).
    Eval,
    /// A module that is not shaped like one.
    Module,
    /// A definition for an option that no module declares.
    UndeclaredOption,
    /// A definition whose value does not have the option's type.
    OptionType,
    /// Definitions that cannot be merged (different values, null and not null…).
    Conflict,
    /// An option without default that no declaration sets.
    MissingValue,
    /// A value given to a secret trap option (`catalog secrets.literalRule`).
    LiteralSecret,
    /// The evaluated document would nest deeper than
    /// [`crate::limits::MAX_NESTING`] levels (the limit every input path
    /// shares); refused before anything recurses that deep.
    TooDeep,
    /// Credential-looking strings or secret-named settings (`settingRule`/`valueRule`).
    SecretInValue,
    /// A bug in the evaluator (it panicked); never expected.
    Internal,
}

impl ErrorKind {
    fn code(self) -> &'static str {
        match self {
            ErrorKind::Io => "secure_mattermost::nixeval::io",
            ErrorKind::Parse => "secure_mattermost::nixeval::parse",
            ErrorKind::Unsupported => "secure_mattermost::nixeval::unsupported",
            ErrorKind::PathLiteral => "secure_mattermost::nixeval::path_literal",
            ErrorKind::Eval => "secure_mattermost::nixeval::eval",
            ErrorKind::Module => "secure_mattermost::nixeval::module",
            ErrorKind::UndeclaredOption => "secure_mattermost::nixeval::undeclared_option",
            ErrorKind::OptionType => "secure_mattermost::nixeval::option_type",
            ErrorKind::Conflict => "secure_mattermost::nixeval::conflict",
            ErrorKind::MissingValue => "secure_mattermost::nixeval::missing_value",
            ErrorKind::LiteralSecret => "secure_mattermost::nixeval::literal_secret",
            ErrorKind::TooDeep => "secure_mattermost::nixeval::too_deep",
            ErrorKind::SecretInValue => "secure_mattermost::nixeval::secret_in_value",
            ErrorKind::Internal => "secure_mattermost::nixeval::internal",
        }
    }
}

/// A position in a declaration file, 1-based like Nix's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Byte offset and length of the labelled span.
    pub offset: usize,
    pub len: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// An error from [`super::evaluate_file`].
#[derive(Debug)]
pub struct NixEvalError(Box<Public>);

#[derive(Debug)]
struct Public {
    kind: ErrorKind,
    message: String,
    option: Option<String>,
    rule: Option<String>,
    label: Option<String>,
    help: Option<String>,
    location: Option<Location>,
    source: Option<NamedSource<Snippet>>,
}

impl NixEvalError {
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The option the error is about, spelled as Nix's own message spells it
    /// (e.g. `services.secureMattermost.mode`); `None` where Nix names none.
    pub fn option_path(&self) -> Option<&str> {
        self.0.option.as_deref()
    }

    /// The catalog rule id for literal-secret refusals.
    pub fn rule(&self) -> Option<&str> {
        self.0.rule.as_deref()
    }

    /// Where in the user's files the error points, if anywhere.
    pub fn location(&self) -> Option<&Location> {
        self.0.location.as_ref()
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether reading a declaration file failed (missing, a directory,
    /// unreadable): the CLI's I/O class (exit 3), like an unreadable
    /// `--input`. Every other error is about the declaration itself.
    pub fn is_io(&self) -> bool {
        self.0.kind == ErrorKind::Io
    }

    pub(crate) fn internal() -> Self {
        NixEvalError(Box::new(Public {
            kind: ErrorKind::Internal,
            message: "internal error in the built-in evaluator".to_string(),
            option: None,
            rule: None,
            label: None,
            help: Some(HELP_REAL_NIX.to_string()),
            location: None,
            source: None,
        }))
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Self {
        NixEvalError(Box::new(Public {
            kind: ErrorKind::Io,
            message: io_message(path, err),
            option: None,
            rule: None,
            label: None,
            help: None,
            location: None,
            source: None,
        }))
    }
}

/// "cannot read FILE: CAUSE", the cause as the OS reports it (`is a
/// directory`, `No such file or directory`, `Permission denied`).
pub(crate) fn io_message(path: &std::path::Path, err: &std::io::Error) -> String {
    let cause = match err.kind() {
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => err.to_string(),
    };
    format!("cannot read {}: {cause}", path.display())
}

impl fmt::Display for NixEvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        // Without a snippet (secret refusals) the position goes in the text.
        if self.0.source.is_none() {
            if let Some(loc) = &self.0.location {
                write!(f, " (at {loc})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for NixEvalError {}

impl Diagnostic for NixEvalError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = self.0.location.as_ref()?;
        let source = self.0.source.as_ref()?;
        let len = source.inner().shown_len(loc.offset, loc.len);
        let span = SourceSpan::new(loc.offset.into(), len);
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(self.0.label.clone(), span),
        )))
    }
}

/// The user's file as shown under a diagnostic: only the labelled lines (no
/// surrounding context, which could hold a secret elsewhere in the file), with
/// credential-looking string literals masked.
#[derive(Debug, Clone)]
pub struct Snippet(String);

/// Lines longer than this many characters are shown as a window around the
/// labelled span: a minified one-line file would otherwise be printed whole,
/// and miette cannot draw a label past column 65,535 at all.
const MAX_SHOWN_LINE: usize = 160;
/// Characters shown on either side of the span in such a window.
const WINDOW_MARGIN: usize = 60;

impl Snippet {
    /// The length to underline: a span whose first line is very long (a
    /// minified file) is underlined for its first few characters only.
    fn shown_len(&self, offset: usize, len: usize) -> usize {
        let Some(piece) = self.0.get(offset..offset.saturating_add(len)) else {
            return len;
        };
        let first_line = piece.split('\n').next().unwrap_or("");
        if first_line.chars().count() <= MAX_SHOWN_LINE {
            return len;
        }
        first_line
            .char_indices()
            .nth(WINDOW_MARGIN)
            .map_or(len, |(i, _)| i)
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // Without context the span itself is asked for (its line and column
        // head the report); with context, the whole lines the span covers
        // and nothing around them.
        if context_lines_before == 0 && context_lines_after == 0 {
            return self.0.read_span(span, 0, 0);
        }
        let text = self.0.as_str();
        let start = span.offset();
        let end = start
            .checked_add(span.len())
            .ok_or(MietteError::OutOfBounds)?;
        let (before, after) = match (text.get(..start), text.get(end..)) {
            (Some(b), Some(a)) if start <= end => (b, a),
            _ => return Err(MietteError::OutOfBounds),
        };
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = after.find('\n').map_or(text.len(), |i| end + i);
        // A very long first or last line is cut to a window around the span,
        // on character boundaries.
        let head = &text[line_start..start];
        let window_start = if head.chars().count() > MAX_SHOWN_LINE {
            head.char_indices()
                .rev()
                .nth(WINDOW_MARGIN - 1)
                .map_or(line_start, |(i, _)| line_start + i)
        } else {
            line_start
        };
        let tail = &text[end..line_end];
        let window_end = if tail.chars().count() > MAX_SHOWN_LINE {
            tail.char_indices()
                .nth(WINDOW_MARGIN)
                .map_or(line_end, |(i, _)| end + i)
        } else {
            line_end
        };
        let data = &text.as_bytes()[window_start..window_end];
        let line = before.matches('\n').count();
        let column = text[line_start..window_start].chars().count();
        let line_count = data.iter().filter(|b| **b == b'\n').count() + 1;
        Ok(Box::new(MietteSpanContents::new(
            data,
            SourceSpan::new(window_start.into(), window_end - window_start),
            line,
            column,
            line_count,
        )))
    }
}

pub(crate) const HELP_REAL_NIX: &str = "the built-in evaluator implements a subset of Nix; evaluate this declaration with real Nix instead: NIX_PATH=nixpkgs=<nixpkgs> nix-instantiate --eval --strict --json -E 'let lib = import <nixpkgs/lib>; in (import ./modules/standalone.nix { inherit lib; modules = [ ./your-declaration.nix ]; }).evaluated'";

/// An error while evaluating, before it is tied to the source files. Boxed:
/// it travels up every `Result` of the interpreter.
#[derive(Debug, Clone)]
pub(crate) struct Error(Box<ErrorData>);

#[derive(Debug, Clone)]
struct ErrorData {
    kind: ErrorKind,
    message: String,
    span: Option<Span>,
    option: Option<String>,
    rule: Option<String>,
    label: Option<String>,
    help: Option<String>,
    /// The user's line must not be shown (it may hold a secret).
    hide_source: bool,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorData {
            kind,
            message: message.into(),
            span: None,
            option: None,
            rule: None,
            label: None,
            help: None,
            hide_source: false,
        }))
    }

    pub fn eval(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Eval, message)
    }

    pub fn unsupported(what: impl fmt::Display) -> Self {
        Error::new(
            ErrorKind::Unsupported,
            format!("unsupported construct: {what} is outside the subset of Nix the built-in evaluator implements"),
        )
        .with_label("not supported by the built-in evaluator")
        .with_help(HELP_REAL_NIX)
    }

    /// The evaluated document would nest deeper than
    /// [`crate::limits::MAX_NESTING`]; `option` is the path (as the module's
    /// messages write it) of the first object or list past the limit.
    pub fn too_deep(option: &[String]) -> Self {
        let limit = crate::limits::MAX_NESTING;
        let full = option.join(".");
        // The path is as long as the limit: show its ends.
        let shown = if option.len() > 8 {
            format!(
                "{}.….{}",
                option[..5].join("."),
                option[option.len() - 2..].join(".")
            )
        } else {
            full.clone()
        };
        Error::new(
            ErrorKind::TooDeep,
            format!(
                "the evaluated document would nest deeper than {limit} levels (objects and lists, the document itself being the first): `{shown}` is level {}",
                limit + 1
            ),
        )
        .with_option(full)
        .with_label("nested too deeply")
        .with_help(format!(
            "every input path refuses documents nested deeper than {limit} levels (src/limits.rs MAX_NESTING); no real declaration comes near it"
        ))
    }

    pub fn path_literal() -> Self {
        Error::new(
            ErrorKind::PathLiteral,
            "a Nix path literal is only allowed in `imports`: as a value it would copy the file into the world-readable Nix store; give the file as an absolute path string instead (e.g. \"/run/secrets/…\")",
        )
        .with_label("path literal used as a value")
    }

    pub fn at(mut self, span: Option<Span>) -> Self {
        if self.0.span.is_none() {
            self.0.span = span;
        }
        self
    }

    pub fn with_option(mut self, option: impl Into<String>) -> Self {
        self.0.option = Some(option.into());
        self
    }

    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.0.rule = Some(rule.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.0.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// Points at the user's line in the text only, without a snippet: the
    /// line may hold a secret (a password pasted into a `…File` option, a
    /// misspelt secret option).
    pub fn without_source(mut self) -> Self {
        self.0.hide_source = true;
        self
    }

    fn shows_source(&self) -> bool {
        // Secret refusals point at the line in the text only: the snippet
        // would show the very value being refused.
        !self.0.hide_source
            && !matches!(
                self.0.kind,
                ErrorKind::LiteralSecret | ErrorKind::SecretInValue
            )
    }

    pub fn into_public(self, sources: &SourceMap) -> NixEvalError {
        let shows_source = self.shows_source();
        let e = *self.0;
        let mut location = None;
        let mut source = None;
        if let Some(span) = e.span {
            if let Some(file) = sources.get(span.file) {
                // Spans are byte ranges; keep them on character boundaries
                // (and inside the file) so the snippet can always be cut.
                let text = file.text.as_str();
                let mut start = (span.start as usize).min(text.len());
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (span.end as usize).clamp(start, text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                let span = super::source::Span {
                    file: span.file,
                    start: u32::try_from(start).unwrap_or(span.start),
                    end: u32::try_from(end).unwrap_or(span.end),
                };
                let (line, column) = file.line_col(span.start as usize);
                location = Some(Location {
                    file: file.path.clone(),
                    line,
                    column,
                    offset: span.start as usize,
                    len: span.len() as usize,
                });
                if shows_source {
                    source = Some(NamedSource::new(
                        file.display_name(),
                        Snippet(file.redacted()),
                    ));
                }
            }
        }
        let help = e.help.or_else(|| match e.kind {
            ErrorKind::Parse | ErrorKind::Unsupported => Some(HELP_REAL_NIX.to_string()),
            _ => None,
        });
        NixEvalError(Box::new(Public {
            kind: e.kind,
            message: e.message,
            option: e.option,
            rule: e.rule,
            label: e.label,
            help,
            location,
            source,
        }))
    }
}
