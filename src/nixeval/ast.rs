//! The lowered syntax tree the interpreter runs: the supported subset of Nix,
//! with nested attribute paths already merged and every node spanned.

use std::path::PathBuf;
use std::rc::Rc;

use super::source::Span;

pub(crate) type ExprRef = Rc<Expr>;

#[derive(Debug)]
pub(crate) struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Debug)]
pub(crate) enum ExprKind {
    Int(i64),
    Float(f64),
    Str(Vec<StrPart>),
    /// A path literal, already made absolute and canonical.
    Path(Rc<PathBuf>),
    Var(Rc<str>),
    Select {
        target: ExprRef,
        path: Vec<AttrKey>,
        default: Option<ExprRef>,
    },
    HasAttr {
        target: ExprRef,
        path: Vec<AttrKey>,
    },
    List(Vec<ExprRef>),
    Attrs {
        rec: bool,
        binds: Rc<Bindings>,
    },
    Let {
        binds: Rc<Bindings>,
        body: ExprRef,
    },
    With {
        namespace: ExprRef,
        body: ExprRef,
    },
    If {
        cond: ExprRef,
        then: ExprRef,
        els: ExprRef,
    },
    Lambda(Rc<Lambda>),
    Apply {
        func: ExprRef,
        arg: ExprRef,
    },
    Binary {
        op: BinOp,
        lhs: ExprRef,
        rhs: ExprRef,
    },
    Not(ExprRef),
    Negate(ExprRef),
}

#[derive(Debug)]
pub(crate) enum StrPart {
    Lit(String),
    Interp(ExprRef),
}

#[derive(Debug, Clone)]
pub(crate) enum AttrKey {
    Static(Rc<str>, Span),
    Dynamic(ExprRef),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Concat,
    Update,
    Add,
    Sub,
    Mul,
    Div,
    And,
    Or,
    Implication,
    Eq,
    NotEq,
    Less,
    LessOrEq,
    More,
    MoreOrEq,
}

/// The bindings of an attribute set or `let`, nested attribute paths merged
/// into sub-sets as Nix's parser does.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bindings {
    /// In name order.
    pub statics: Vec<(Rc<str>, Binding)>,
    pub dynamics: Vec<DynamicBinding>,
}

#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub key_span: Span,
    pub value: BindValue,
}

#[derive(Debug, Clone)]
pub(crate) struct DynamicBinding {
    pub key: ExprRef,
    pub key_span: Span,
    pub value: BindValue,
}

#[derive(Debug, Clone)]
pub(crate) enum BindValue {
    Expr(ExprRef),
    /// `inherit name;`: the name from the enclosing scope.
    Inherit,
    /// `inherit (from) name;`
    InheritFrom(ExprRef),
    /// A set built from attribute paths (`a.b = 1; a.c = 2;`), a plain set
    /// in the scope of its parent.
    Nested(Span, Rc<Bindings>),
}

#[derive(Debug)]
pub(crate) struct Lambda {
    pub param: Param,
    pub body: ExprRef,
}

#[derive(Debug)]
pub(crate) enum Param {
    Ident(Rc<str>),
    Pattern {
        entries: Vec<(Rc<str>, Option<ExprRef>, Span)>,
        ellipsis: bool,
        bind: Option<Rc<str>>,
    },
}
