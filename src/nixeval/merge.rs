//! Option types: their checks and merge functions, and the merging of an
//! option's definitions (properties, priorities, order), as lib's
//! `mergeDefinitions` and `lib/types.nix` do it.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value as Json;

use super::error::{Error, ErrorKind, Result};
use super::eval::Eval;
use super::schema::{TypeId, TypeKind};
use super::value::*;

/// One definition of an option: the file it came from and its value.
#[derive(Clone)]
pub(crate) struct Def {
    pub file: Rc<str>,
    pub value: Thunk,
}

/// Priorities of lib/modules.nix.
const DEFAULT_PRIORITY: i64 = 100;
const DEFAULT_ORDER: i64 = 1000;

/// `lib.showOption`: dotted, with parts that are not identifiers quoted.
pub(crate) fn show_option(loc: &[String]) -> String {
    loc.iter()
        .map(|part| {
            let placeholder = part.starts_with('<') && part.ends_with('>') && part.len() >= 2;
            if part == "*" || placeholder || is_identifier(part) {
                part.clone()
            } else {
                nix_string_literal(part)
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn is_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with",
    ];
    let mut chars = s.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        && !KEYWORDS.contains(&s)
}

/// `lib.strings.escapeNixString`: JSON quoting with `$` escaped.
fn nix_string_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\$"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Eval {
    /// The `_type` of a module-system property (`mkIf` & co.), if any.
    pub(crate) fn property_type(&mut self, v: &Value) -> Result<Option<Rc<str>>> {
        let Value::Attrs(a) = v else {
            return Ok(None);
        };
        let Some(t) = a.get("_type").cloned() else {
            return Ok(None);
        };
        Ok(match self.force(&t)? {
            Value::Str(s) => Some(s),
            _ => None,
        })
    }

    pub(crate) fn property_field(&self, v: &Value, field: &str) -> Result<Thunk> {
        match v {
            Value::Attrs(a) => a
                .get(field)
                .cloned()
                .ok_or_else(|| Error::eval(format!("attribute '{field}' missing"))),
            _ => Err(Error::eval(format!("attribute '{field}' missing"))),
        }
    }

    /// `mkMerge` spliced and `mkIf` decided, as lib's `dischargeProperties`.
    fn discharge(&mut self, def: &Def, out: &mut Vec<Def>) -> Result<()> {
        // `mkMerge [ (mkMerge [ … ]) ]` built by recursion nests without bound.
        self.nested(def.value.span(), |ev| ev.discharge_inner(def, out))
    }

    fn discharge_inner(&mut self, def: &Def, out: &mut Vec<Def>) -> Result<()> {
        let v = self.force(&def.value)?;
        match self.property_type(&v)?.as_deref() {
            Some("merge") => {
                let contents = self.property_field(&v, "contents")?;
                let list = match self.force(&contents)? {
                    Value::List(l) => l,
                    other => {
                        return Err(Error::eval(format!(
                            "value is {} while a list was expected (mkMerge)",
                            other.describe()
                        ))
                        .at(contents.span()))
                    }
                };
                for item in list.iter() {
                    self.discharge(
                        &Def {
                            file: def.file.clone(),
                            value: item.clone(),
                        },
                        out,
                    )?;
                }
                Ok(())
            }
            Some("if") => {
                let cond = self.property_field(&v, "condition")?;
                match self.force(&cond)? {
                    Value::Bool(true) => {
                        let content = self.property_field(&v, "content")?;
                        self.discharge(
                            &Def {
                                file: def.file.clone(),
                                value: content,
                            },
                            out,
                        )
                    }
                    Value::Bool(false) => Ok(()),
                    other => Err(Error::eval(format!(
                        "‘mkIf’ called with a non-Boolean condition (it is {})",
                        other.describe()
                    ))
                    .with_label("not a Boolean")
                    .at(cond.span().or(def.value.span()))),
                }
            }
            _ => {
                out.push(def.clone());
                Ok(())
            }
        }
    }

    fn priority_of(&mut self, def: &Def, kind: &str) -> Result<Option<(i64, Thunk)>> {
        let v = self.force(&def.value)?;
        if self.property_type(&v)?.as_deref() != Some(kind) {
            return Ok(None);
        }
        let prio = self.property_field(&v, "priority")?;
        let n = match self.force(&prio)? {
            Value::Int(n) => n,
            other => {
                return Err(Error::eval(format!(
                    "a priority is {} while an integer was expected",
                    other.describe()
                ))
                .at(prio.span()))
            }
        };
        Ok(Some((n, self.property_field(&v, "content")?)))
    }

    /// lib's `mergeDefinitions` up to `defsFinal`: properties discharged,
    /// only the highest-priority definitions kept, `mkOrder` sorted.
    pub(crate) fn final_definitions(&mut self, defs: &[Def]) -> Result<Vec<Def>> {
        let mut normalized = Vec::new();
        for d in defs {
            self.discharge(d, &mut normalized)?;
        }
        // filterOverrides'
        let mut with_prio = Vec::with_capacity(normalized.len());
        for d in normalized {
            let p = self.priority_of(&d, "override")?;
            with_prio.push(match p {
                Some((n, content)) => (
                    n,
                    Def {
                        file: d.file,
                        value: content,
                    },
                ),
                None => (DEFAULT_PRIORITY, d),
            });
        }
        let filtered: Vec<Def> = if with_prio.len() == 1 {
            with_prio.into_iter().map(|(_, d)| d).collect()
        } else {
            let highest = with_prio.iter().fold(9999, |m, (p, _)| m.min(*p));
            with_prio
                .into_iter()
                .filter(|(p, _)| *p == highest)
                .map(|(_, d)| d)
                .collect()
        };
        // sortProperties
        let mut ordered = Vec::with_capacity(filtered.len());
        let mut any_order = false;
        for d in &filtered {
            match self.priority_of(d, "order")? {
                Some((n, content)) => {
                    any_order = true;
                    ordered.push((
                        n,
                        Def {
                            file: d.file.clone(),
                            value: content,
                        },
                    ));
                }
                None => ordered.push((DEFAULT_ORDER, d.clone())),
            }
        }
        if !any_order {
            return Ok(filtered);
        }
        ordered.sort_by_key(|(p, _)| *p); // stable, like builtins.sort
        Ok(ordered.into_iter().map(|(_, d)| d).collect())
    }

    /// The merged value of final definitions (lib's `mergedValue`).
    pub(crate) fn merged_value(
        &mut self,
        loc: &[String],
        ty: TypeId,
        defs: &[Def],
    ) -> Result<Thunk> {
        if defs.is_empty() {
            return match self.empty_value(loc, ty)? {
                Some(t) => Ok(t),
                None => Err(Error::new(
                    ErrorKind::MissingValue,
                    format!(
                        "The option `{}' was accessed but has no value defined. Try setting the option.",
                        show_option(loc)
                    ),
                )
                .with_option(show_option(loc))
                .with_help(format!("set `{}` in the declaration", show_option(loc)))),
            };
        }
        let invalid = if self.is_v2(ty) {
            if self.head_error(ty, defs)? {
                Some(self.first_invalid(ty, defs)?)
            } else {
                None
            }
        } else {
            let mut bad = None;
            for d in defs {
                let v = self.force(&d.value)?;
                if !self.check(ty, &v)? {
                    bad = Some(d.clone());
                    break;
                }
            }
            bad
        };
        if let Some(def) = invalid {
            return Err(self.type_error(loc, ty, &def)?);
        }
        self.merge_value(loc, ty, defs)
    }

    fn first_invalid(&mut self, ty: TypeId, defs: &[Def]) -> Result<Def> {
        for d in defs {
            let v = self.force(&d.value)?;
            if !self.check(ty, &v)? {
                return Ok(d.clone());
            }
        }
        // Each definition fits one alternative, but not all the same one.
        defs.last().cloned().ok_or_else(no_definitions)
    }

    fn type_error(&mut self, loc: &[String], ty: TypeId, def: &Def) -> Result<Error> {
        let desc = self.schema.ty(ty).description.clone();
        let option = show_option(loc);
        let v = self.force(&def.value)?;
        let err = if matches!(v, Value::Path(_)) {
            Error::new(
                ErrorKind::PathLiteral,
                format!(
                    "A definition for option `{option}' is a Nix path literal, which would copy the file into the world-readable Nix store; it must be of type `{desc}' (give the path as a string)."
                ),
            )
            .with_label("path literal")
        } else {
            Error::new(
                ErrorKind::OptionType,
                format!("A definition for option `{option}' is not of type `{desc}'."),
            )
            .with_label(format!("{} is not a valid value here", v.describe()))
        };
        Ok(err.with_option(option).at(def.value.span()))
    }

    fn is_v2(&self, ty: TypeId) -> bool {
        matches!(
            self.schema.ty(ty).kind,
            TypeKind::ListOf(_)
                | TypeKind::AttrsOf(_)
                | TypeKind::Either(..)
                | TypeKind::Submodule(_)
        )
    }

    /// Whether a type rejects these definitions as a whole (`headError` for
    /// v2 types, the per-value check otherwise).
    fn fails(&mut self, ty: TypeId, defs: &[Def]) -> Result<bool> {
        if self.is_v2(ty) {
            return self.head_error(ty, defs);
        }
        for d in defs {
            let v = self.force(&d.value)?;
            if !self.check(ty, &v)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn head_error(&mut self, ty: TypeId, defs: &[Def]) -> Result<bool> {
        match self.schema.ty(ty).kind {
            TypeKind::Either(l, r) => Ok(self.fails(l, defs)? && self.fails(r, defs)?),
            _ => {
                for d in defs {
                    let v = self.force(&d.value)?;
                    if !self.check(ty, &v)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// A type's `check`: shallow, on a forced value.
    pub(crate) fn check(&mut self, ty: TypeId, v: &Value) -> Result<bool> {
        let schema = self.schema;
        Ok(match &schema.ty(ty).kind {
            TypeKind::Bool => matches!(v, Value::Bool(_)),
            TypeKind::Int => matches!(v, Value::Int(_)),
            TypeKind::Float => matches!(v, Value::Float(_)),
            TypeKind::Str => matches!(v, Value::Str(_)),
            TypeKind::PositiveInt => matches!(v, Value::Int(i) if *i > 0),
            TypeKind::Port => matches!(v, Value::Int(i) if (0..=65535).contains(i)),
            TypeKind::Enum(values) => values.iter().any(|j| json_equals(v, j)),
            TypeKind::StrMatching(p) => match v {
                Value::Str(s) => p.regex()?.is_match(s.as_bytes()),
                _ => false,
            },
            TypeKind::NullOr(e) => matches!(v, Value::Null) || self.check(*e, v)?,
            TypeKind::ListOf(_) => matches!(v, Value::List(_)),
            TypeKind::AttrsOf(_) => matches!(v, Value::Attrs(_)),
            TypeKind::Either(l, r) => self.check(*l, v)? || self.check(*r, v)?,
            TypeKind::Submodule(_) => match v {
                Value::Attrs(_) | Value::Lambda(_) | Value::Prim(_) | Value::Path(_) => true,
                Value::Str(s) => s.starts_with('/'),
                _ => false,
            },
            // Both validate in their merge, so that no error shows a value.
            TypeKind::AbsolutePathString | TypeKind::SecretTrap => true,
        })
    }

    fn empty_value(&mut self, loc: &[String], ty: TypeId) -> Result<Option<Thunk>> {
        Ok(match self.schema.ty(ty).kind {
            TypeKind::NullOr(_) => Some(Thunk::value(Value::Null, None)),
            TypeKind::ListOf(_) => Some(Thunk::value(Value::List(Rc::new(Vec::new())), None)),
            TypeKind::AttrsOf(_) => {
                Some(Thunk::value(Value::Attrs(Rc::new(Attrs::default())), None))
            }
            TypeKind::Submodule(set) => Some(self.submodule_value(loc, set, Vec::new(), None)),
            _ => None,
        })
    }

    /// A type's `merge` on checked definitions.
    fn merge_value(&mut self, loc: &[String], ty: TypeId, defs: &[Def]) -> Result<Thunk> {
        let schema = self.schema;
        match &schema.ty(ty).kind {
            TypeKind::Bool
            | TypeKind::Int
            | TypeKind::Float
            | TypeKind::Str
            | TypeKind::PositiveInt
            | TypeKind::Port
            | TypeKind::Enum(_)
            | TypeKind::StrMatching(_) => self.merge_equal(loc, defs),
            TypeKind::AbsolutePathString => self.merge_path(loc, defs),
            TypeKind::NullOr(e) => {
                let mut nulls = 0;
                for d in defs {
                    if matches!(self.force(&d.value)?, Value::Null) {
                        nulls += 1;
                    }
                }
                let first = defs.first().ok_or_else(no_definitions)?;
                if nulls == 0 {
                    self.merge_value(loc, *e, defs)
                } else if nulls == defs.len() {
                    Ok(first.value.clone())
                } else {
                    let mut non_null = first.value.span();
                    for d in defs {
                        if !matches!(self.force(&d.value)?, Value::Null) {
                            non_null = d.value.span();
                            break;
                        }
                    }
                    Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "The option `{}` is defined both null and not null.",
                            show_option(loc)
                        ),
                    )
                    .with_option(show_option(loc))
                    .with_label("not null here, null elsewhere")
                    .at(non_null))
                }
            }
            TypeKind::Either(l, r) => {
                if !self.fails(*l, defs)? {
                    self.merge_value(loc, *l, defs)
                } else if !self.fails(*r, defs)? {
                    self.merge_value(loc, *r, defs)
                } else if let [only] = defs {
                    Ok(only.value.clone())
                } else {
                    // lib's mergeOneOption, after its "did not pass the
                    // type-check of the 'either' type" warning.
                    Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "The option `{}' is defined multiple times while it's expected to be unique.",
                            show_option(loc)
                        ),
                    )
                    .with_option(show_option(loc))
                    .with_label("definitions of different types")
                    .at(defs.last().and_then(|d| d.value.span())))
                }
            }
            TypeKind::AttrsOf(elem) => self.merge_attrs_of(loc, *elem, defs),
            TypeKind::ListOf(elem) => self.merge_list_of(loc, *elem, defs),
            TypeKind::Submodule(set) => {
                let mut modules = Vec::new();
                // The submodule's own evalModules sees its modules in reverse.
                for d in defs.iter().rev() {
                    match self.force(&d.value)? {
                        Value::Attrs(_) => modules.push(super::modules::ModuleDef {
                            file: d.file.clone(),
                            config: d.value.clone(),
                        }),
                        _ => {
                            return Err(Error::unsupported(
                                "a submodule defined by a function or path",
                            )
                            .with_option(show_option(loc))
                            .at(d.value.span()))
                        }
                    }
                }
                let span = defs.first().and_then(|d| d.value.span());
                Ok(self.submodule_value(loc, *set, modules, span))
            }
            TypeKind::SecretTrap => {
                for d in defs {
                    if !matches!(self.force(&d.value)?, Value::Null) {
                        return Err(self.trap_error(loc, d));
                    }
                }
                Ok(Thunk::value(Value::Null, None))
            }
        }
    }

    fn trap_error(&self, loc: &[String], def: &Def) -> Error {
        let secrets = self.secrets;
        let rel: Vec<String> = loc.iter().skip(self.schema.prefix.len()).cloned().collect();
        let replacement = secrets
            .traps
            .iter()
            .find(|t| t.path == rel)
            .map(|t| t.replacement.clone())
            .unwrap_or_else(|| "the matching file option".to_string());
        let option = show_option(loc);
        Error::new(
            ErrorKind::LiteralSecret,
            format!(
                "secure-mattermost: [{}] option `{option}' would put a secret into the world-readable Nix store; set {replacement} to a file path (or Kubernetes Secret reference) instead. The value is not shown.",
                secrets.literal_rule
            ),
        )
        .with_option(option)
        .with_rule(secrets.literal_rule.clone())
        .at(def.value.span())
    }

    /// `absolutePathString`'s merge (modules/types.nix): every definition a
    /// safe path string, all equal; fixed messages that never show a value.
    fn merge_path(&mut self, loc: &[String], defs: &[Def]) -> Result<Thunk> {
        let secrets = self.secrets;
        let option = show_option(loc);
        let mut bad = None;
        for d in defs {
            let v = self.force(&d.value)?;
            let safe = matches!(&v, Value::Str(s) if secrets.is_safe_path(s));
            if !safe {
                bad = Some((d, matches!(v, Value::Path(_))));
                break;
            }
        }
        match bad {
            Some((d, true)) => {
                return Err(Error::new(
                    ErrorKind::PathLiteral,
                    format!(
                        "secure-mattermost: option `{option}' is given a Nix path literal, which would copy the file into the world-readable Nix store; give the file as an absolute path string instead (\"/run/secrets/...\")."
                    ),
                )
                .with_option(option)
                .with_label("path literal")
                .at(d.value.span()))
            }
            Some((d, false)) => {
                return Err(Error::new(
                    ErrorKind::OptionType,
                    format!(
                        "secure-mattermost: option `{option}' is not a valid file path: {}. The value is not shown.",
                        secrets.path_rule
                    ),
                )
                .with_option(option)
                .with_label("not a valid file path")
                .without_source()
                .at(d.value.span()))
            }
            None => {}
        }
        let Some((first, rest)) = defs.split_first() else {
            return Err(no_definitions());
        };
        let a = self.force(&first.value)?;
        for d in rest {
            let b = self.force(&d.value)?;
            if !self.equal(&a, &b)? {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "secure-mattermost: option `{option}' has conflicting definitions; a file path must be defined once (or with lib.mkForce / lib.mkDefault). The values are not shown."
                    ),
                )
                .with_option(option)
                .with_label("differs from another definition")
                .without_source()
                .at(d.value.span()));
            }
        }
        Ok(first.value.clone())
    }

    /// lib's `mergeEqualOption`.
    fn merge_equal(&mut self, loc: &[String], defs: &[Def]) -> Result<Thunk> {
        let Some((first, rest)) = defs.split_first() else {
            return Err(no_definitions());
        };
        let a = self.force(&first.value)?;
        for d in rest {
            let b = self.force(&d.value)?;
            if !self.equal(&a, &b)? {
                let other = first
                    .value
                    .span()
                    .and_then(|s| self.sources.get(s.file).map(|f| (f, s)))
                    .map(|(f, s)| {
                        let (line, col) = f.line_col(s.start as usize);
                        format!("{}:{line}:{col}", f.display_name())
                    })
                    .unwrap_or_else(|| first.file.to_string());
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("The option `{}' has conflicting definition values.", show_option(loc)),
                )
                .with_option(show_option(loc))
                .with_label(format!("conflicts with the definition at {other}"))
                .with_help("Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.")
                .at(d.value.span()));
            }
        }
        Ok(first.value.clone())
    }

    fn merge_attrs_of(&mut self, loc: &[String], elem: TypeId, defs: &[Def]) -> Result<Thunk> {
        let mut by_name: BTreeMap<Rc<str>, (Option<super::source::Span>, Vec<Def>)> =
            BTreeMap::new();
        for d in defs {
            let Value::Attrs(a) = self.force(&d.value)? else {
                return Err(self.type_error(loc, elem, d)?);
            };
            if a.namespace.is_some() {
                return Err(
                    Error::unsupported("`lib` or `builtins` as an option value").at(d.value.span())
                );
            }
            for (name, attr) in &a.map {
                let entry = by_name
                    .entry(name.clone())
                    .or_insert_with(|| (attr.key_span, Vec::new()));
                entry.1.push(Def {
                    file: d.file.clone(),
                    value: attr.value.clone(),
                });
            }
        }
        let mut out = Attrs::default();
        for (name, (key_span, elem_defs)) in by_name {
            let mut sub = loc.to_vec();
            sub.push(name.to_string());
            let finals = self.final_definitions(&elem_defs)?;
            if finals.is_empty() {
                continue;
            }
            let t = Thunk::native(None, move |ev| ev.merged_value(&sub, elem, &finals));
            out.map.insert(name, Attr { value: t, key_span });
        }
        Ok(Thunk::value(
            Value::Attrs(Rc::new(out)),
            defs.first().and_then(|d| d.value.span()),
        ))
    }

    fn merge_list_of(&mut self, loc: &[String], elem: TypeId, defs: &[Def]) -> Result<Thunk> {
        let mut out = Vec::new();
        for (n, d) in defs.iter().enumerate() {
            let Value::List(items) = self.force(&d.value)? else {
                return Err(self.type_error(loc, elem, d)?);
            };
            for (m, item) in items.iter().enumerate() {
                let mut sub = loc.to_vec();
                sub.push(format!("[definition {}-entry {}]", n + 1, m + 1));
                let finals = self.final_definitions(&[Def {
                    file: d.file.clone(),
                    value: item.clone(),
                }])?;
                if finals.is_empty() {
                    continue;
                }
                out.push(Thunk::native(None, move |ev| {
                    ev.merged_value(&sub, elem, &finals)
                }));
            }
        }
        Ok(Thunk::value(
            Value::List(Rc::new(out)),
            defs.first().and_then(|d| d.value.span()),
        ))
    }
}

fn no_definitions() -> Error {
    Error::eval("internal: merging no definitions")
}

/// Nix equality between a value and a JSON scalar (enum values, defaults).
fn json_equals(v: &Value, j: &Json) -> bool {
    match (v, j) {
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Str(a), Json::String(b)) => a.as_ref() == b,
        (Value::Int(a), Json::Number(n)) => n.as_i64() == Some(*a) || n.as_f64() == Some(*a as f64),
        (Value::Float(a), Json::Number(n)) => n.as_f64() == Some(*a),
        _ => false,
    }
}

/// A JSON value (option defaults) as a Nix value.
pub(crate) fn json_to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::str(s),
        Json::Array(items) => Value::List(Rc::new(
            items
                .iter()
                .map(|i| Thunk::value(json_to_value(i), None))
                .collect(),
        )),
        Json::Object(map) => {
            let mut a = Attrs::default();
            for (k, v) in map {
                a.insert(k, Thunk::value(json_to_value(v), None));
            }
            Value::Attrs(Rc::new(a))
        }
    }
}
