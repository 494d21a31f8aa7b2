//! Nix 2.8's reading of literals, where rnix's differs: strings (escapes,
//! CR normalisation, the indentation stripping of `''…''`) and numbers
//! (the float syntax and the range checks of its lexer).

/// A string's parts as rnix gives them (raw literal text) and as Nix means
/// them (the value's text).
pub(crate) enum Part<T> {
    Lit(String),
    Interp(T),
}

/// A `"…"` string: Nix's `unescapeStr` on each literal piece: `\n`, `\r`,
/// `\t`, any other escaped character stands for itself, and a literal CR or
/// CR LF in the source becomes LF.
pub(crate) fn quoted<T>(raw: Vec<Part<T>>) -> Vec<Part<T>> {
    raw.into_iter()
        .map(|p| match p {
            Part::Lit(s) => Part::Lit(unescape_quoted(&s)),
            other => other,
        })
        .collect()
}

fn unescape_quoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            '\r' => {
                out.push('\n');
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// One token of an indented string as Nix 2.8's lexer splits it: plain text
/// (whose leading spaces are indentation) or a piece that is not (an escape
/// `''\x`, `''$`, `'''`, or a lone `$` or `'`), or an interpolation.
enum Tok<T> {
    Text(String, bool),
    Interp(T),
}

/// A `''…''` string, as Nix 2.8's `stripIndentation`: the smallest
/// indentation of the lines is removed, where
/// - only spaces count (not tabs), and lines of only spaces do not count;
/// - an interpolation or an escape ends a line's indentation (so `''\ ` keeps
///   its space and `''\n` does not start a new line when measuring);
/// - but when stripping, escaped characters are text like any other: spaces
///   after a `''\n` are stripped as the indentation of a new line;
/// - the opening `''` swallows spaces and one newline after it, and a last
///   line of only spaces is dropped if the string ends with literal text.
pub(crate) fn indented<T>(raw: Vec<Part<T>>) -> Vec<Part<T>> {
    let mut toks: Vec<Tok<T>> = Vec::new();
    for (i, part) in raw.into_iter().enumerate() {
        match part {
            Part::Interp(e) => toks.push(Tok::Interp(e)),
            Part::Lit(s) => {
                let mut text = s.as_str();
                if i == 0 {
                    // The lexer's opening: `''` followed by ` *\n`.
                    if let Some(p) = text.find('\n') {
                        if text[..p].bytes().all(|b| b == b' ') {
                            text = &text[p + 1..];
                        }
                    }
                }
                lex_indented(text, &mut toks);
            }
        }
    }

    // The smallest indentation.
    let mut at_start = true;
    let mut min_indent = usize::MAX;
    let mut cur_indent = 0usize;
    for tok in &toks {
        match tok {
            Tok::Text(s, true) => {
                for c in s.chars() {
                    if at_start {
                        if c == ' ' {
                            cur_indent += 1;
                        } else if c == '\n' {
                            cur_indent = 0;
                        } else {
                            at_start = false;
                            min_indent = min_indent.min(cur_indent);
                        }
                    } else if c == '\n' {
                        at_start = true;
                        cur_indent = 0;
                    }
                }
            }
            _ => {
                if at_start {
                    at_start = false;
                    min_indent = min_indent.min(cur_indent);
                }
            }
        }
    }

    // Stripping it.
    let mut out = Vec::with_capacity(toks.len());
    let n = toks.len();
    at_start = true;
    let mut dropped = 0usize;
    for (i, tok) in toks.into_iter().enumerate() {
        match tok {
            Tok::Interp(e) => {
                at_start = false;
                dropped = 0;
                out.push(Part::Interp(e));
            }
            Tok::Text(s, _) => {
                let mut s2 = String::with_capacity(s.len());
                for c in s.chars() {
                    if at_start {
                        if c == ' ' {
                            if dropped >= min_indent {
                                s2.push(c);
                            }
                            dropped += 1;
                        } else if c == '\n' {
                            dropped = 0;
                            s2.push(c);
                        } else {
                            at_start = false;
                            dropped = 0;
                            s2.push(c);
                        }
                    } else {
                        s2.push(c);
                        if c == '\n' {
                            at_start = true;
                        }
                    }
                }
                if i + 1 == n {
                    if let Some(p) = s2.rfind('\n') {
                        if s2[p + 1..].bytes().all(|b| b == b' ') {
                            s2.truncate(p + 1);
                        }
                    }
                }
                out.push(Part::Lit(s2));
            }
        }
    }
    out
}

/// Splits one rnix literal of an indented string into Nix's tokens.
fn lex_indented<T>(raw: &str, toks: &mut Vec<Tok<T>>) {
    let chars: Vec<char> = raw.chars().collect();
    let mut text = String::new();
    let mut i = 0;
    let piece = |text: &mut String, toks: &mut Vec<Tok<T>>, s: String| {
        if !text.is_empty() {
            toks.push(Tok::Text(std::mem::take(text), true));
        }
        toks.push(Tok::Text(s, false));
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (c, next) {
            ('\'', Some('\'')) => match chars.get(i + 2).copied() {
                Some('$') => {
                    piece(&mut text, toks, "$".into());
                    i += 3;
                }
                Some('\'') => {
                    piece(&mut text, toks, "''".into());
                    i += 3;
                }
                Some('\\') => {
                    let escaped = match chars.get(i + 3).copied() {
                        Some('n') => "\n".to_string(),
                        Some('r') => "\r".to_string(),
                        Some('t') => "\t".to_string(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    piece(&mut text, toks, escaped);
                    i += 4;
                }
                // Not inside an rnix literal (it ends the string there).
                _ => {
                    text.push(c);
                    i += 1;
                }
            },
            // `'` pairs with the next character unless that is `$` (or the
            // literal ends, before an interpolation): then it stands alone.
            ('\'', Some('$') | None) | ('$', Some('\'') | None) => {
                piece(&mut text, toks, c.to_string());
                i += 1;
            }
            ('\'' | '$', Some(d)) => {
                text.push(c);
                text.push(d);
                i += 2;
            }
            _ => {
                text.push(c);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        toks.push(Tok::Text(text, true));
    }
}

/// Why Nix 2.8 would not read a number literal as rnix does.
#[derive(Debug, PartialEq)]
pub(crate) enum NumberError {
    /// Nix's lexer refuses it (`invalid float '…'` / `invalid integer '…'`).
    Invalid(String),
    /// Nix's lexer splits it into other tokens (`0.` is the integer 0 and a
    /// dot): refused rather than guessed.
    Lexed(String),
}

/// An integer literal: `[0-9]+` within the 64-bit range, as
/// `boost::lexical_cast<int64_t>`.
pub(crate) fn integer(text: &str) -> Result<i64, NumberError> {
    text.parse::<i64>()
        .map_err(|_| NumberError::Invalid(format!("invalid integer '{text}'")))
}

/// A float literal as Nix 2.8's lexer reads it: the syntax
/// `(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?`, converted by
/// `strtod` with any `ERANGE` refused: overflow to infinity, and underflow
/// (glibc on x86-64 signals it for a nonzero value that, rounded to 53 bits
/// with an unbounded exponent, is below the smallest normal double; zeros
/// are exact and fine).
pub(crate) fn float(text: &str) -> Result<f64, NumberError> {
    if !nix_float_syntax(text) {
        return Err(NumberError::Lexed(format!(
            "the number `{text}` (Nix reads a float only as `1.5`, `1.`, `.5` or `0.5`, optionally with an exponent, and splits this one into other tokens)"
        )));
    }
    let invalid = || NumberError::Invalid(format!("invalid float '{text}'"));
    let v: f64 = text.parse().map_err(|_| invalid())?;
    if !v.is_finite() {
        return Err(invalid());
    }
    let Some(decimal) = Decimal::of(text) else {
        return Ok(v); // an exact zero
    };
    let tiny = v.abs() < f64::MIN_POSITIVE
        || (v.abs() == f64::MIN_POSITIVE && decimal.less_than(TINY_DIGITS, TINY_EXP));
    if tiny {
        return Err(invalid());
    }
    Ok(v)
}

fn nix_float_syntax(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let i = match b.first() {
        Some(b'1'..=b'9') => {
            let i = digits(1);
            if b.get(i) != Some(&b'.') {
                return false;
            }
            digits(i + 1)
        }
        Some(b'0') if b.get(1) == Some(&b'.') => {
            let j = digits(2);
            if j == 2 {
                return false; // `0.` needs a digit after the dot
            }
            j
        }
        Some(b'.') => {
            let j = digits(1);
            if j == 1 {
                return false;
            }
            j
        }
        _ => return false,
    };
    if i == b.len() {
        return true;
    }
    if !matches!(b[i], b'e' | b'E') {
        return false;
    }
    let mut j = i + 1;
    if matches!(b.get(j), Some(b'+' | b'-')) {
        j += 1;
    }
    let k = digits(j);
    k > j && k == b.len()
}

/// Digits of 2^-1022 - 2^-1076 (the smallest normal double less a quarter of
/// the subnormal spacing), which is `0.DIGITS × 10^TINY_EXP`: a literal
/// below it underflows in glibc's `strtod` even though it rounds to the
/// smallest normal double.
const TINY_DIGITS: &str = "2225073858507201259573821257020768020077017763406988739288376763306013328417497570685406341460323054239108249322037716056011260300124027377191834796392769721437078990836532798904431849864732504110467273084696977812028716236556967935895657351868202788722494811530151317616366333296945953431369222190308053787694940411743707809822580740988880551617907119002148759401915892151482081924890263312702257321184750771861452224096212631698623638776860141838061165702263776640907648194435536054336373727978014593100678660492117516784908521511159767373323339191983221326853519128338784891913380715532840971003878993627240686726663397609149834349831344879676653469091559130189899114521124782380547341009775590676096291585949697743018930811385869272811532937339507043361663818359375";
const TINY_EXP: i64 = -307;

/// A nonzero decimal literal as `0.DIGITS × 10^exp` (no leading or trailing
/// zeros in DIGITS).
struct Decimal {
    digits: String,
    exp: i64,
}

impl Decimal {
    fn of(text: &str) -> Option<Decimal> {
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(p) => (&text[..p], &text[p + 1..]),
            None => (text, "0"),
        };
        // Exponents beyond i64 only arise with digits that make the value
        // zero or infinite, which the caller has already judged.
        let exp: i64 = exp.parse().unwrap_or(0);
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all: String = format!("{int}{frac}");
        let leading = all.bytes().take_while(|&b| b == b'0').count();
        let digits = all[leading..].trim_end_matches('0').to_string();
        if digits.is_empty() {
            return None;
        }
        let point = i64::try_from(int.len()).unwrap_or(i64::MAX);
        let lead = i64::try_from(leading).unwrap_or(i64::MAX);
        Some(Decimal {
            digits,
            exp: point.saturating_sub(lead).saturating_add(exp),
        })
    }

    fn less_than(&self, digits: &str, exp: i64) -> bool {
        if self.exp != exp {
            return self.exp < exp;
        }
        let (a, b) = (self.digits.as_bytes(), digits.as_bytes());
        for k in 0..a.len().max(b.len()) {
            let (x, y) = (a.get(k).copied().unwrap_or(b'0'), b.get(k).copied().unwrap_or(b'0'));
            if x != y {
                return x < y;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(raw: &str) -> String {
        indented::<()>(vec![Part::Lit(raw.to_string())])
            .into_iter()
            .map(|p| match p {
                Part::Lit(s) => s,
                Part::Interp(()) => "<i>".to_string(),
            })
            .collect()
    }

    #[test]
    fn indented_strings_strip_like_nix_2_8() {
        // Outputs recorded from nix-instantiate 2.8.
        assert_eq!(ind("\n    a\n  ''\\n    b\n"), "  a\n\n  b\n");
        assert_eq!(ind("\n    a\n  ''\\ b\n"), "  a\n b\n");
        assert_eq!(ind("\n    a\n  ''$b\n"), "  a\n$b\n");
        assert_eq!(ind("\n    a\n  '''b\n"), "  a\n''b\n");
        assert_eq!(ind("\n    a\n  $"), "  a\n$");
        assert_eq!(ind("\n  a\n    ''\\n"), "a\n  \n");
        assert_eq!(ind("\n  a\n  ''\\ "), "a\n ");
        assert_eq!(ind("\n  a\n  ''\\n  "), "a\n\n");
        assert_eq!(ind("\n  a\n  x'$y\n"), "a\nx'$y\n");
        assert_eq!(ind("\n  a\n  ''\\n  b\n"), "a\n\nb\n");
        assert_eq!(ind("\r\n  a\r\n  b\r\n"), "\r\n  a\r\n  b\r\n");
        assert_eq!(ind("\n\ta\n\tb\n"), "\ta\n\tb\n");
    }

    #[test]
    fn quoted_strings_normalise_cr() {
        assert_eq!(unescape_quoted("a\r\n\rb"), "a\n\nb");
        assert_eq!(unescape_quoted("\\\r\n"), "\r\n");
        assert_eq!(unescape_quoted("\\$\\n\\q"), "$\nq");
    }

    #[test]
    fn floats_are_read_like_nix_2_8() {
        assert_eq!(float("1.5"), Ok(1.5));
        assert_eq!(float("1."), Ok(1.0));
        assert_eq!(float(".5"), Ok(0.5));
        assert_eq!(float("0.0e-400"), Ok(0.0));
        assert_eq!(float("2.2250738585072014e-308"), Ok(f64::MIN_POSITIVE));
        assert_eq!(float("2.2250738585072013e-308"), Ok(f64::MIN_POSITIVE));
        assert_eq!(float("1.7976931348623158e308"), Ok(f64::MAX));
        for bad in [
            "1.0e400",
            "1.7976931348623159e308",
            "1.0e-400",
            "4.9e-324",
            "1.0e-308",
            "2.2250738585072012e-308",
            "2.225073858507201136e-308",
            "0.1e-320",
        ] {
            assert!(matches!(float(bad), Err(NumberError::Invalid(_))), "{bad}");
        }
        for lexed in ["0.", "0.e5", "00.5", "1e5"] {
            assert!(matches!(float(lexed), Err(NumberError::Lexed(_))), "{lexed}");
        }
        assert!(integer("9223372036854775807").is_ok());
        assert!(integer("9223372036854775808").is_err());
    }
}
