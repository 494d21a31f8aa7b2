//! The interpreter: lazy evaluation of the lowered subset of Nix.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use super::ast::*;
use super::error::{io_message, Error, ErrorKind, Result};
use super::lower::canonicalize_lexically;
use super::modules::ModuleSystem;
use super::prims;
use super::schema::Schema;
use super::secrets::Secrets;
use super::source::{ReadError, SourceMap, Span};
use super::value::*;

/// Deeper evaluation is refused rather than risking the stack.
const MAX_DEPTH: u32 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScopeId(usize);

enum ScopeKind {
    Vars(HashMap<Rc<str>, Thunk>),
    With(Thunk),
}

struct Scope {
    parent: Option<ScopeId>,
    kind: ScopeKind,
}

pub(crate) struct Eval {
    pub sources: SourceMap,
    pub secrets: &'static Secrets,
    pub schema: &'static Schema,
    /// Scopes live as long as the evaluation; thunks refer to them by index,
    /// which keeps closures free of reference cycles.
    scopes: Vec<Scope>,
    pub systems: Vec<Rc<ModuleSystem>>,
    /// Each file is evaluated once, as Nix's `import` caches.
    pub files: HashMap<PathBuf, Thunk>,
    global: ScopeId,
    depth: u32,
}

impl Eval {
    pub fn new(secrets: &'static Secrets, schema: &'static Schema) -> Eval {
        let mut eval = Eval {
            sources: SourceMap::default(),
            secrets,
            schema,
            scopes: Vec::new(),
            systems: Vec::new(),
            files: HashMap::new(),
            global: ScopeId(0),
            depth: 0,
        };
        let globals = prims::globals(&eval);
        eval.scopes.push(Scope {
            parent: None,
            kind: ScopeKind::Vars(globals),
        });
        eval
    }

    fn push_scope(&mut self, parent: ScopeId, kind: ScopeKind) -> ScopeId {
        self.scopes.push(Scope {
            parent: Some(parent),
            kind,
        });
        ScopeId(self.scopes.len() - 1)
    }

    /// Runs `f` one level deeper, refusing past the depth limit: for every
    /// recursion that follows a value's structure (properties, equality)
    /// rather than an expression's.
    pub(crate) fn nested<T>(
        &mut self,
        span: Option<Span>,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.enter(span)?;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn enter(&mut self, span: Option<Span>) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(Error::eval("evaluation nested too deeply (infinite recursion?)").at(span));
        }
        Ok(())
    }

    /// Forces a thunk to a value (weak head normal form).
    pub fn force(&mut self, thunk: &Thunk) -> Result<Value> {
        if let Some(v) = thunk.done() {
            return Ok(v);
        }
        let state = thunk.take();
        let result = match &state {
            State::Done(v) => Ok(v.clone()),
            State::Forcing => {
                return Err(Error::eval("infinite recursion encountered")
                    .with_label("this value depends on itself")
                    .at(thunk.span()))
            }
            State::Pending(expr, scope) => {
                let (expr, scope) = (expr.clone(), *scope);
                self.eval(&expr, scope)
            }
            State::Native(f) => {
                let f = f.clone();
                self.enter(thunk.span()).and_then(|_| {
                    let r = f(self).and_then(|inner| {
                        thunk.set_span_if_none(inner.span());
                        self.force(&inner)
                    });
                    self.depth -= 1;
                    r
                })
            }
        };
        match result {
            Ok(v) => {
                thunk.put(State::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                // Like Nix, a failed thunk fails again when forced again.
                thunk.put(state);
                Err(e.at(thunk.span()))
            }
        }
    }

    pub fn eval(&mut self, expr: &ExprRef, scope: ScopeId) -> Result<Value> {
        self.enter(Some(expr.span))?;
        let r = self
            .eval_inner(expr, scope)
            .map_err(|e| e.at(Some(expr.span)));
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, expr: &ExprRef, scope: ScopeId) -> Result<Value> {
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Path(p) => Ok(Value::Path(p.clone())),
            ExprKind::Str(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        StrPart::Lit(s) => out.push_str(s),
                        StrPart::Interp(e) => {
                            let v = self.eval(e, scope)?;
                            out.push_str(
                                &self
                                    .coerce_interpolated(&v)
                                    .map_err(|err| err.at(Some(e.span)))?,
                            );
                        }
                    }
                }
                Ok(Value::Str(Rc::from(out)))
            }
            ExprKind::Var(name) => {
                let t = self.lookup(scope, name, expr.span)?;
                self.force(&t)
            }
            ExprKind::Select {
                target,
                path,
                default,
            } => {
                let mut v = self.eval(target, scope)?;
                for key in path {
                    let name = self.attr_name(key, scope)?;
                    let found = match &v {
                        Value::Attrs(a) => match a.get(&name) {
                            Some(t) => Some(t.clone()),
                            None => {
                                if let Some(ns) = a.namespace {
                                    if default.is_none() || self.known_in(ns, &name) {
                                        return Err(self
                                            .namespace_missing(ns, &name)
                                            .at(Some(key_span(key))));
                                    }
                                }
                                None
                            }
                        },
                        _ => None,
                    };
                    match found {
                        Some(t) => v = self.force(&t)?,
                        None => {
                            if let Some(d) = default {
                                return self.eval(d, scope);
                            }
                            return Err(match &v {
                                Value::Attrs(_) => {
                                    Error::eval(format!("attribute '{name}' missing"))
                                        .with_label("attribute missing")
                                        .at(Some(key_span(key)))
                                }
                                other => Error::eval(format!(
                                    "value is {} while a set was expected (selecting '{name}')",
                                    other.describe()
                                )),
                            });
                        }
                    }
                }
                Ok(v)
            }
            ExprKind::HasAttr { target, path } => {
                let mut v = self.eval(target, scope)?;
                for key in path {
                    let name = self.attr_name(key, scope)?;
                    let next = match &v {
                        Value::Attrs(a) => match a.get(&name) {
                            Some(t) => t.clone(),
                            None => {
                                if let Some(ns) = a.namespace {
                                    if self.known_in(ns, &name) {
                                        return Err(self
                                            .namespace_missing(ns, &name)
                                            .at(Some(key_span(key))));
                                    }
                                }
                                return Ok(Value::Bool(false));
                            }
                        },
                        _ => return Ok(Value::Bool(false)),
                    };
                    v = self.force(&next)?;
                }
                Ok(Value::Bool(true))
            }
            ExprKind::List(items) => Ok(Value::List(Rc::new(
                items
                    .iter()
                    .map(|i| Thunk::pending(i.clone(), scope))
                    .collect(),
            ))),
            ExprKind::Attrs { rec, binds } => {
                if *rec {
                    let inner = self.bind_scope(binds, scope)?;
                    self.build_attrs(binds, inner, Some(inner))
                } else {
                    self.build_attrs(binds, scope, None)
                }
            }
            ExprKind::Let { binds, body } => {
                let inner = self.bind_scope(binds, scope)?;
                self.eval(body, inner)
            }
            ExprKind::With { namespace, body } => {
                let ns = Thunk::pending(namespace.clone(), scope);
                let inner = self.push_scope(scope, ScopeKind::With(ns));
                self.eval(body, inner)
            }
            ExprKind::If { cond, then, els } => {
                if self.eval_bool(cond, scope)? {
                    self.eval(then, scope)
                } else {
                    self.eval(els, scope)
                }
            }
            ExprKind::Lambda(l) => Ok(Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                scope,
            }))),
            ExprKind::Apply { func, arg } => {
                let f = self.eval(func, scope)?;
                let arg = Thunk::pending(arg.clone(), scope);
                self.apply(f, arg, expr.span)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, scope),
            ExprKind::Not(x) => Ok(Value::Bool(!self.eval_bool(x, scope)?)),
            // Nix parses `-x` as `__sub 0 x`: so `-0.0` is 0 - 0.0, a
            // positive zero.
            ExprKind::Negate(x) => match self.eval(x, scope)? {
                v @ (Value::Int(_) | Value::Float(_)) => self
                    .arith(BinOp::Sub, &Value::Int(0), &v)
                    .unwrap_or_else(|| Err(Error::eval("cannot negate a non-number"))),
                other => Err(Error::eval(format!("cannot negate {}", other.describe()))),
            },
        }
    }

    fn known_in(&self, ns: Namespace, name: &str) -> bool {
        match ns {
            Namespace::Lib => self.schema.lib_names.contains(name),
            // Which builtins exist depends on the Nix version: refuse them all.
            Namespace::Builtins => true,
        }
    }

    fn namespace_missing(&self, ns: Namespace, name: &str) -> Error {
        if self.known_in(ns, name) {
            Error::unsupported(format!("`{}.{name}`", ns.name()))
        } else {
            Error::eval(format!("attribute '{name}' missing from `{}`", ns.name()))
                .with_label("attribute missing")
        }
    }

    fn eval_bool(&mut self, e: &ExprRef, scope: ScopeId) -> Result<bool> {
        match self.eval(e, scope)? {
            Value::Bool(b) => Ok(b),
            other => Err(Error::eval(format!(
                "value is {} while a Boolean was expected",
                other.describe()
            ))
            .with_label("expected a Boolean")
            .at(Some(e.span))),
        }
    }

    /// Only strings are interpolated: a path would be copied into the store,
    /// and Nix refuses numbers and sets without `__toString`.
    fn coerce_interpolated(&mut self, v: &Value) -> Result<Rc<str>> {
        match v {
            Value::Str(s) => Ok(s.clone()),
            Value::Path(_) => Err(Error::path_literal()),
            Value::Attrs(a) if a.get("__toString").is_some() || a.get("outPath").is_some() => {
                Err(Error::unsupported("string coercion of a set"))
            }
            other => Err(Error::eval(format!(
                "cannot coerce {} to a string",
                other.describe()
            ))),
        }
    }

    fn attr_name(&mut self, key: &AttrKey, scope: ScopeId) -> Result<Rc<str>> {
        match key {
            AttrKey::Static(n, _) => Ok(n.clone()),
            AttrKey::Dynamic(e) => match self.eval(e, scope)? {
                Value::Str(s) => Ok(s),
                other => Err(Error::eval(format!(
                    "value is {} while a string was expected",
                    other.describe()
                ))
                .at(Some(e.span))),
            },
        }
    }

    pub fn lookup(&mut self, scope: ScopeId, name: &str, span: Span) -> Result<Thunk> {
        let mut cur = Some(scope);
        while let Some(id) = cur {
            let s = &self.scopes[id.0];
            if let ScopeKind::Vars(vars) = &s.kind {
                if let Some(t) = vars.get(name) {
                    return Ok(t.clone());
                }
            }
            cur = s.parent;
        }
        // Lexical bindings win over every `with`; then innermost `with` first.
        let mut cur = Some(scope);
        while let Some(id) = cur {
            let (parent, with) = {
                let s = &self.scopes[id.0];
                let with = match &s.kind {
                    ScopeKind::With(t) => Some(t.clone()),
                    ScopeKind::Vars(_) => None,
                };
                (s.parent, with)
            };
            if let Some(ns) = with {
                match self.force(&ns)? {
                    Value::Attrs(a) => {
                        if let Some(t) = a.get(name) {
                            return Ok(t.clone());
                        }
                        if let Some(n) = a.namespace {
                            if self.known_in(n, name) {
                                return Err(self.namespace_missing(n, name).at(Some(span)));
                            }
                        }
                    }
                    other => {
                        return Err(Error::eval(format!(
                            "value is {} while a set was expected (in `with`)",
                            other.describe()
                        ))
                        .at(ns.span()))
                    }
                }
            }
            cur = parent;
        }
        if name.starts_with("__") {
            return Err(Error::unsupported(format!("`{name}`")).at(Some(span)));
        }
        Err(Error::eval(format!("undefined variable '{name}'"))
            .with_label("undefined variable")
            .at(Some(span)))
    }

    /// The scope of a `let` or `rec` set: every binding sees all of them.
    fn bind_scope(&mut self, binds: &Rc<Bindings>, outer: ScopeId) -> Result<ScopeId> {
        let inner = self.push_scope(outer, ScopeKind::Vars(HashMap::new()));
        let mut vars = HashMap::new();
        for (name, b) in &binds.statics {
            let t = self.bind_thunk(name, &b.value, b.key_span, inner, outer);
            vars.insert(name.clone(), t);
        }
        self.scopes[inner.0].kind = ScopeKind::Vars(vars);
        Ok(inner)
    }

    /// `inherit_scope`: where a plain `inherit x;` looks (outside a let/rec).
    fn bind_thunk(
        &mut self,
        name: &Rc<str>,
        value: &BindValue,
        key_span: Span,
        scope: ScopeId,
        inherit_scope: ScopeId,
    ) -> Thunk {
        match value {
            BindValue::Expr(e) => Thunk::pending(e.clone(), scope),
            BindValue::Inherit => {
                let name = name.clone();
                Thunk::native(Some(key_span), move |ev| {
                    ev.lookup(inherit_scope, &name, key_span)
                })
            }
            BindValue::InheritFrom(from) => {
                let (from, name) = (from.clone(), name.clone());
                Thunk::native(Some(key_span), move |ev| match ev.eval(&from, scope)? {
                    Value::Attrs(a) => match a.get(&name) {
                        Some(t) => Ok(t.clone()),
                        None => match a.namespace {
                            Some(ns) => Err(ev.namespace_missing(ns, &name).at(Some(key_span))),
                            None => Err(Error::eval(format!("attribute '{name}' missing"))
                                .at(Some(key_span))),
                        },
                    },
                    other => Err(Error::eval(format!(
                        "value is {} while a set was expected",
                        other.describe()
                    ))
                    .at(Some(from.span))),
                })
            }
            BindValue::Nested(span, binds) => {
                let (span, binds) = (*span, binds.clone());
                Thunk::native(Some(span), move |ev| {
                    let v = ev.build_attrs(&binds, scope, None)?;
                    Ok(Thunk::value(v, Some(span)))
                })
            }
        }
    }

    fn build_attrs(
        &mut self,
        binds: &Bindings,
        scope: ScopeId,
        rec_scope: Option<ScopeId>,
    ) -> Result<Value> {
        let mut attrs = Attrs::default();
        for (name, b) in &binds.statics {
            let t = match rec_scope {
                // The rec scope already holds one thunk per binding: share it.
                Some(inner) => match &self.scopes[inner.0].kind {
                    ScopeKind::Vars(v) => match v.get(name) {
                        Some(t) => t.clone(),
                        None => self.bind_thunk(name, &b.value, b.key_span, scope, scope),
                    },
                    ScopeKind::With(_) => self.bind_thunk(name, &b.value, b.key_span, scope, scope),
                },
                None => self.bind_thunk(name, &b.value, b.key_span, scope, scope),
            };
            attrs.map.insert(
                name.clone(),
                Attr {
                    value: t,
                    key_span: Some(b.key_span),
                },
            );
        }
        self.add_dynamics(&mut attrs, &binds.dynamics, scope)?;
        Ok(Value::Attrs(Rc::new(attrs)))
    }

    fn add_dynamics(
        &mut self,
        attrs: &mut Attrs,
        dynamics: &[DynamicBinding],
        scope: ScopeId,
    ) -> Result<()> {
        for d in dynamics {
            let name = match self.eval(&d.key, scope)? {
                Value::Str(s) => s,
                // `${null} = …;` leaves the attribute out.
                Value::Null => continue,
                other => {
                    return Err(Error::eval(format!(
                        "value is {} while a string was expected",
                        other.describe()
                    ))
                    .at(Some(d.key_span)))
                }
            };
            if attrs.map.contains_key(&name) {
                return Err(
                    Error::eval(format!("dynamic attribute '{name}' already defined"))
                        .at(Some(d.key_span)),
                );
            }
            let t = self.bind_thunk(&name, &d.value, d.key_span, scope, scope);
            attrs.map.insert(
                name,
                Attr {
                    value: t,
                    key_span: Some(d.key_span),
                },
            );
        }
        Ok(())
    }

    pub fn apply(&mut self, f: Value, arg: Thunk, span: Span) -> Result<Value> {
        match f {
            Value::Lambda(c) => self.call_lambda(&c, arg, span),
            Value::Prim(p) => {
                let mut args = p.args.clone();
                args.push(arg);
                if args.len() < p.op.arity() {
                    Ok(Value::Prim(Rc::new(PrimApp { op: p.op, args })))
                } else {
                    prims::call(self, p.op, &args, span)
                }
            }
            Value::Attrs(a) if a.get("__functor").is_some() => {
                Err(Error::unsupported("calling a set with `__functor`"))
            }
            other => Err(Error::eval(format!(
                "attempt to call something which is not a function but {}",
                other.describe()
            ))),
        }
    }

    fn call_lambda(&mut self, c: &Closure, arg: Thunk, span: Span) -> Result<Value> {
        let mut vars = HashMap::new();
        let scope = self.push_scope(c.scope, ScopeKind::Vars(HashMap::new()));
        match &c.lambda.param {
            Param::Ident(name) => {
                vars.insert(name.clone(), arg);
            }
            Param::Pattern {
                entries,
                ellipsis,
                bind,
            } => {
                let attrs = match self.force(&arg)? {
                    Value::Attrs(a) => a,
                    other => {
                        return Err(Error::eval(format!(
                            "value is {} while a set was expected (function argument)",
                            other.describe()
                        ))
                        .at(Some(span)))
                    }
                };
                for (name, default, entry_span) in entries {
                    let t = match (attrs.get(name), default) {
                        (Some(t), _) => t.clone(),
                        (None, Some(d)) => Thunk::pending(d.clone(), scope),
                        (None, None) => {
                            return Err(Error::eval(format!(
                                "function called without required argument '{name}'"
                            ))
                            .with_label("required here")
                            .at(Some(*entry_span)))
                        }
                    };
                    vars.insert(name.clone(), t);
                }
                if !ellipsis {
                    if attrs.namespace.is_some() {
                        return Err(Error::unsupported(
                            "passing `lib` or `builtins` to a function without `...`",
                        ));
                    }
                    for name in attrs.map.keys() {
                        if !entries.iter().any(|(n, _, _)| n == name) {
                            return Err(Error::eval(format!(
                                "function called with unexpected argument '{name}'"
                            ))
                            .at(Some(span)));
                        }
                    }
                }
                if let Some(b) = bind {
                    vars.insert(b.clone(), arg);
                }
            }
        }
        self.scopes[scope.0].kind = ScopeKind::Vars(vars);
        self.eval(&c.lambda.body, scope)
    }

    fn binary(&mut self, op: BinOp, lhs: &ExprRef, rhs: &ExprRef, scope: ScopeId) -> Result<Value> {
        match op {
            BinOp::And => Ok(Value::Bool(
                self.eval_bool(lhs, scope)? && self.eval_bool(rhs, scope)?,
            )),
            BinOp::Or => Ok(Value::Bool(
                self.eval_bool(lhs, scope)? || self.eval_bool(rhs, scope)?,
            )),
            BinOp::Implication => Ok(Value::Bool(
                !self.eval_bool(lhs, scope)? || self.eval_bool(rhs, scope)?,
            )),
            _ => {
                let l = self.eval(lhs, scope)?;
                let r = self.eval(rhs, scope)?;
                self.binary_values(op, l, r)
            }
        }
    }

    fn binary_values(&mut self, op: BinOp, l: Value, r: Value) -> Result<Value> {
        use Value::*;
        let mismatch = |what: &str, l: &Value, r: &Value| {
            Error::eval(format!(
                "cannot {what} {} and {}",
                l.describe(),
                r.describe()
            ))
        };
        match op {
            BinOp::Eq => Ok(Bool(self.equal(&l, &r)?)),
            BinOp::NotEq => Ok(Bool(!self.equal(&l, &r)?)),
            BinOp::Less => Ok(Bool(self.less(&l, &r)?)),
            BinOp::More => Ok(Bool(self.less(&r, &l)?)),
            BinOp::LessOrEq => Ok(Bool(!self.less(&r, &l)?)),
            BinOp::MoreOrEq => Ok(Bool(!self.less(&l, &r)?)),
            BinOp::Concat => match (&l, &r) {
                (List(a), List(b)) => {
                    Ok(List(Rc::new(a.iter().chain(b.iter()).cloned().collect())))
                }
                _ => Err(mismatch("concatenate", &l, &r)),
            },
            BinOp::Update => match (&l, &r) {
                (Attrs(a), Attrs(b)) => {
                    if a.namespace.is_some() || b.namespace.is_some() {
                        return Err(Error::unsupported("`//` on `lib` or `builtins`"));
                    }
                    let mut out = (**a).clone();
                    for (k, v) in &b.map {
                        out.map.insert(k.clone(), v.clone());
                    }
                    Ok(Attrs(Rc::new(out)))
                }
                _ => Err(mismatch("update (`//`)", &l, &r)),
            },
            BinOp::Add => match (&l, &r) {
                (Int(a), Int(b)) => a
                    .checked_add(*b)
                    .map(Int)
                    .ok_or_else(|| Error::unsupported("integer overflow (Nix 2.8 wraps around, newer Nix refuses)")),
                (Str(a), Str(b)) => Ok(Str(Rc::from(format!("{a}{b}")))),
                (Path(p), Str(s)) => Ok(Path(Rc::new(canonicalize_lexically(&PathBuf::from(
                    format!("{}{s}", p.display()),
                ))))),
                (Str(_), Path(_)) => Err(Error::path_literal()),
                (Path(_), Path(_)) => Err(Error::unsupported("adding two paths")),
                _ => self
                    .arith(op, &l, &r)
                    .ok_or_else(|| mismatch("add", &l, &r))?,
            },
            BinOp::Sub | BinOp::Mul | BinOp::Div => self
                .arith(op, &l, &r)
                .ok_or_else(|| mismatch("do arithmetic on", &l, &r))?,
            BinOp::And | BinOp::Or | BinOp::Implication => {
                Err(Error::eval("internal: boolean operator"))
            }
        }
    }

    /// Integer and float arithmetic; `None` for non-numbers.
    fn arith(&self, op: BinOp, l: &Value, r: &Value) -> Option<Result<Value>> {
        use Value::*;
        let overflow = || Error::unsupported("integer overflow (Nix 2.8 wraps around, newer Nix refuses)");
        Some(match (l, r) {
            (Int(a), Int(b)) => match op {
                BinOp::Add => a.checked_add(*b).map(Int).ok_or_else(overflow),
                BinOp::Sub => a.checked_sub(*b).map(Int).ok_or_else(overflow),
                BinOp::Mul => a.checked_mul(*b).map(Int).ok_or_else(overflow),
                BinOp::Div if *b == 0 => Err(Error::eval("division by zero")),
                BinOp::Div => a.checked_div(*b).map(Int).ok_or_else(overflow),
                _ => return None,
            },
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                let a = as_f64(l)?;
                let b = as_f64(r)?;
                match op {
                    BinOp::Add => Ok(Float(a + b)),
                    BinOp::Sub => Ok(Float(a - b)),
                    BinOp::Mul => Ok(Float(a * b)),
                    BinOp::Div if b == 0.0 => Err(Error::eval("division by zero")),
                    BinOp::Div => Ok(Float(a / b)),
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// Nix's `==`: deep, numbers compare across int and float, functions
    /// are never equal.
    pub fn equal(&mut self, l: &Value, r: &Value) -> Result<bool> {
        // Deep values (built by recursion, not written out) recurse here.
        self.enter(None)?;
        let r = self.equal_inner(l, r);
        self.depth -= 1;
        r
    }

    fn equal_inner(&mut self, l: &Value, r: &Value) -> Result<bool> {
        use Value::*;
        Ok(match (l, r) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Int(_) | Float(_), Int(_) | Float(_)) => as_f64(l) == as_f64(r),
            (Str(a), Str(b)) => a == b,
            (Path(a), Path(b)) => a == b,
            (List(a), List(b)) => {
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (x, y) in a.iter().zip(b.iter()) {
                    let (x, y) = (self.force(x)?, self.force(y)?);
                    if !self.equal(&x, &y)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Attrs(a), Attrs(b)) => {
                if a.namespace.is_some() || b.namespace.is_some() {
                    return Err(Error::unsupported("comparing `lib` or `builtins`"));
                }
                if a.map.len() != b.map.len() || !a.map.keys().eq(b.map.keys()) {
                    return Ok(false);
                }
                for (x, y) in a.map.values().zip(b.map.values()) {
                    let (x, y) = (self.force(&x.value)?, self.force(&y.value)?);
                    if !self.equal(&x, &y)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }

    fn less(&mut self, l: &Value, r: &Value) -> Result<bool> {
        self.enter(None)?;
        let r = self.less_inner(l, r);
        self.depth -= 1;
        r
    }

    fn less_inner(&mut self, l: &Value, r: &Value) -> Result<bool> {
        use Value::*;
        match (l, r) {
            (Int(a), Int(b)) => Ok(a < b),
            (Int(_) | Float(_), Int(_) | Float(_)) => Ok(as_f64(l) < as_f64(r)),
            (Str(a), Str(b)) => Ok(a.as_bytes() < b.as_bytes()),
            (Path(a), Path(b)) => Ok(a.as_os_str() < b.as_os_str()),
            (List(a), List(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    let (x, y) = (self.force(x)?, self.force(y)?);
                    if self.less(&x, &y)? {
                        return Ok(true);
                    }
                    if self.less(&y, &x)? {
                        return Ok(false);
                    }
                }
                Ok(a.len() < b.len())
            }
            _ => Err(Error::eval(format!(
                "cannot compare {} with {}",
                l.describe(),
                r.describe()
            ))),
        }
    }

    /// Evaluates a file once and caches its value (like `import`).
    pub fn import_file(&mut self, path: &std::path::Path) -> Result<Thunk> {
        if let Some(t) = self.files.get(path) {
            return Ok(t.clone());
        }
        let text = match super::source::read_source(path) {
            Ok(text) => text,
            Err(ReadError::Io(e)) => {
                return Err(Error::new(ErrorKind::Io, io_message(path, &e)));
            }
            Err(ReadError::TooLarge) => {
                return Err(Error::unsupported(format!(
                    "a declaration file larger than {} MiB ({})",
                    super::source::MAX_SOURCE_BYTES / (1024 * 1024),
                    path.display()
                )));
            }
            Err(ReadError::NotUtf8 { lossy, offset }) => {
                // No snippet: the line may hold a secret in another encoding.
                let file = self.sources.add(path.to_path_buf(), lossy);
                let at = u32::try_from(offset).unwrap_or(u32::MAX);
                return Err(Error::new(
                    ErrorKind::Parse,
                    format!(
                        "{} is not valid UTF-8: invalid byte sequence at byte offset {offset}",
                        path.display()
                    ),
                )
                .without_source()
                .at(Some(Span {
                    file,
                    start: at,
                    end: at.saturating_add(1),
                })));
            }
        };
        let file = self.sources.add(path.to_path_buf(), text);
        let dir = path
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/"));
        let lowered = {
            let text = self
                .sources
                .get(file)
                .map(|f| f.text.clone())
                .unwrap_or_default();
            super::lower::lower_file(file, &text, &dir, self.secrets)
        };
        let lowered = lowered?;
        if let Some(f) = self.sources.get_mut(file) {
            f.sensitive = lowered.sensitive;
        }
        let t = Thunk::pending(lowered.root, self.global);
        self.files.insert(path.to_path_buf(), t.clone());
        Ok(t)
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn key_span(key: &AttrKey) -> Span {
    match key {
        AttrKey::Static(_, s) => *s,
        AttrKey::Dynamic(e) => e.span,
    }
}
