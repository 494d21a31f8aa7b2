//! Runtime values and lazily evaluated thunks.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;

use super::ast::{ExprRef, Lambda};
use super::error::Result;
use super::eval::{Eval, ScopeId};
use super::prims::Prim;
use super::source::Span;

#[derive(Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Path(Rc<PathBuf>),
    List(Rc<Vec<Thunk>>),
    Attrs(Rc<Attrs>),
    Lambda(Rc<Closure>),
    Prim(Rc<PrimApp>),
}

impl Value {
    /// As Nix's messages say it: "a string", "an integer", ...
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Path(_) => "a path",
            Value::List(_) => "a list",
            Value::Attrs(_) => "a set",
            Value::Lambda(_) | Value::Prim(_) => "a function",
        }
    }

    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    pub fn is_function(&self) -> bool {
        matches!(self, Value::Lambda(_) | Value::Prim(_))
    }
}

/// Which opaque namespace an attribute set stands for: names that exist in
/// the real one but are not implemented here are refused, not "missing".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Namespace {
    Lib,
    Builtins,
}

impl Namespace {
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Lib => "lib",
            Namespace::Builtins => "builtins",
        }
    }
}

#[derive(Clone, Default)]
pub(crate) struct Attrs {
    pub map: BTreeMap<Rc<str>, Attr>,
    pub namespace: Option<Namespace>,
}

#[derive(Clone)]
pub(crate) struct Attr {
    pub value: Thunk,
    pub key_span: Option<Span>,
}

impl Attrs {
    pub fn get(&self, name: &str) -> Option<&Thunk> {
        self.map.get(name).map(|a| &a.value)
    }

    pub fn insert(&mut self, name: &str, value: Thunk) {
        self.map.insert(
            Rc::from(name),
            Attr {
                value,
                key_span: None,
            },
        );
    }
}

pub(crate) struct Closure {
    pub lambda: Rc<Lambda>,
    pub scope: ScopeId,
}

/// A built-in function with the arguments it has been given so far.
pub(crate) struct PrimApp {
    pub op: Prim,
    pub args: Vec<Thunk>,
}

/// Native lazy computations (option values, merges) yield another thunk,
/// whose span the result adopts so that errors can still point at the
/// user's definition.
pub(crate) type NativeFn = Rc<dyn Fn(&mut Eval) -> Result<Thunk>>;

pub(crate) enum State {
    Pending(ExprRef, ScopeId),
    Native(NativeFn),
    /// Being forced: reaching it again is an infinite recursion.
    Forcing,
    Done(Value),
}

struct ThunkCell {
    span: Cell<Option<Span>>,
    state: RefCell<State>,
}

#[derive(Clone)]
pub(crate) struct Thunk(Rc<ThunkCell>);

impl Thunk {
    pub fn pending(expr: ExprRef, scope: ScopeId) -> Thunk {
        let span = Some(expr.span);
        Thunk::with_state(State::Pending(expr, scope), span)
    }

    pub fn native(span: Option<Span>, f: impl Fn(&mut Eval) -> Result<Thunk> + 'static) -> Thunk {
        Thunk::with_state(State::Native(Rc::new(f)), span)
    }

    pub fn value(v: Value, span: Option<Span>) -> Thunk {
        Thunk::with_state(State::Done(v), span)
    }

    fn with_state(state: State, span: Option<Span>) -> Thunk {
        Thunk(Rc::new(ThunkCell {
            span: Cell::new(span),
            state: RefCell::new(state),
        }))
    }

    /// Where the value was written, if it was written by the user.
    pub fn span(&self) -> Option<Span> {
        self.0.span.get()
    }

    pub fn set_span_if_none(&self, span: Option<Span>) {
        if self.0.span.get().is_none() {
            self.0.span.set(span);
        }
    }

    /// The value if already computed.
    pub fn done(&self) -> Option<Value> {
        match &*self.0.state.borrow() {
            State::Done(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Takes the pending work out, leaving the thunk marked as being forced.
    pub fn take(&self) -> State {
        std::mem::replace(&mut *self.0.state.borrow_mut(), State::Forcing)
    }

    pub fn put(&self, state: State) {
        *self.0.state.borrow_mut() = state;
    }
}

impl fmt::Debug for Thunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<thunk>")
    }
}
