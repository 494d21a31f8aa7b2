//! A linear pass over a declaration's text before rnix parses it, so that no
//! input can make the parser (or rowan's tree builder) recurse or rehash
//! without bound:
//!
//! - expressions nested deeper than [`MAX_EXPR_DEPTH`] (brackets, string
//!   interpolations, chains of operators and function applications, which
//!   rnix builds into trees one level deeper per link) are refused, with the
//!   position where the limit is crossed;
//! - NUL bytes are refused (Nix 2.8 silently stops reading at one);
//! - runs of characters without a space that rnix's tokenizer rescans at every
//!   token (`a.b.c.…`, whose path heuristic looks ahead to the end of the run)
//!   are either split — a long dotted attribute path gets a space before each
//!   `.`, which changes no token — or, when they are not a plain attribute
//!   path, refused.
//!
//! The split text is what rnix parses; [`Prescanned::original`] maps its
//! offsets back to the user's file.

use super::error::{Error, ErrorKind, Result};
use super::source::{FileId, Span};

/// Deepest expression nesting the built-in evaluator parses, the same as
/// rnix's own recursion limit (`ParseError::RecursionLimitExceeded`).
/// Real Nix stops far earlier on brackets ("memory exhausted" from its
/// parser stack at a few thousand levels).
pub(crate) const MAX_EXPR_DEPTH: u32 = 512;

/// Runs of rnix path characters (`[A-Za-z0-9_.+-]`) longer than this are
/// split (plain attribute paths) or refused (anything else): rnix's
/// tokenizer is quadratic in them.
const MAX_RUN: usize = 256;

/// A run this long or longer that is a plain attribute path gets spaces.
const SPLIT_RUN: usize = 128;

pub(crate) struct Prescanned {
    /// The text rnix parses: the user's text, plus spaces inserted into long
    /// attribute paths.
    pub text: String,
    /// Offsets (in `text`) of the inserted spaces, ascending.
    inserted: Vec<u32>,
}

impl Prescanned {
    /// The user's offset for an offset into [`Prescanned::text`].
    pub fn original(&self, at: u32) -> u32 {
        let before = self.inserted.partition_point(|&p| p < at);
        at - u32::try_from(before).unwrap_or(u32::MAX).min(at)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Paren,
    List,
    Set,
    /// `${ … }`, in a string or in code.
    Interp,
    Str,
    IndStr,
}

struct Frame {
    kind: Kind,
    /// Nesting of the tree at this frame's opening, itself included.
    base: u32,
    /// Links of the operator/application chain since the last `;`, `=`,
    /// `,`, `:` or keyword at this level.
    chain: u32,
    /// The last token was an operand (a following operand is an application).
    operand: bool,
    /// After `.`: the next name is an attribute, not an operand.
    after_dot: bool,
}

impl Frame {
    fn new(kind: Kind, base: u32) -> Self {
        Frame {
            kind,
            base,
            chain: 0,
            operand: false,
            after_dot: false,
        }
    }

    fn depth(&self) -> u32 {
        self.base.saturating_add(self.chain)
    }

    fn reset(&mut self) {
        self.chain = 0;
        self.operand = false;
        self.after_dot = false;
    }
}

fn is_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-')
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\'' | b'-')
}

fn is_path(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-' | b'/')
}

const KEYWORDS: &[&[u8]] = &[
    b"assert", b"else", b"if", b"in", b"inherit", b"let", b"rec", b"then", b"with",
];

struct Scan<'a> {
    file: FileId,
    bytes: &'a [u8],
    stack: Vec<Frame>,
    /// Where spaces go (offsets in the user's text, before the byte there).
    splits: Vec<usize>,
}

pub(crate) fn prescan(file: FileId, text: &str) -> Result<Prescanned> {
    let mut scan = Scan {
        file,
        bytes: text.as_bytes(),
        stack: vec![Frame::new(Kind::Root, 1)],
        splits: Vec::new(),
    };
    scan.run()?;
    if scan.splits.is_empty() {
        return Ok(Prescanned {
            text: text.to_string(),
            inserted: Vec::new(),
        });
    }
    let mut out = String::with_capacity(text.len() + scan.splits.len());
    let mut inserted = Vec::with_capacity(scan.splits.len());
    let mut last = 0;
    for &at in &scan.splits {
        out.push_str(&text[last..at]);
        inserted.push(u32::try_from(out.len()).unwrap_or(u32::MAX));
        out.push(' ');
        last = at;
    }
    out.push_str(&text[last..]);
    Ok(Prescanned {
        text: out,
        inserted,
    })
}

impl Scan<'_> {
    fn at(&self, i: usize) -> Option<Span> {
        let start = u32::try_from(i).unwrap_or(u32::MAX);
        Some(Span {
            file: self.file,
            start,
            end: start.saturating_add(1),
        })
    }

    fn peek(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn top(&mut self) -> &mut Frame {
        // The root frame is never popped.
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    fn too_deep(&self, i: usize) -> Error {
        Error::unsupported(format!(
            "an expression nested more than {MAX_EXPR_DEPTH} levels deep (brackets, interpolations, or a chain of operators or function applications)"
        ))
        .with_label("nested too deeply here")
        .at(self.at(i))
    }

    fn stray(&self, i: usize) -> Error {
        let c = std::str::from_utf8(&self.bytes[i..])
            .ok()
            .or_else(|| std::str::from_utf8(&self.bytes[i..(i + 4).min(self.bytes.len())]).ok())
            .and_then(|s| s.chars().next());
        let what = c.map_or_else(|| "a non-ASCII character".to_string(), |c| format!("U+{:04X}", c as u32));
        Error::new(
            ErrorKind::Parse,
            format!("syntax error: unexpected {what} (outside strings and comments Nix accepts only ASCII, and only space, tab, CR and LF as whitespace)"),
        )
        .with_label("here")
        .at(self.at(i).map(|span| Span {
            end: span.start + c.map_or(1, |c| c.len_utf8() as u32),
            ..span
        }))
    }

    fn check(&self, i: usize) -> Result<()> {
        match self.stack.last() {
            Some(f) if f.depth() > MAX_EXPR_DEPTH => Err(self.too_deep(i)),
            _ => Ok(()),
        }
    }

    /// An operand at `i` in the current code frame.
    fn operand(&mut self, i: usize) -> Result<()> {
        let f = self.top();
        if f.after_dot {
            f.after_dot = false;
        } else if f.kind == Kind::List {
            // List items are siblings, not an application.
            f.chain = 0;
        } else if f.operand {
            f.chain += 1;
        }
        f.operand = true;
        self.check(i)
    }

    fn operator(&mut self, i: usize) -> Result<()> {
        let f = self.top();
        f.chain += 1;
        f.operand = false;
        f.after_dot = false;
        self.check(i)
    }

    fn push(&mut self, kind: Kind, i: usize) -> Result<()> {
        let base = self.stack.last().map_or(1, |f| f.depth()).saturating_add(1);
        self.stack.push(Frame::new(kind, base));
        self.check(i)
    }

    /// Closes the innermost code frame (never the root); an unbalanced
    /// closer is left for the parser to report.
    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
        if let Some(f) = self.stack.last_mut() {
            f.operand = true;
            f.after_dot = false;
        }
    }

    fn run(&mut self) -> Result<()> {
        let n = self.bytes.len();
        if let Some(i) = self.bytes.iter().position(|&b| b == 0) {
            return Err(Error::unsupported(
                "a NUL byte in a declaration (Nix 2.8 stops reading the file there)",
            )
            .with_label("NUL byte")
            .at(self.at(i)));
        }
        let mut i = 0;
        while i < n {
            let kind = self.stack.last().map_or(Kind::Root, |f| f.kind);
            i = match kind {
                Kind::Str => self.in_string(i)?,
                Kind::IndStr => self.in_indented(i)?,
                _ => self.in_code(i)?,
            };
        }
        Ok(())
    }

    fn in_string(&mut self, i: usize) -> Result<usize> {
        Ok(match self.peek(i) {
            b'\\' => i + 2,
            b'"' => {
                self.pop();
                i + 1
            }
            b'$' if self.peek(i + 1) == b'{' => {
                self.push(Kind::Interp, i)?;
                i + 2
            }
            _ => i + 1,
        })
    }

    fn in_indented(&mut self, i: usize) -> Result<usize> {
        Ok(match (self.peek(i), self.peek(i + 1), self.peek(i + 2)) {
            (b'\'', b'\'', b'\'' | b'$') => i + 3,
            (b'\'', b'\'', b'\\') => i + 4,
            (b'\'', b'\'', _) => {
                self.pop();
                i + 2
            }
            (b'$', b'{', _) => {
                self.push(Kind::Interp, i)?;
                i + 2
            }
            _ => i + 1,
        })
    }

    fn in_code(&mut self, i: usize) -> Result<usize> {
        let b = self.peek(i);
        if is_run(b) && (i == 0 || !is_run(self.peek(i - 1))) {
            self.check_run(i)?;
        }
        let next = self.peek(i + 1);
        Ok(match b {
            b' ' | b'\t' | b'\r' | b'\n' => i + 1,
            // Nix's lexer knows no other whitespace (rnix takes any Unicode
            // space, form feed or vertical tab for one) and no other
            // characters outside strings and comments.
            0x0b | 0x0c | 0x80.. => return Err(self.stray(i)),
            b'#' => self.bytes[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.bytes.len(), |p| i + p + 1),
            b'/' if next == b'*' => self.bytes[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(self.bytes.len(), |p| i + 2 + p + 2),
            b'"' => {
                self.operand(i)?;
                self.push(Kind::Str, i)?;
                i + 1
            }
            b'\'' if next == b'\'' => {
                self.operand(i)?;
                self.push(Kind::IndStr, i)?;
                i + 2
            }
            b'$' if next == b'{' => {
                self.operand(i)?;
                self.push(Kind::Interp, i)?;
                i + 2
            }
            b'(' | b'[' | b'{' => {
                self.operand(i)?;
                let kind = match b {
                    b'(' => Kind::Paren,
                    b'[' => Kind::List,
                    _ => Kind::Set,
                };
                self.push(kind, i)?;
                i + 1
            }
            b')' | b']' | b'}' => {
                self.pop();
                i + 1
            }
            b'=' if next == b'=' => {
                self.operator(i)?;
                i + 2
            }
            b';' | b'=' | b',' | b':' | b'@' => {
                self.top().reset();
                i + 1
            }
            b'.' if next == b'.' && self.peek(i + 2) == b'.' => {
                self.top().reset();
                i + 3
            }
            b'.' if next.is_ascii_digit() => {
                self.operand(i)?;
                self.number_end(i)
            }
            b'.' => {
                self.top().after_dot = true;
                i + 1
            }
            b'/' if next != b'/' && is_path(next) => {
                self.operand(i)?;
                self.path_end(i)
            }
            b'~' if next == b'/' => {
                self.operand(i)?;
                self.path_end(i + 1)
            }
            b'<' if is_path(next) => {
                // A search path `<nixpkgs>` or the operator `<`.
                let end = i + 1 + self.bytes[i + 1..].iter().take_while(|&&c| is_path(c)).count();
                if self.peek(end) == b'>' {
                    self.operand(i)?;
                    end + 1
                } else {
                    self.operator(i)?;
                    i + 1
                }
            }
            b'0'..=b'9' => {
                self.operand(i)?;
                let end = self.number_end(i);
                if self.peek(end) == b'/' && is_path(self.peek(end + 1)) {
                    self.path_end(end)
                } else {
                    end
                }
            }
            c if is_ident_start(c) => self.word(i)?,
            b'!' | b'<' | b'>' if next == b'=' => {
                self.operator(i)?;
                i + 2
            }
            b'&' | b'|' | b'+' | b'/' if next == b => {
                self.operator(i)?;
                i + 2
            }
            b'-' if next == b'>' => {
                self.operator(i)?;
                i + 2
            }
            b'|' if next == b'>' => {
                self.operator(i)?;
                i + 2
            }
            b'<' if next == b'|' => {
                self.operator(i)?;
                i + 2
            }
            b'+' | b'-' | b'*' | b'/' | b'<' | b'>' | b'!' | b'?' => {
                self.operator(i)?;
                i + 1
            }
            _ => i + 1,
        })
    }

    /// An identifier, keyword, relative path or URI starting at `i`.
    fn word(&mut self, i: usize) -> Result<usize> {
        let end = i + self.bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
        let word = &self.bytes[i..end];
        // `a/b` is a path, `a:b` a URI (rnix's rules), as long as no space
        // follows the separator.
        if self.peek(end) == b'/' && is_path(self.peek(end + 1)) {
            self.operand(i)?;
            return Ok(self.path_end(end));
        }
        if self.peek(end) == b':' && is_uri(self.peek(end + 1)) && !word.contains(&b'_') {
            self.operand(i)?;
            return Ok(end + 1 + self.bytes[end + 1..].iter().take_while(|&&c| is_uri(c)).count());
        }
        if word == b"or" {
            // A select's default: count it as a link.
            self.operator(i)?;
        } else if KEYWORDS.contains(&word) {
            self.top().reset();
        } else {
            self.operand(i)?;
        }
        Ok(end)
    }

    /// The end of a path starting at `i` (interpolations inside it are
    /// scanned as code again).
    fn path_end(&self, i: usize) -> usize {
        i + self.bytes[i..].iter().take_while(|&&c| is_path(c)).count()
    }

    fn number_end(&self, i: usize) -> usize {
        let mut j = i;
        while self.peek(j).is_ascii_digit() {
            j += 1;
        }
        if self.peek(j) == b'.' {
            j += 1;
            while self.peek(j).is_ascii_digit() {
                j += 1;
            }
        }
        if matches!(self.peek(j), b'e' | b'E') {
            let mut k = j + 1;
            if matches!(self.peek(k), b'+' | b'-') {
                k += 1;
            }
            if self.peek(k).is_ascii_digit() {
                j = k;
                while self.peek(j).is_ascii_digit() {
                    j += 1;
                }
            }
        }
        j.max(i + 1)
    }

    /// A maximal run of rnix path characters starting at `i`: long ones are
    /// split if they are a plain attribute path, refused otherwise.
    fn check_run(&mut self, i: usize) -> Result<()> {
        let len = self.bytes[i..].iter().take_while(|&&c| is_run(c)).count();
        if len < SPLIT_RUN {
            return Ok(());
        }
        let run = &self.bytes[i..i + len];
        let before = if i == 0 { b' ' } else { self.peek(i - 1) };
        let after = self.peek(i + len);
        // The run starts a token (it is not the tail of a path, URI or
        // search path) and ends one (no path, URI or interpolated path
        // continues it).
        let starts_token = matches!(
            before,
            b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'(' | b'[' | b';' | b'=' | b'"' | b')' | b']'
        );
        let ends_token = !matches!(after, b'/' | b':' | b'~');
        let mut segments = run.split(|&c| c == b'.');
        let first = segments.next().unwrap_or_default();
        let first_ok = if matches!(before, b'"' | b')' | b']') {
            first.is_empty()
        } else {
            is_name(first)
        };
        let mut rest_ok = true;
        let mut count = 0usize;
        let mut segs = segments.peekable();
        while let Some(seg) = segs.next() {
            count += 1;
            let last = segs.peek().is_none();
            // A trailing `.` before `"…"` or `${…}`: a quoted segment follows.
            let quoted_next = last && seg.is_empty() && matches!(after, b'"' | b'$');
            if !(is_name(seg) || quoted_next) {
                rest_ok = false;
            }
        }
        if starts_token && ends_token && first_ok && rest_ok && count > 0 {
            for (k, &c) in run.iter().enumerate() {
                if c == b'.' {
                    self.splits.push(i + k);
                }
            }
            return Ok(());
        }
        if len > MAX_RUN {
            return Err(Error::unsupported(format!(
                "a run of {len} characters without a space that is not a plain attribute path (rnix's tokenizer takes quadratic time on it; add spaces)"
            ))
            .with_label("this run")
            .at(self.at(i)));
        }
        Ok(())
    }
}

fn is_name(seg: &[u8]) -> bool {
    seg.first().is_some_and(|&c| is_ident_start(c)) && seg.iter().all(|&c| is_ident(c))
}

fn is_uri(b: u8) -> bool {
    is_path(b)
        || matches!(
            b,
            b'%' | b'?' | b':' | b'@' | b'&' | b'=' | b'$' | b',' | b'!' | b'~' | b'*' | b'\''
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Prescanned {
        prescan(FileId(0), text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn refused(text: &str) -> bool {
        prescan(FileId(0), text).is_err()
    }

    #[test]
    fn ordinary_declarations_pass_unchanged() {
        let text = "{ lib, ... }: { services.secureMattermost = lib.mkIf true { settings.A.B = [ 1 2 3 ] ++ [ \"x${y}\" ]; a = ''\n  ${z}\n''; }; }";
        let p = ok(text);
        assert_eq!(p.text, text);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let n = 100_000;
        for text in [
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            format!("{}{}", "[".repeat(n), "]".repeat(n)),
            format!("{}true", "!".repeat(n)),
            format!("{}1", "- ".repeat(n)),
            format!("{}1", "f ".repeat(n)),
            vec!["1"; n].join(" + "),
            format!("{}x{}", "\"${".repeat(n), "}\"".repeat(n)),
        ] {
            assert!(refused(&text), "{}", &text[..40]);
        }
        let fine = format!("{}1{}", "[".repeat(400), "]".repeat(400));
        ok(&fine);
        let long_list = format!("[ {} ]", vec!["1"; 100_000].join(" "));
        ok(&long_list);
        let many_bindings = format!("{{ {} }}", "a = f x y; ".repeat(50_000));
        ok(&many_bindings);
    }

    #[test]
    fn long_attribute_paths_get_spaces_and_map_back() {
        let path: Vec<String> = (0..1000).map(|i| format!("a{i}")).collect();
        let text = format!("{{ {} = 1; }}", path.join("."));
        let p = ok(&text);
        assert_eq!(p.text.len(), text.len() + 999);
        assert_eq!(p.text.replace(" .", "."), text);
        // The `=` keeps its place in the user's file.
        let eq = u32::try_from(p.text.find('=').unwrap()).unwrap();
        assert_eq!(p.original(eq) as usize, text.find('=').unwrap());
        // Other long runs are refused.
        assert!(refused(&format!("{}1", "-".repeat(1000))));
        assert!(refused(&vec!["1"; 300].join("+")));
        // Inside strings nothing is split.
        let s = format!("\"{}\"", path.join("."));
        assert_eq!(ok(&s).text, s);
    }

    #[test]
    fn only_nix_whitespace_between_tokens() {
        for ws in ["\u{b}", "\u{c}", "\u{a0}", "\u{2028}", "\u{3000}", "\u{85}"] {
            assert!(refused(&format!("{{ a = 1;{ws}b = 2; }}")), "{ws:?}");
            // In strings and comments any character is fine.
            ok(&format!("{{ a = \"{ws}\"; b = ''{ws}''; }} # {ws}"));
            ok(&format!("/* {ws} */ 1"));
        }
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(refused("\"a\0b\""));
    }
}
