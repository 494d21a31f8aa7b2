//! Parsing (rnix) and lowering to [`super::ast`]: refuses what the evaluator
//! does not implement, merges nested attribute paths as Nix's parser does,
//! and reports undefined variables up front, as Nix does before evaluating.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rnix::ast::{self, AstToken, HasEntry, InterpolPart};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use super::ast::*;
use super::error::{Error, ErrorKind, Result};
use super::secrets::Secrets;
use super::literals::{self, NumberError, Part};
use super::prescan::{prescan, Prescanned, MAX_EXPR_DEPTH};
use super::source::{FileId, Span};

/// Deeper nesting is refused rather than risking the stack.
const MAX_DEPTH: u32 = 2_000;

pub(crate) struct Lowered {
    pub root: ExprRef,
    /// String literals to mask in snippets.
    pub sensitive: Vec<Range<usize>>,
}

/// Parses and lowers one file. `dir` resolves relative path literals.
pub(crate) fn lower_file(
    file: FileId,
    text: &str,
    dir: &Path,
    secrets: &Secrets,
) -> Result<Lowered> {
    let pre = prescan(file, text)?;
    let parse = rnix::Root::parse(&pre.text);
    if let Some(err) = parse.errors().first() {
        return Err(parse_error(file, &pre, &parse.syntax(), err));
    }
    let root = ast::Root::cast(parse.syntax()).and_then(|r| r.expr());
    let Some(expr) = root else {
        return Err(
            Error::new(ErrorKind::Parse, "the file holds no Nix expression").at(Some(Span {
                file,
                start: 0,
                end: 0,
            })),
        );
    };
    let mut lower = Lower {
        file,
        pre: &pre,
        dir: dir.to_path_buf(),
        depth: 0,
        secrets,
        key_path: Vec::new(),
        sensitive: Vec::new(),
    };
    let root = lower.expr(expr)?;
    check_scopes(&root)?;
    Ok(Lowered {
        root,
        sensitive: lower.sensitive,
    })
}

/// A span of the parsed text, in the user's file.
fn user_span(file: FileId, pre: &Prescanned, range: rnix::TextRange) -> Span {
    Span {
        file,
        start: pre.original(range.start().into()),
        end: pre.original(range.end().into()),
    }
}

fn parse_error(file: FileId, pre: &Prescanned, tree: &SyntaxNode, err: &rnix::ParseError) -> Error {
    use rnix::ParseError as P;
    let end = pre.original(u32::try_from(pre.text.len()).unwrap_or(u32::MAX));
    let at_end = Span {
        file,
        start: end,
        end,
    };
    // rnix's own messages carry offsets into the text it parsed; the
    // diagnostic's location says where instead.
    let (message, range) = match err {
        P::Unexpected(r) => ("unexpected input".to_string(), Some(*r)),
        P::UnexpectedExtra(r) => ("unexpected input after the expression".to_string(), Some(*r)),
        P::UnexpectedWanted(got, r, wanted) => (
            format!("unexpected {got:?}, wanted any of {wanted:?}"),
            Some(*r),
        ),
        P::UnexpectedDoubleBind(r) => ("the pattern is bound twice".to_string(), Some(*r)),
        P::DuplicatedArgs(r, name) => (format!("argument `{name}` is duplicated"), Some(*r)),
        P::UnexpectedEOF => ("unexpected end of file".to_string(), None),
        P::UnexpectedEOFWanted(wanted) => {
            (format!("unexpected end of file, wanted any of {wanted:?}"), None)
        }
        P::RecursionLimitExceeded => {
            // rnix gives up where the nesting got too deep and wraps the rest
            // of the file in an error node: point at its start.
            let at = tree
                .descendants()
                .find(|n| n.kind() == SyntaxKind::NODE_ERROR)
                .map(|n| user_span(file, pre, n.text_range()));
            return Error::unsupported(format!(
                "an expression nested more than {MAX_EXPR_DEPTH} levels deep"
            ))
            .with_label("nested too deeply here")
            .at(Some(at.map_or(at_end, |s| Span { end: s.start, ..s })));
        }
        _ => ("unexpected input".to_string(), None),
    };
    let span = range.map_or(at_end, |r| user_span(file, pre, r));
    Error::new(ErrorKind::Parse, format!("syntax error: {message}"))
        .with_label("here")
        .at(Some(span))
}

/// Names bound in every Nix scope (the rest of `builtins` is `__name`).
pub(crate) const GLOBALS: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "builtins",
    "derivation",
    "derivationStrict",
    "dirOf",
    "false",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "null",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
    "true",
];

struct Lower<'a> {
    file: FileId,
    pre: &'a Prescanned,
    dir: PathBuf,
    depth: u32,
    secrets: &'a Secrets,
    /// Attribute names leading to the binding being lowered (for masking).
    key_path: Vec<String>,
    sensitive: Vec<Range<usize>>,
}

impl Lower<'_> {
    fn span(&self, node: &SyntaxNode) -> Span {
        user_span(self.file, self.pre, node.text_range())
    }

    fn unsupported(&self, node: &SyntaxNode, what: &str) -> Error {
        Error::unsupported(what).at(Some(self.span(node)))
    }

    fn mk(&self, node: &SyntaxNode, kind: ExprKind) -> ExprRef {
        Rc::new(Expr {
            span: self.span(node),
            kind,
        })
    }

    fn missing(&self, node: &SyntaxNode) -> Error {
        Error::new(ErrorKind::Parse, "syntax error: incomplete expression")
            .with_label("here")
            .at(Some(self.span(node)))
    }

    fn expr(&mut self, expr: ast::Expr) -> Result<ExprRef> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self.unsupported(expr.syntax(), "nesting this deep"));
        }
        let out = self.expr_inner(expr);
        self.depth -= 1;
        out
    }

    fn sub(&mut self, node: &SyntaxNode, expr: Option<ast::Expr>) -> Result<ExprRef> {
        match expr {
            Some(e) => self.expr(e),
            None => Err(self.missing(node)),
        }
    }

    fn expr_inner(&mut self, expr: ast::Expr) -> Result<ExprRef> {
        let node = expr.syntax().clone();
        let kind = match expr {
            ast::Expr::Apply(a) => ExprKind::Apply {
                func: self.sub(&node, a.lambda())?,
                arg: self.sub(&node, a.argument())?,
            },
            ast::Expr::Assert(_) => return Err(self.unsupported(&node, "`assert`")),
            ast::Expr::Error(_) => return Err(self.missing(&node)),
            ast::Expr::IfElse(i) => ExprKind::If {
                cond: self.sub(&node, i.condition())?,
                then: self.sub(&node, i.body())?,
                els: self.sub(&node, i.else_body())?,
            },
            ast::Expr::Select(s) => ExprKind::Select {
                target: self.sub(&node, s.expr())?,
                path: self.attrpath(&node, s.attrpath())?,
                default: match s.default_expr() {
                    Some(d) => Some(self.expr(d)?),
                    None => None,
                },
            },
            ast::Expr::Str(s) => ExprKind::Str(self.string(&s)?),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) => {
                ExprKind::Path(Rc::new(self.path(&node)?))
            }
            ast::Expr::PathHome(_) => return Err(self.unsupported(&node, "a `~/…` path")),
            ast::Expr::PathSearch(_) => return Err(self.unsupported(&node, "a `<…>` search path")),
            ast::Expr::Literal(l) => self.literal(&node, &l)?,
            ast::Expr::Lambda(l) => ExprKind::Lambda(Rc::new(self.lambda(&node, &l)?)),
            ast::Expr::LegacyLet(_) => {
                return Err(self.unsupported(&node, "the legacy `let { … }` form"))
            }
            ast::Expr::LetIn(l) => {
                let binds = self.bindings(&node, &l, false)?;
                if !binds.dynamics.is_empty() {
                    return Err(Error::eval("dynamic attributes are not allowed in `let`")
                        .at(Some(self.span(&node))));
                }
                ExprKind::Let {
                    binds: Rc::new(binds),
                    body: self.sub(&node, l.body())?,
                }
            }
            ast::Expr::List(l) => {
                let mut items = Vec::new();
                for item in l.items() {
                    items.push(self.expr(item)?);
                }
                ExprKind::List(items)
            }
            ast::Expr::BinOp(b) => {
                let op = match b.operator() {
                    Some(ast::BinOpKind::Concat) => BinOp::Concat,
                    Some(ast::BinOpKind::Update) => BinOp::Update,
                    Some(ast::BinOpKind::Add) => BinOp::Add,
                    Some(ast::BinOpKind::Sub) => BinOp::Sub,
                    Some(ast::BinOpKind::Mul) => BinOp::Mul,
                    Some(ast::BinOpKind::Div) => BinOp::Div,
                    Some(ast::BinOpKind::And) => BinOp::And,
                    Some(ast::BinOpKind::Or) => BinOp::Or,
                    Some(ast::BinOpKind::Implication) => BinOp::Implication,
                    Some(ast::BinOpKind::Equal) => BinOp::Eq,
                    Some(ast::BinOpKind::NotEqual) => BinOp::NotEq,
                    Some(ast::BinOpKind::Less) => BinOp::Less,
                    Some(ast::BinOpKind::LessOrEq) => BinOp::LessOrEq,
                    Some(ast::BinOpKind::More) => BinOp::More,
                    Some(ast::BinOpKind::MoreOrEq) => BinOp::MoreOrEq,
                    Some(ast::BinOpKind::PipeLeft | ast::BinOpKind::PipeRight) => {
                        return Err(self.unsupported(&node, "the pipe operators `|>`/`<|`"))
                    }
                    None => return Err(self.missing(&node)),
                };
                ExprKind::Binary {
                    op,
                    lhs: self.sub(&node, b.lhs())?,
                    rhs: self.sub(&node, b.rhs())?,
                }
            }
            ast::Expr::Paren(p) => return self.sub(&node, p.expr()),
            ast::Expr::Root(r) => return self.sub(&node, r.expr()),
            ast::Expr::AttrSet(set) => {
                let rec = set.rec_token().is_some();
                ExprKind::Attrs {
                    rec,
                    binds: Rc::new(self.bindings(&node, &set, rec)?),
                }
            }
            ast::Expr::UnaryOp(u) => {
                let inner = self.sub(&node, u.expr())?;
                match u.operator() {
                    Some(ast::UnaryOpKind::Invert) => ExprKind::Not(inner),
                    Some(ast::UnaryOpKind::Negate) => ExprKind::Negate(inner),
                    None => return Err(self.missing(&node)),
                }
            }
            ast::Expr::Ident(i) => match i.ident_token() {
                Some(t) => ExprKind::Var(Rc::from(t.text())),
                None => return Err(self.missing(&node)),
            },
            ast::Expr::With(w) => ExprKind::With {
                namespace: self.sub(&node, w.namespace())?,
                body: self.sub(&node, w.body())?,
            },
            ast::Expr::HasAttr(h) => ExprKind::HasAttr {
                target: self.sub(&node, h.expr())?,
                path: self.attrpath(&node, h.attrpath())?,
            },
            ast::Expr::CurPos(_) => return Err(self.unsupported(&node, "`__curPos`")),
        };
        Ok(self.mk(&node, kind))
    }

    fn literal(&mut self, node: &SyntaxNode, lit: &ast::Literal) -> Result<ExprKind> {
        let token = node.first_token().ok_or_else(|| self.missing(node))?;
        let text = token.text();
        let number = |r: std::result::Result<ExprKind, NumberError>| {
            r.map_err(|e| match e {
                NumberError::Invalid(message) => Error::new(ErrorKind::Parse, message)
                    .with_label("out of range")
                    .at(Some(self.span(node))),
                NumberError::Lexed(what) => Error::unsupported(what).at(Some(self.span(node))),
            })
        };
        match token.kind() {
            SyntaxKind::TOKEN_INTEGER => number(literals::integer(text).map(ExprKind::Int)),
            SyntaxKind::TOKEN_FLOAT => number(literals::float(text).map(ExprKind::Float)),
            // An unquoted URI is a string in Nix.
            SyntaxKind::TOKEN_URI => Ok(ExprKind::Str(vec![StrPart::Lit(text.to_string())])),
            _ => {
                let _ = lit;
                Err(self.missing(node))
            }
        }
    }

    fn string(&mut self, s: &ast::Str) -> Result<Vec<StrPart>> {
        let indented = s
            .syntax()
            .first_token()
            .is_some_and(|t| t.text() == "''");
        let mut raw = Vec::new();
        for part in s.parts() {
            raw.push(match part {
                InterpolPart::Literal(text) => Part::Lit(text.syntax().text().to_string()),
                InterpolPart::Interpolation(i) => Part::Interp(self.sub(i.syntax(), i.expr())?),
            });
        }
        let cooked = if indented {
            literals::indented(raw)
        } else {
            literals::quoted(raw)
        };
        let mut parts = Vec::with_capacity(cooked.len());
        let mut literal = String::new();
        let mut constant = true;
        for part in cooked {
            match part {
                Part::Lit(text) => {
                    literal.push_str(&text);
                    match parts.last_mut() {
                        Some(StrPart::Lit(prev)) => prev.push_str(&text),
                        _ => parts.push(StrPart::Lit(text)),
                    }
                }
                Part::Interp(e) => {
                    constant = false;
                    parts.push(StrPart::Interp(e));
                }
            }
        }
        let span = self.span(s.syntax());
        let range = span.start as usize..span.end as usize;
        let secret_key = self.secrets.is_secret_binding(&self.key_path);
        if secret_key || (constant && self.secrets.looks_like_credential(&literal)) {
            self.sensitive.push(range);
        }
        Ok(parts)
    }

    fn path(&self, node: &SyntaxNode) -> Result<PathBuf> {
        let mut text = String::new();
        for child in node.children_with_tokens() {
            match child {
                rowan::NodeOrToken::Token(t) => text.push_str(t.text()),
                rowan::NodeOrToken::Node(_) => {
                    return Err(self.unsupported(node, "an interpolated path"))
                }
            }
        }
        let raw = if text.starts_with('/') {
            PathBuf::from(&text)
        } else {
            self.dir.join(&text)
        };
        Ok(canonicalize_lexically(&raw))
    }

    fn lambda(&mut self, node: &SyntaxNode, l: &ast::Lambda) -> Result<Lambda> {
        let param = match l.param() {
            Some(ast::Param::IdentParam(p)) => {
                let name = p
                    .ident()
                    .and_then(|i| i.ident_token())
                    .ok_or_else(|| self.missing(node))?;
                Param::Ident(Rc::from(name.text()))
            }
            Some(ast::Param::Pattern(p)) => {
                let mut entries = Vec::new();
                for entry in p.pat_entries() {
                    let name = entry
                        .ident()
                        .and_then(|i| i.ident_token())
                        .ok_or_else(|| self.missing(node))?;
                    let default = match entry.default() {
                        Some(d) => Some(self.expr(d)?),
                        None => None,
                    };
                    entries.push((Rc::from(name.text()), default, self.span(entry.syntax())));
                }
                let bind = match p.pat_bind() {
                    Some(b) => Some(Rc::from(
                        b.ident()
                            .and_then(|i| i.ident_token())
                            .ok_or_else(|| self.missing(node))?
                            .text(),
                    )),
                    None => None,
                };
                Param::Pattern {
                    entries,
                    ellipsis: p.ellipsis_token().is_some(),
                    bind,
                }
            }
            None => return Err(self.missing(node)),
        };
        let saved = std::mem::take(&mut self.key_path);
        let body = self.sub(node, l.body());
        self.key_path = saved;
        Ok(Lambda { param, body: body? })
    }

    fn attrpath(&mut self, node: &SyntaxNode, path: Option<ast::Attrpath>) -> Result<Vec<AttrKey>> {
        let path = path.ok_or_else(|| self.missing(node))?;
        let mut keys = Vec::new();
        for attr in path.attrs() {
            keys.push(self.attr_key(&attr)?);
        }
        if keys.is_empty() {
            return Err(self.missing(node));
        }
        Ok(keys)
    }

    fn attr_key(&mut self, attr: &ast::Attr) -> Result<AttrKey> {
        let node = attr.syntax().clone();
        let span = self.span(&node);
        match attr {
            ast::Attr::Ident(i) => {
                let t = i.ident_token().ok_or_else(|| self.missing(&node))?;
                Ok(AttrKey::Static(Rc::from(t.text()), span))
            }
            ast::Attr::Str(s) => {
                let parts = self.string(s)?;
                Ok(static_or_dynamic(
                    self.mk(&node, ExprKind::Str(parts)),
                    span,
                ))
            }
            ast::Attr::Dynamic(d) => {
                let inner = self.sub(&node, d.expr())?;
                Ok(static_or_dynamic(inner, span))
            }
        }
    }

    fn bindings(&mut self, node: &SyntaxNode, set: &impl HasEntry, rec: bool) -> Result<Bindings> {
        let mut binds = Bindings::default();
        for entry in set.entries() {
            match entry {
                ast::Entry::Inherit(inh) => self.inherit(&mut binds, &inh)?,
                ast::Entry::AttrpathValue(apv) => {
                    let apv_node = apv.syntax().clone();
                    let keys = self.attrpath(&apv_node, apv.attrpath())?;
                    let statics: Vec<String> = keys
                        .iter()
                        .map(|k| match k {
                            AttrKey::Static(n, _) => n.to_string(),
                            AttrKey::Dynamic(_) => String::new(),
                        })
                        .collect();
                    let depth = self.key_path.len();
                    self.key_path.extend(statics);
                    // The set holding the last name sits this deep in the
                    // file; `services.secureMattermost = { … }` is level 2 of
                    // the document (one less with a `config.` prefix). Deeper
                    // than the document's limit even so: refused here, before
                    // anything recurses through it (the document itself is
                    // checked exactly when it is built).
                    if self.key_path.len() > crate::limits::MAX_NESTING + 2 {
                        let prefix = self.key_path[..=crate::limits::MAX_NESTING].to_vec();
                        self.key_path.truncate(depth);
                        return Err(Error::too_deep(&prefix).at(Some(self.span(&apv_node))));
                    }
                    let value = self.bind_value(&apv_node, apv.value());
                    self.key_path.truncate(depth);
                    let value = value?;
                    self.insert(&mut binds, &keys, value, self.span(&apv_node))?;
                }
            }
        }
        let _ = (node, rec);
        Ok(binds)
    }

    /// A binding's value; plain attribute-set literals become `Nested` so
    /// that later paths into them merge as in Nix.
    fn bind_value(&mut self, node: &SyntaxNode, value: Option<ast::Expr>) -> Result<BindValue> {
        let value = value.ok_or_else(|| self.missing(node))?;
        if let ast::Expr::AttrSet(set) = &value {
            if set.rec_token().is_none() {
                let span = self.span(set.syntax());
                self.depth += 1;
                let binds = if self.depth > MAX_DEPTH {
                    Err(self.unsupported(set.syntax(), "nesting this deep"))
                } else {
                    self.bindings(set.syntax(), set, false)
                };
                self.depth -= 1;
                return Ok(BindValue::Nested(span, Rc::new(binds?)));
            }
        }
        Ok(BindValue::Expr(self.expr(value)?))
    }

    fn inherit(&mut self, binds: &mut Bindings, inh: &ast::Inherit) -> Result<()> {
        let node = inh.syntax().clone();
        let from = match inh.from() {
            Some(f) => Some(self.sub(f.syntax(), f.expr())?),
            None => None,
        };
        for attr in inh.attrs() {
            let key = self.attr_key(&attr)?;
            let AttrKey::Static(name, span) = key else {
                return Err(
                    Error::eval("dynamic attributes are not allowed in `inherit`")
                        .at(Some(self.span(&node))),
                );
            };
            let value = match &from {
                Some(f) => BindValue::InheritFrom(f.clone()),
                None => BindValue::Inherit,
            };
            self.insert(binds, &[AttrKey::Static(name, span)], value, span)?;
        }
        Ok(())
    }

    fn insert(
        &self,
        binds: &mut Bindings,
        keys: &[AttrKey],
        value: BindValue,
        whole: Span,
    ) -> Result<()> {
        let Some((first, rest)) = keys.split_first() else {
            return Ok(());
        };
        match first {
            AttrKey::Dynamic(key) => {
                let key_span = key.span;
                if rest.is_empty() {
                    binds.dynamics.push(DynamicBinding {
                        key: key.clone(),
                        key_span,
                        value,
                    });
                } else {
                    let mut nested = Bindings::default();
                    self.insert(&mut nested, rest, value, whole)?;
                    binds.dynamics.push(DynamicBinding {
                        key: key.clone(),
                        key_span,
                        value: BindValue::Nested(whole, Rc::new(nested)),
                    });
                }
                Ok(())
            }
            AttrKey::Static(name, key_span) => {
                let pos = binds
                    .statics
                    .binary_search_by(|(n, _)| n.as_ref().cmp(name.as_ref()));
                match pos {
                    Err(at) => {
                        let value = if rest.is_empty() {
                            value
                        } else {
                            let mut nested = Bindings::default();
                            self.insert(&mut nested, rest, value, whole)?;
                            BindValue::Nested(whole, Rc::new(nested))
                        };
                        binds.statics.insert(
                            at,
                            (
                                name.clone(),
                                Binding {
                                    key_span: *key_span,
                                    value,
                                },
                            ),
                        );
                        Ok(())
                    }
                    Ok(at) => {
                        let existing = &mut binds.statics[at].1;
                        if is_rec_set(&existing.value) || is_rec_set(&value) {
                            // Nix merges these, with odd results for `rec`.
                            return Err(Error::unsupported(
                                "merging attribute paths into a `rec` set",
                            )
                            .at(Some(*key_span)));
                        }
                        let BindValue::Nested(_, inner) = &mut existing.value else {
                            return Err(already_defined(name, *key_span));
                        };
                        // Not shared yet while lowering, so this does not copy.
                        let inner = Rc::make_mut(inner);
                        if !rest.is_empty() {
                            return self.insert(inner, rest, value, whole);
                        }
                        // `a = { … };` meeting `a.x = …;` (either order): the
                        // attributes are merged one level deep, as Nix does.
                        let BindValue::Nested(_, new) = value else {
                            return Err(already_defined(name, *key_span));
                        };
                        if !new.dynamics.is_empty() {
                            return Err(Error::unsupported(
                                "merging an attribute set that has dynamic attributes into another",
                            )
                            .at(Some(*key_span)));
                        }
                        let new = Rc::try_unwrap(new).unwrap_or_else(|shared| (*shared).clone());
                        for (n, b) in new.statics {
                            if inner.statics.iter().any(|(m, _)| *m == n) {
                                return Err(already_defined(&n, b.key_span));
                            }
                            let at = inner
                                .statics
                                .binary_search_by(|(m, _)| m.as_ref().cmp(n.as_ref()))
                                .unwrap_or_else(|i| i);
                            inner.statics.insert(at, (n, b));
                        }
                        Ok(())
                    }
                }
            }
        }
    }
}

fn is_rec_set(v: &BindValue) -> bool {
    matches!(v, BindValue::Expr(e) if matches!(e.kind, ExprKind::Attrs { rec: true, .. }))
}

fn already_defined(name: &str, span: Span) -> Error {
    Error::new(
        ErrorKind::Parse,
        format!("attribute '{name}' already defined"),
    )
    .with_label("defined again here")
    .at(Some(span))
}

/// `"${"x"}"` and `"x"` name attributes statically, as in Nix.
fn static_or_dynamic(expr: ExprRef, span: Span) -> AttrKey {
    if let ExprKind::Str(parts) = &expr.kind {
        if parts.iter().all(|p| matches!(p, StrPart::Lit(_))) {
            let name: String = parts
                .iter()
                .map(|p| match p {
                    StrPart::Lit(s) => s.as_str(),
                    StrPart::Interp(_) => "",
                })
                .collect();
            return AttrKey::Static(Rc::from(name), span);
        }
    }
    AttrKey::Dynamic(expr)
}

/// Like Nix's path literals: absolute, `.` and `..` resolved without
/// touching the file system.
pub(crate) fn canonicalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Nix reports an undefined variable before evaluating anything, even in a
/// branch that is never taken; so do we. Under `with` a name may come from
/// the namespace, which only evaluation can tell.
fn check_scopes(root: &ExprRef) -> Result<()> {
    let mut scopes: Vec<HashSet<Rc<str>>> = Vec::new();
    walk_scopes(root, &mut scopes, 0)
}

fn walk_scopes(e: &ExprRef, scopes: &mut Vec<HashSet<Rc<str>>>, withs: u32) -> Result<()> {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Path(_) => Ok(()),
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Interp(x) = p {
                    walk_scopes(x, scopes, withs)?;
                }
            }
            Ok(())
        }
        ExprKind::Var(name) => {
            let bound = scopes.iter().any(|s| s.contains(name));
            let global = GLOBALS.contains(&name.as_ref()) || name.starts_with("__");
            if bound || global || withs > 0 {
                Ok(())
            } else {
                Err(Error::eval(format!("undefined variable '{name}'"))
                    .with_label("undefined variable")
                    .at(Some(e.span)))
            }
        }
        ExprKind::Select {
            target,
            path,
            default,
        } => {
            walk_scopes(target, scopes, withs)?;
            walk_keys(path, scopes, withs)?;
            if let Some(d) = default {
                walk_scopes(d, scopes, withs)?;
            }
            Ok(())
        }
        ExprKind::HasAttr { target, path } => {
            walk_scopes(target, scopes, withs)?;
            walk_keys(path, scopes, withs)
        }
        ExprKind::List(items) => items.iter().try_for_each(|i| walk_scopes(i, scopes, withs)),
        ExprKind::Attrs { rec, binds } => {
            if *rec {
                scopes.push(binds.statics.iter().map(|(n, _)| n.clone()).collect());
                // `inherit x;` in a rec set reads the enclosing scope.
                let r = walk_binds(binds, scopes, withs, true);
                scopes.pop();
                r
            } else {
                walk_binds(binds, scopes, withs, false)
            }
        }
        ExprKind::Let { binds, body } => {
            scopes.push(binds.statics.iter().map(|(n, _)| n.clone()).collect());
            let r = walk_binds(binds, scopes, withs, true)
                .and_then(|_| walk_scopes(body, scopes, withs));
            scopes.pop();
            r
        }
        ExprKind::With { namespace, body } => {
            walk_scopes(namespace, scopes, withs)?;
            walk_scopes(body, scopes, withs + 1)
        }
        ExprKind::If { cond, then, els } => {
            walk_scopes(cond, scopes, withs)?;
            walk_scopes(then, scopes, withs)?;
            walk_scopes(els, scopes, withs)
        }
        ExprKind::Lambda(l) => {
            let mut names: HashSet<Rc<str>> = HashSet::new();
            match &l.param {
                Param::Ident(n) => {
                    names.insert(n.clone());
                }
                Param::Pattern { entries, bind, .. } => {
                    names.extend(entries.iter().map(|(n, _, _)| n.clone()));
                    names.extend(bind.iter().cloned());
                }
            }
            scopes.push(names);
            let mut r = Ok(());
            if let Param::Pattern { entries, .. } = &l.param {
                for (_, d, _) in entries {
                    if let Some(d) = d {
                        r = r.and_then(|_| walk_scopes(d, scopes, withs));
                    }
                }
            }
            let r = r.and_then(|_| walk_scopes(&l.body, scopes, withs));
            scopes.pop();
            r
        }
        ExprKind::Apply { func, arg } => {
            walk_scopes(func, scopes, withs)?;
            walk_scopes(arg, scopes, withs)
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            walk_scopes(lhs, scopes, withs)?;
            walk_scopes(rhs, scopes, withs)
        }
        ExprKind::Not(x) | ExprKind::Negate(x) => walk_scopes(x, scopes, withs),
    }
}

fn walk_keys(path: &[AttrKey], scopes: &mut Vec<HashSet<Rc<str>>>, withs: u32) -> Result<()> {
    for k in path {
        if let AttrKey::Dynamic(x) = k {
            walk_scopes(x, scopes, withs)?;
        }
    }
    Ok(())
}

/// `inherit_outside`: plain `inherit x;` reads the scope outside the one the
/// bindings open (let / rec); check it there.
fn walk_binds(
    binds: &Bindings,
    scopes: &mut Vec<HashSet<Rc<str>>>,
    withs: u32,
    inherit_outside: bool,
) -> Result<()> {
    for (name, b) in &binds.statics {
        walk_bind_value(name, &b.value, b.key_span, scopes, withs, inherit_outside)?;
    }
    for d in &binds.dynamics {
        walk_scopes(&d.key, scopes, withs)?;
        walk_bind_value("", &d.value, d.key_span, scopes, withs, inherit_outside)?;
    }
    Ok(())
}

fn walk_bind_value(
    name: &str,
    value: &BindValue,
    span: Span,
    scopes: &mut Vec<HashSet<Rc<str>>>,
    withs: u32,
    inherit_outside: bool,
) -> Result<()> {
    match value {
        BindValue::Expr(e) | BindValue::InheritFrom(e) => walk_scopes(e, scopes, withs),
        BindValue::Nested(_, inner) => walk_binds(inner, scopes, withs, false),
        BindValue::Inherit => {
            let visible = if inherit_outside {
                &scopes[..scopes.len().saturating_sub(1)]
            } else {
                &scopes[..]
            };
            let bound = visible.iter().any(|s| s.contains(name));
            let global = GLOBALS.contains(&name) || name.starts_with("__");
            if bound || global || withs > 0 {
                Ok(())
            } else {
                Err(Error::eval(format!("undefined variable '{name}'"))
                    .with_label("undefined variable")
                    .at(Some(span)))
            }
        }
    }
}
