//! The option schema: `modules/options-schema.json`, generated from the
//! module by `nix/options-schema.nix` with nixpkgs' own option machinery.
//! Options, types and defaults come from there only.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use regex::bytes::Regex;
use serde_json::Value as Json;

use super::error::{Error, ErrorKind, Result};
use super::secrets::posix_match;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TypeId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetId(pub usize);

pub(crate) struct TypeDef {
    /// Nix's `type.description`, used in messages as Nix uses it.
    pub description: String,
    pub kind: TypeKind,
}

pub(crate) enum TypeKind {
    Bool,
    Int,
    Float,
    Str,
    PositiveInt,
    Port,
    Enum(Vec<Json>),
    StrMatching(Pattern),
    NullOr(TypeId),
    ListOf(TypeId),
    AttrsOf(TypeId),
    Either(TypeId, TypeId),
    Submodule(SetId),
    AbsolutePathString,
    SecretTrap,
}

/// A `strMatching` pattern, compiled the first time a value is checked
/// against it: a declaration sets few of the options that have one, and
/// compiling them all would sit on every evaluation's start-up.
pub(crate) struct Pattern {
    source: String,
    compiled: OnceLock<std::result::Result<Regex, String>>,
}

impl Pattern {
    fn new(source: &str) -> Pattern {
        Pattern { source: source.to_string(), compiled: OnceLock::new() }
    }

    pub fn regex(&self) -> Result<&Regex> {
        self.compiled
            .get_or_init(|| posix_match(&self.source).map_err(|e| format!("pattern {:?}: {e}", self.source)))
            .as_ref()
            .map_err(|e| Error::new(ErrorKind::Eval, format!("modules/options-schema.json: {e}")))
    }
}

pub(crate) struct OptionDecl {
    pub ty: TypeId,
    pub default: Option<Json>,
}

pub(crate) enum Node {
    Group(BTreeMap<String, Node>),
    Option(OptionDecl),
    /// `_module`: the module system's own options, not for declarations.
    Internal,
}

pub(crate) struct Schema {
    types: Vec<TypeDef>,
    sets: Vec<Node>,
    /// Sets whose evaluation refuses undeclared definitions with
    /// `unknownOptionTrap` (modules/types.nix) rather than lib's own error.
    trap_sets: HashSet<usize>,
    /// The whole option tree of the top-level evaluation.
    pub root: SetId,
    pub prefix: Vec<String>,
    pub document: serde_json::Map<String, Json>,
    pub lib_names: HashSet<String>,
}

impl Schema {
    pub fn get() -> Result<&'static Schema> {
        static SCHEMA_CELL: OnceLock<std::result::Result<Schema, String>> = OnceLock::new();
        SCHEMA_CELL
            .get_or_init(|| Schema::load(crate::options::schema_json()))
            .as_ref()
            .map_err(|e| Error::new(ErrorKind::Eval, format!("modules/options-schema.json: {e}")))
    }

    pub fn ty(&self, id: TypeId) -> &TypeDef {
        &self.types[id.0]
    }

    pub fn set(&self, id: SetId) -> &Node {
        &self.sets[id.0]
    }

    /// Whether the evaluation of this set refuses undeclared definitions with
    /// the fixed message of `unknownOptionTrap` (its `_module.freeformType`).
    pub fn traps_undeclared(&self, id: SetId) -> bool {
        self.trap_sets.contains(&id.0)
    }

    fn load(json: &Json) -> std::result::Result<Schema, String> {
        let strings = |key: &str| -> std::result::Result<Vec<String>, String> {
            json.get(key)
                .and_then(Json::as_array)
                .ok_or_else(|| format!("`{key}` is not a list"))?
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{key}` holds a non-string"))
                })
                .collect()
        };
        let mut schema = Schema {
            types: Vec::new(),
            sets: Vec::new(),
            trap_sets: HashSet::new(),
            root: SetId(0),
            prefix: strings("prefix")?,
            document: json
                .get("document")
                .and_then(Json::as_object)
                .cloned()
                .ok_or("`document` is not a set")?,
            lib_names: strings("libNames")?.into_iter().collect(),
        };
        let options = json.get("options").ok_or("no `options`")?;
        let tree = schema.option_tree(options)?;
        // Root: `_module` and every other top-level name, with the module's
        // options under the prefix.
        let mut root = BTreeMap::new();
        for name in strings("topLevel")? {
            root.insert(name, Node::Internal);
        }
        let mut node = tree;
        for name in schema.prefix.iter().rev() {
            let mut g = BTreeMap::new();
            g.insert(name.clone(), node);
            node = Node::Group(g);
        }
        if let Node::Group(g) = node {
            for (k, v) in g {
                root.insert(k, v);
            }
        }
        schema.sets.push(Node::Group(root));
        schema.root = SetId(schema.sets.len() - 1);
        if undeclared_trap(json)? {
            schema.trap_sets.insert(schema.root.0);
        }
        Ok(schema)
    }

    fn option_tree(&mut self, options: &Json) -> std::result::Result<Node, String> {
        let mut root = BTreeMap::new();
        for opt in options.as_array().ok_or("`options` is not a list")? {
            let path: Vec<String> = opt
                .get("path")
                .and_then(Json::as_array)
                .ok_or("option without `path`")?
                .iter()
                .map(|p| p.as_str().map(str::to_string).ok_or("non-string path"))
                .collect::<std::result::Result<_, _>>()?;
            let ty = self.parse_type(
                opt.get("type").ok_or("option without `type`")?,
                &mut Vec::new(),
            )?;
            let decl = OptionDecl {
                ty,
                default: opt.get("default").cloned(),
            };
            insert_option(&mut root, &path, decl)?;
        }
        Ok(Node::Group(root))
    }

    fn parse_type(
        &mut self,
        t: &Json,
        ancestors: &mut Vec<TypeId>,
    ) -> std::result::Result<TypeId, String> {
        let kind = t
            .get("kind")
            .and_then(Json::as_str)
            .ok_or("type without `kind`")?;
        if kind == "ref" {
            let up = t
                .get("up")
                .and_then(Json::as_u64)
                .ok_or("ref without `up`")? as usize;
            return ancestors
                .len()
                .checked_sub(up + 1)
                .map(|i| ancestors[i])
                .ok_or_else(|| "ref points outside the type".to_string());
        }
        let description = t
            .get("description")
            .and_then(Json::as_str)
            .ok_or("type without `description`")?
            .to_string();
        // Reserve the slot first so nested refs can point here.
        let id = TypeId(self.types.len());
        self.types.push(TypeDef {
            description,
            kind: TypeKind::Bool,
        });
        ancestors.push(id);
        let kind = self.type_kind(kind, t, ancestors);
        ancestors.pop();
        self.types[id.0].kind = kind?;
        Ok(id)
    }

    fn type_kind(
        &mut self,
        kind: &str,
        t: &Json,
        ancestors: &mut Vec<TypeId>,
    ) -> std::result::Result<TypeKind, String> {
        let mut child = |this: &mut Schema, key: &str| -> std::result::Result<TypeId, String> {
            this.parse_type(
                t.get(key)
                    .ok_or_else(|| format!("{kind} without `{key}`"))?,
                ancestors,
            )
        };
        Ok(match kind {
            "bool" => TypeKind::Bool,
            "int" => TypeKind::Int,
            "float" => TypeKind::Float,
            "str" => TypeKind::Str,
            "positiveInt" => TypeKind::PositiveInt,
            "port" => TypeKind::Port,
            "absolutePathString" => TypeKind::AbsolutePathString,
            "secretTrap" => TypeKind::SecretTrap,
            "enum" => TypeKind::Enum(
                t.get("values")
                    .and_then(Json::as_array)
                    .cloned()
                    .ok_or("enum without values")?,
            ),
            "strMatching" => {
                let p = t
                    .get("pattern")
                    .and_then(Json::as_str)
                    .ok_or("strMatching without pattern")?;
                TypeKind::StrMatching(Pattern::new(p))
            }
            "nullOr" => TypeKind::NullOr(child(self, "elem")?),
            "listOf" => TypeKind::ListOf(child(self, "elem")?),
            "attrsOf" => TypeKind::AttrsOf(child(self, "elem")?),
            "either" => {
                let l = child(self, "left")?;
                TypeKind::Either(l, child(self, "right")?)
            }
            "submodule" => {
                let tree =
                    self.option_tree(t.get("options").ok_or("submodule without options")?)?;
                let mut g = match tree {
                    Node::Group(g) => g,
                    _ => BTreeMap::new(),
                };
                g.insert("_module".to_string(), Node::Internal);
                self.sets.push(Node::Group(g));
                let id = self.sets.len() - 1;
                if undeclared_trap(t)? {
                    self.trap_sets.insert(id);
                }
                TypeKind::Submodule(SetId(id))
            }
            other => return Err(format!("unknown option type kind `{other}`")),
        })
    }
}

/// `undeclared` of the schema or of a submodule: "lib" (lib's own error) or
/// "trap" (`unknownOptionTrap`).
fn undeclared_trap(j: &Json) -> std::result::Result<bool, String> {
    match j.get("undeclared").and_then(Json::as_str) {
        Some("lib") => Ok(false),
        Some("trap") => Ok(true),
        Some(other) => Err(format!("unknown `undeclared` treatment `{other}`")),
        None => Err("no `undeclared` treatment (regenerate the schema)".to_string()),
    }
}

fn insert_option(
    group: &mut BTreeMap<String, Node>,
    path: &[String],
    decl: OptionDecl,
) -> std::result::Result<(), String> {
    match path {
        [] => Err("option with an empty path".to_string()),
        [last] => {
            group.insert(last.clone(), Node::Option(decl));
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = group
                .entry(first.clone())
                .or_insert_with(|| Node::Group(BTreeMap::new()));
            match entry {
                Node::Group(g) => insert_option(g, rest, decl),
                _ => Err(format!("option `{first}` also has sub-options")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patterns compile lazily: this keeps a bad one in the compiled-in
    /// schema a test failure, not an error some declaration meets later.
    #[test]
    fn every_pattern_compiles() {
        let schema = Schema::get().unwrap_or_else(|e| panic!("{e:?}"));
        let patterns: Vec<&Pattern> = schema
            .types
            .iter()
            .filter_map(|t| match &t.kind {
                TypeKind::StrMatching(p) => Some(p),
                _ => None,
            })
            .collect();
        assert!(!patterns.is_empty(), "the schema has strMatching types");
        for p in patterns {
            assert!(p.regex().is_ok(), "{}", p.source);
        }
    }
}
