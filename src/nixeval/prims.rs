//! The few `lib` and `builtins` functions the subset has. Module-system
//! properties are built as the same `{ _type = …; }` sets lib builds, so the
//! merge code reads them exactly as lib's does.

use std::collections::HashMap;
use std::rc::Rc;

use super::error::{Error, Result};
use super::eval::Eval;
use super::lower::GLOBALS;
use super::source::Span;
use super::value::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    MkIf,
    MkMerge,
    MkOverride,
    MkOrder,
    Optional,
    Optionals,
    OptionalAttrs,
    OptionalString,
    ToString,
    Map,
    Length,
    Elem,
    ConcatStringsSep,
    AttrNames,
    IsNull,
    IsString,
    IsInt,
    IsBool,
    IsAttrs,
    IsList,
}

impl Prim {
    pub fn arity(self) -> usize {
        match self {
            Prim::MkMerge
            | Prim::ToString
            | Prim::Length
            | Prim::AttrNames
            | Prim::IsNull
            | Prim::IsString
            | Prim::IsInt
            | Prim::IsBool
            | Prim::IsAttrs
            | Prim::IsList => 1,
            _ => 2,
        }
    }
}

fn prim(op: Prim) -> Thunk {
    Thunk::value(
        Value::Prim(Rc::new(PrimApp {
            op,
            args: Vec::new(),
        })),
        None,
    )
}

/// `mkOverride n`, `mkOrder n`: partially applied, as lib defines mkDefault & co.
fn prim_with(op: Prim, n: i64) -> Thunk {
    Thunk::value(
        Value::Prim(Rc::new(PrimApp {
            op,
            args: vec![Thunk::value(Value::Int(n), None)],
        })),
        None,
    )
}

fn lib() -> Attrs {
    let mut a = Attrs {
        namespace: Some(Namespace::Lib),
        ..Attrs::default()
    };
    a.insert("mkIf", prim(Prim::MkIf));
    a.insert("mkMerge", prim(Prim::MkMerge));
    a.insert("mkOverride", prim(Prim::MkOverride));
    // Priorities as in lib/modules.nix.
    a.insert("mkOptionDefault", prim_with(Prim::MkOverride, 1500));
    a.insert("mkDefault", prim_with(Prim::MkOverride, 1000));
    a.insert("mkImageMediaOverride", prim_with(Prim::MkOverride, 60));
    a.insert("mkForce", prim_with(Prim::MkOverride, 50));
    a.insert("mkVMOverride", prim_with(Prim::MkOverride, 10));
    a.insert("mkOrder", prim(Prim::MkOrder));
    a.insert("mkBefore", prim_with(Prim::MkOrder, 500));
    a.insert("mkAfter", prim_with(Prim::MkOrder, 1500));
    a.insert("optional", prim(Prim::Optional));
    a.insert("optionals", prim(Prim::Optionals));
    a.insert("optionalAttrs", prim(Prim::OptionalAttrs));
    a.insert("optionalString", prim(Prim::OptionalString));
    a.insert("concatStringsSep", prim(Prim::ConcatStringsSep));
    a.insert("elem", prim(Prim::Elem));
    a.insert("length", prim(Prim::Length));
    a.insert("attrNames", prim(Prim::AttrNames));
    a.insert("isString", prim(Prim::IsString));
    a.insert("isInt", prim(Prim::IsInt));
    a.insert("isBool", prim(Prim::IsBool));
    a.insert("isAttrs", prim(Prim::IsAttrs));
    a.insert("isList", prim(Prim::IsList));
    a
}

fn builtins() -> Attrs {
    let mut a = Attrs {
        namespace: Some(Namespace::Builtins),
        ..Attrs::default()
    };
    a.insert("toString", prim(Prim::ToString));
    a.insert("map", prim(Prim::Map));
    a.insert("length", prim(Prim::Length));
    a.insert("elem", prim(Prim::Elem));
    a.insert("concatStringsSep", prim(Prim::ConcatStringsSep));
    a.insert("attrNames", prim(Prim::AttrNames));
    a.insert("isNull", prim(Prim::IsNull));
    a.insert("isString", prim(Prim::IsString));
    a.insert("isInt", prim(Prim::IsInt));
    a.insert("isBool", prim(Prim::IsBool));
    a.insert("isAttrs", prim(Prim::IsAttrs));
    a.insert("isList", prim(Prim::IsList));
    a
}

pub(crate) fn lib_value() -> Value {
    Value::Attrs(Rc::new(lib()))
}

/// The global scope: constants, `builtins`, and the unprefixed builtins
/// (those not implemented fail when used, not when named).
pub(crate) fn globals(_eval: &Eval) -> HashMap<Rc<str>, Thunk> {
    let mut g = HashMap::new();
    let builtins = builtins();
    for name in GLOBALS {
        let t = match *name {
            "true" => Thunk::value(Value::Bool(true), None),
            "false" => Thunk::value(Value::Bool(false), None),
            "null" => Thunk::value(Value::Null, None),
            "builtins" => Thunk::value(Value::Attrs(Rc::new(builtins.clone())), None),
            "toString" => prim(Prim::ToString),
            "map" => prim(Prim::Map),
            "isNull" => prim(Prim::IsNull),
            other => {
                let what = if other == "import" {
                    "`import` outside `imports`".to_string()
                } else {
                    format!("`{other}`")
                };
                Thunk::native(None, move |_| Err(Error::unsupported(&what)))
            }
        };
        g.insert(Rc::from(*name), t);
    }
    for (name, attr) in &builtins.map {
        g.insert(Rc::from(format!("__{name}")), attr.value.clone());
    }
    g
}

fn property(kind: &str, fields: &[(&str, Thunk)]) -> Value {
    let mut a = Attrs::default();
    a.insert("_type", Thunk::value(Value::str(kind), None));
    for (k, v) in fields {
        a.insert(k, v.clone());
    }
    Value::Attrs(Rc::new(a))
}

fn want_bool(eval: &mut Eval, t: &Thunk, what: &str) -> Result<bool> {
    match eval.force(t)? {
        Value::Bool(b) => Ok(b),
        other => Err(Error::eval(format!(
            "{what}: value is {} while a Boolean was expected",
            other.describe()
        ))
        .at(t.span())),
    }
}

fn want_list(eval: &mut Eval, t: &Thunk, what: &str) -> Result<Rc<Vec<Thunk>>> {
    match eval.force(t)? {
        Value::List(l) => Ok(l),
        other => Err(Error::eval(format!(
            "{what}: value is {} while a list was expected",
            other.describe()
        ))
        .at(t.span())),
    }
}

fn want_str(eval: &mut Eval, t: &Thunk, what: &str) -> Result<Rc<str>> {
    match eval.force(t)? {
        Value::Str(s) => Ok(s),
        other => Err(Error::eval(format!(
            "{what}: value is {} while a string was expected",
            other.describe()
        ))
        .at(t.span())),
    }
}

pub(crate) fn call(eval: &mut Eval, op: Prim, args: &[Thunk], span: Span) -> Result<Value> {
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .ok_or_else(|| Error::eval("internal: missing argument"))
    };
    let here = Some(span);
    match op {
        Prim::MkIf => Ok(property(
            "if",
            &[("condition", arg(0)?), ("content", arg(1)?)],
        )),
        Prim::MkMerge => Ok(property("merge", &[("contents", arg(0)?)])),
        Prim::MkOverride => Ok(property(
            "override",
            &[("priority", arg(0)?), ("content", arg(1)?)],
        )),
        Prim::MkOrder => Ok(property(
            "order",
            &[("priority", arg(0)?), ("content", arg(1)?)],
        )),
        Prim::Optional => {
            let x = arg(1)?;
            Ok(Value::List(Rc::new(
                if want_bool(eval, &arg(0)?, "lib.optional")? {
                    vec![x]
                } else {
                    Vec::new()
                },
            )))
        }
        Prim::Optionals => {
            if want_bool(eval, &arg(0)?, "lib.optionals")? {
                eval.force(&arg(1)?)
            } else {
                Ok(Value::List(Rc::new(Vec::new())))
            }
        }
        Prim::OptionalAttrs => {
            if want_bool(eval, &arg(0)?, "lib.optionalAttrs")? {
                eval.force(&arg(1)?)
            } else {
                Ok(Value::Attrs(Rc::new(Attrs::default())))
            }
        }
        Prim::OptionalString => {
            if want_bool(eval, &arg(0)?, "lib.optionalString")? {
                eval.force(&arg(1)?)
            } else {
                Ok(Value::str(""))
            }
        }
        Prim::ToString => match eval.force(&arg(0)?)? {
            Value::Str(s) => Ok(Value::Str(s)),
            Value::Int(i) => Ok(Value::str(&i.to_string())),
            Value::Bool(b) => Ok(Value::str(if b { "1" } else { "" })),
            Value::Null => Ok(Value::str("")),
            Value::Path(p) => Ok(Value::str(&p.display().to_string())),
            other => {
                Err(Error::unsupported(format!("`toString` on {}", other.describe())).at(here))
            }
        },
        Prim::Map => {
            let f = eval.force(&arg(0)?)?;
            let list = want_list(eval, &arg(1)?, "map")?;
            let out = list
                .iter()
                .map(|x| {
                    let (f, x) = (f.clone(), x.clone());
                    Thunk::native(x.span(), move |ev| {
                        let v = ev.apply(f.clone(), x.clone(), span)?;
                        Ok(Thunk::value(v, None))
                    })
                })
                .collect();
            Ok(Value::List(Rc::new(out)))
        }
        Prim::Length => {
            let list = want_list(eval, &arg(0)?, "length")?;
            Ok(Value::Int(i64::try_from(list.len()).unwrap_or(i64::MAX)))
        }
        Prim::Elem => {
            let x = eval.force(&arg(0)?)?;
            let list = want_list(eval, &arg(1)?, "elem")?;
            for t in list.iter() {
                let y = eval.force(t)?;
                if eval.equal(&x, &y)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        Prim::ConcatStringsSep => {
            let sep = want_str(eval, &arg(0)?, "concatStringsSep")?;
            let list = want_list(eval, &arg(1)?, "concatStringsSep")?;
            let mut parts = Vec::new();
            for t in list.iter() {
                parts.push(want_str(eval, t, "concatStringsSep")?.to_string());
            }
            Ok(Value::str(&parts.join(&sep)))
        }
        Prim::AttrNames => match eval.force(&arg(0)?)? {
            Value::Attrs(a) if a.namespace.is_none() => Ok(Value::List(Rc::new(
                a.map
                    .keys()
                    .map(|k| Thunk::value(Value::Str(k.clone()), None))
                    .collect(),
            ))),
            Value::Attrs(_) => {
                Err(Error::unsupported("`attrNames` of `lib` or `builtins`").at(here))
            }
            other => Err(Error::eval(format!(
                "attrNames: value is {} while a set was expected",
                other.describe()
            ))),
        },
        Prim::IsNull => Ok(Value::Bool(matches!(eval.force(&arg(0)?)?, Value::Null))),
        Prim::IsString => Ok(Value::Bool(matches!(eval.force(&arg(0)?)?, Value::Str(_)))),
        Prim::IsInt => Ok(Value::Bool(matches!(eval.force(&arg(0)?)?, Value::Int(_)))),
        Prim::IsBool => Ok(Value::Bool(matches!(eval.force(&arg(0)?)?, Value::Bool(_)))),
        Prim::IsAttrs => Ok(Value::Bool(matches!(
            eval.force(&arg(0)?)?,
            Value::Attrs(_)
        ))),
        Prim::IsList => Ok(Value::Bool(matches!(eval.force(&arg(0)?)?, Value::List(_)))),
    }
}
