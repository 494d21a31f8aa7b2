//! The module system: loading modules and their imports, pushing properties
//! down the option tree, matching definitions to declared options, and the
//! lazy `config` every module sees, as lib's `evalModules` does.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::error::{Error, ErrorKind, Result};
use super::eval::Eval;
use super::merge::{json_to_value, show_option, Def};
use super::prims;
use super::schema::{Node, SetId};
use super::source::Span;
use super::value::*;

/// Deepest chain of `imports` followed (a module importing a module
/// importing …); real declarations nest a few levels.
const MAX_IMPORT_DEPTH: usize = 512;

/// One module's contribution: its file and its `config` (possibly wrapped in
/// `mkIf`/`mkMerge`/`mkOverride`).
#[derive(Clone)]
pub(crate) struct ModuleDef {
    pub file: Rc<str>,
    pub config: Thunk,
}

/// The pushed-down definitions at one level of the option tree.
struct Level {
    cfgs: Vec<(Rc<str>, Rc<Attrs>)>,
}

pub(crate) struct ModuleSystem {
    id: usize,
    /// Absolute location of this evaluation (non-empty for submodules).
    prefix: Vec<String>,
    set: SetId,
    /// `None` while the modules are still being collected.
    modules: RefCell<Option<Vec<ModuleDef>>>,
    levels: RefCell<HashMap<Vec<String>, Rc<Level>>>,
    in_progress: RefCell<HashSet<Vec<String>>>,
    config: RefCell<Option<Value>>,
}

/// Where a module comes from, while collecting imports.
enum Source {
    /// A file, and where it is imported (`None` for the declaration itself).
    File(PathBuf, Option<Span>),
    Inline(Thunk),
}

struct Loaded {
    key: String,
    file: Rc<str>,
    config: Thunk,
    imports: Vec<Source>,
}

impl Eval {
    pub(crate) fn new_system(
        &mut self,
        prefix: Vec<String>,
        set: SetId,
        modules: Option<Vec<ModuleDef>>,
    ) -> Rc<ModuleSystem> {
        let sys = Rc::new(ModuleSystem {
            id: self.systems.len(),
            prefix,
            set,
            modules: RefCell::new(modules),
            levels: RefCell::new(HashMap::new()),
            in_progress: RefCell::new(HashSet::new()),
            config: RefCell::new(None),
        });
        self.systems.push(sys.clone());
        let config = self.config_tree(&sys, self.schema.set(set), &[]);
        *sys.config.borrow_mut() = Some(config);
        sys
    }

    /// `config`: the option tree with each option's merged value as a thunk.
    fn config_tree(
        &mut self,
        sys: &Rc<ModuleSystem>,
        node: &'static Node,
        path: &[String],
    ) -> Value {
        let mut attrs = Attrs::default();
        if let Node::Group(children) = node {
            for (name, child) in children {
                let mut sub = path.to_vec();
                sub.push(name.clone());
                let t = match child {
                    Node::Group(_) => Thunk::value(self.config_tree(sys, child, &sub), None),
                    Node::Option(_) => {
                        let id = sys.id;
                        Thunk::native(None, move |ev| {
                            let sys = ev.systems[id].clone();
                            ev.option_value(&sys, &sub)
                        })
                    }
                    // `config` has no `_module` (lib removes it).
                    Node::Internal => continue,
                };
                attrs.insert(name, t);
            }
        }
        Value::Attrs(Rc::new(attrs))
    }

    pub(crate) fn system_config(&self, sys: &ModuleSystem) -> Value {
        sys.config
            .borrow()
            .clone()
            .unwrap_or_else(|| Value::Attrs(Rc::new(Attrs::default())))
    }

    /// The top-level evaluation of one declaration file.
    pub(crate) fn top_level_system(&mut self, file: &Path) -> Result<Rc<ModuleSystem>> {
        let sys = self.new_system(Vec::new(), self.schema.root, None);
        let modules = self.collect_modules(&sys, file)?;
        *sys.modules.borrow_mut() = Some(modules);
        Ok(sys)
    }

    /// Imports followed breadth-first, each module once (by key), then
    /// reversed: the order lib's `evalModules` hands definitions on in.
    fn collect_modules(&mut self, sys: &Rc<ModuleSystem>, root: &Path) -> Result<Vec<ModuleDef>> {
        let mut queue: VecDeque<(Source, Rc<str>, String, usize, usize)> = VecDeque::new();
        queue.push_back((
            Source::File(root.to_path_buf(), None),
            Rc::from(""),
            String::new(),
            1,
            0,
        ));
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        while let Some((source, parent_file, parent_key, n, depth)) = queue.pop_front() {
            if depth > MAX_IMPORT_DEPTH {
                // Keys name the whole chain of anonymous imports, so deeper
                // chains (built by recursion) would cost quadratic time.
                let at = match &source {
                    Source::File(_, span) => *span,
                    Source::Inline(t) => t.span(),
                };
                return Err(Error::unsupported(format!(
                    "`imports` nested more than {MAX_IMPORT_DEPTH} modules deep"
                ))
                .at(at));
            }
            let loaded = self.load_module(sys, source, &parent_file, &parent_key, n)?;
            if !seen.insert(loaded.key.clone()) {
                continue;
            }
            for (i, import) in loaded.imports.into_iter().enumerate() {
                queue.push_back((import, loaded.file.clone(), loaded.key.clone(), i + 1, depth + 1));
            }
            order.push(ModuleDef {
                file: loaded.file,
                config: loaded.config,
            });
        }
        order.reverse();
        Ok(order)
    }

    fn load_module(
        &mut self,
        sys: &Rc<ModuleSystem>,
        source: Source,
        parent_file: &Rc<str>,
        parent_key: &str,
        n: usize,
    ) -> Result<Loaded> {
        let (key, file, thunk) = match source {
            Source::File(path, imported_at) => {
                let name: Rc<str> = Rc::from(path.display().to_string());
                // Like `import`, an imported directory means its default.nix
                // (the module keeps the directory's name, as in lib). The
                // declaration given to the evaluator must be a file.
                let file = if imported_at.is_some() && path.is_dir() {
                    path.join("default.nix")
                } else {
                    path
                };
                let t = self.import_file(&file).map_err(|e| e.at(imported_at))?;
                (name.to_string(), name, t)
            }
            Source::Inline(t) => (format!("{parent_key}:anon-{n}"), parent_file.clone(), t),
        };
        let mut value = self.force(&thunk)?;
        // A function's result is taken as a module as it is: even `mkMerge`
        // works there (lib only inspects `_type` of non-function modules).
        let called = value.is_function();
        if called {
            let args = self.module_args(sys, &value);
            let span = thunk.span();
            let at = span.unwrap_or(Span {
                file: super::source::FileId(0),
                start: 0,
                end: 0,
            });
            value = self.apply(value, args, at).map_err(|e| e.at(span))?;
        }
        let Value::Attrs(m) = value else {
            return Err(Error::new(
                ErrorKind::Module,
                format!(
                    "module {file} ({key}) does not look like a module: it is {}",
                    value.describe()
                ),
            )
            .with_label("expected a module (an attribute set or a function returning one)")
            .at(thunk.span()));
        };
        if m.namespace.is_some() {
            return Err(Error::unsupported("`lib` or `builtins` as a module").at(thunk.span()));
        }
        let module_value = Value::Attrs(m.clone());
        if let Some(kind) = self.property_type(&module_value)?.filter(|_| !called) {
            return match kind.as_ref() {
                "if" | "override" => Ok(Loaded {
                    key,
                    file,
                    config: Thunk::value(module_value, thunk.span()),
                    imports: Vec::new(),
                }),
                other => Err(Error::new(
                    ErrorKind::Module,
                    format!("a value of type `{other}` is not a module"),
                )
                .at(thunk.span())),
            };
        }
        for special in [
            "_class",
            "_file",
            "key",
            "disabledModules",
            "meta",
            "freeformType",
            "require",
        ] {
            if let Some(attr) = m.map.get(special) {
                return Err(
                    Error::unsupported(format!("the module attribute `{special}`"))
                        .at(attr.key_span.or(thunk.span())),
                );
            }
        }
        let explicit = m.get("config").is_some() || m.get("options").is_some();
        let config = if explicit {
            let allowed = ["imports", "options", "config"];
            if let Some((bad, attr)) = m.map.iter().find(|(k, _)| !allowed.contains(&k.as_ref())) {
                let names: Vec<&str> = m
                    .map
                    .keys()
                    .filter(|k| !allowed.contains(&k.as_ref()))
                    .map(|k| k.as_ref())
                    .collect();
                return Err(Error::new(
                    ErrorKind::Module,
                    format!(
                        "Module `{key}' has an unsupported attribute `{bad}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: {}) into the explicit `config' attribute.",
                        names.join(" ")
                    ),
                )
                .at(attr.key_span.or(thunk.span())));
            }
            if let Some(opts) = m.map.get("options") {
                match self.force(&opts.value)? {
                    Value::Attrs(a) if a.map.is_empty() && a.namespace.is_none() => {}
                    _ => {
                        return Err(Error::unsupported("declaring options in a declaration")
                            .at(opts.key_span.or(opts.value.span())))
                    }
                }
            }
            match m.get("config") {
                Some(c) => c.clone(),
                None => Thunk::value(Value::Attrs(Rc::new(Attrs::default())), None),
            }
        } else {
            let mut rest = (*m).clone();
            rest.map.remove("imports");
            Thunk::value(Value::Attrs(Rc::new(rest)), thunk.span())
        };
        let mut imports = Vec::new();
        if let Some(list) = m.get("imports").cloned() {
            let items = match self.force(&list)? {
                Value::List(l) => l,
                other => {
                    return Err(Error::eval(format!(
                        "`imports` is {} while a list was expected",
                        other.describe()
                    ))
                    .at(list.span()))
                }
            };
            for item in items.iter() {
                match self.force(item)? {
                    Value::Path(p) => imports.push(Source::File(p.to_path_buf(), item.span())),
                    Value::Attrs(_) | Value::Lambda(_) | Value::Prim(_) => imports.push(Source::Inline(item.clone())),
                    Value::List(_) => {
                        return Err(Error::new(
                            ErrorKind::Module,
                            "Module imports can't be nested lists. Perhaps you meant to remove one level of lists?",
                        )
                        .at(item.span()))
                    }
                    Value::Str(_) => return Err(Error::unsupported("a string in `imports` (use a path literal)").at(item.span())),
                    other => {
                        return Err(Error::new(ErrorKind::Module, format!("an import is {}, not a module", other.describe()))
                            .at(item.span()))
                    }
                }
            }
        }
        Ok(Loaded {
            key,
            file,
            config,
            imports,
        })
    }

    /// The argument set a module function is called with.
    fn module_args(&mut self, sys: &Rc<ModuleSystem>, f: &Value) -> Thunk {
        let mut args = Attrs::default();
        args.insert("config", Thunk::value(self.system_config(sys), None));
        args.insert("lib", Thunk::value(prims::lib_value(), None));
        args.insert(
            "specialArgs",
            Thunk::value(Value::Attrs(Rc::new(Attrs::default())), None),
        );
        args.insert("_class", Thunk::value(Value::Null, None));
        args.insert(
            "_prefix",
            Thunk::value(Value::List(Rc::new(Vec::new())), None),
        );
        args.insert(
            "options",
            Thunk::native(None, |_| {
                Err(Error::unsupported("the module argument `options`"))
            }),
        );
        if let Value::Lambda(c) = f {
            if let super::ast::Param::Pattern { entries, .. } = &c.lambda.param {
                // No spans: errors should point where an argument is used.
                for (name, _, _) in entries {
                    if args.get(name).is_some() {
                        continue;
                    }
                    let t = match name.as_ref() {
                        "pkgs" => Thunk::native(None, |_| {
                            Err(Error::eval(
                                "secure-mattermost: `pkgs` is not available in a standalone evaluation; declarations must not need it.",
                            ))
                        }),
                        "extendModules" | "moduleType" => {
                            let what = format!("the module argument `{name}`");
                            Thunk::native(None, move |_| Err(Error::unsupported(&what)))
                        }
                        other => {
                            let msg = format!("the module argument `{other}' is not provided (attribute '{other}' missing in `_module.args')");
                            Thunk::native(None, move |_| Err(Error::eval(msg.clone())))
                        }
                    };
                    args.insert(name, t);
                }
            }
        }
        Thunk::value(Value::Attrs(Rc::new(args)), None)
    }

    /// lib's `pushDownProperties`: `mkMerge` spliced, `mkIf`/`mkOverride`
    /// moved onto each attribute.
    fn push_down(&mut self, t: &Thunk, out: &mut Vec<Thunk>) -> Result<()> {
        self.nested(t.span(), |ev| ev.push_down_inner(t, out))
    }

    fn push_down_inner(&mut self, t: &Thunk, out: &mut Vec<Thunk>) -> Result<()> {
        let v = self.force(t)?;
        let kind = self.property_type(&v)?;
        match kind.as_deref() {
            Some("merge") => {
                let contents = self.property_field(&v, "contents")?;
                let Value::List(items) = self.force(&contents)? else {
                    return Err(Error::eval("mkMerge: contents is not a list").at(contents.span()));
                };
                for item in items.iter() {
                    self.push_down(item, out)?;
                }
                Ok(())
            }
            Some(k @ ("if" | "override")) => {
                let (field, prop) = if k == "if" {
                    ("condition", "if")
                } else {
                    ("priority", "override")
                };
                let param = self.property_field(&v, field)?;
                let content = self.property_field(&v, "content")?;
                let mut inner = Vec::new();
                self.push_down(&content, &mut inner)?;
                for r in inner {
                    match self.force(&r)? {
                        Value::Attrs(a) => {
                            let mut mapped = Attrs::default();
                            for (name, attr) in &a.map {
                                let mut p = Attrs::default();
                                p.insert("_type", Thunk::value(Value::str(prop), None));
                                p.insert(field, param.clone());
                                p.insert("content", attr.value.clone());
                                mapped.map.insert(
                                    name.clone(),
                                    Attr {
                                        value: Thunk::value(
                                            Value::Attrs(Rc::new(p)),
                                            attr.value.span(),
                                        ),
                                        key_span: attr.key_span,
                                    },
                                );
                            }
                            out.push(Thunk::value(Value::Attrs(Rc::new(mapped)), r.span()));
                        }
                        _ => out.push(r),
                    }
                }
                Ok(())
            }
            _ => {
                out.push(t.clone());
                Ok(())
            }
        }
    }

    /// The definitions at `path` (relative to the system), pushed down and
    /// checked to be attribute sets, computed once.
    fn level(&mut self, sys: &Rc<ModuleSystem>, path: &[String]) -> Result<Rc<Level>> {
        if let Some(l) = sys.levels.borrow().get(path) {
            return Ok(l.clone());
        }
        if !sys.in_progress.borrow_mut().insert(path.to_vec()) {
            return Err(Error::eval("infinite recursion encountered: the attribute names of a declaration depend on `config`"));
        }
        let r = self.compute_level(sys, path);
        sys.in_progress.borrow_mut().remove(path);
        let level = Rc::new(r?);
        sys.levels.borrow_mut().insert(path.to_vec(), level.clone());
        Ok(level)
    }

    fn compute_level(&mut self, sys: &Rc<ModuleSystem>, path: &[String]) -> Result<Level> {
        let mut raw: Vec<(Rc<str>, Thunk)> = Vec::new();
        match path.split_last() {
            None => {
                let modules = sys.modules.borrow().clone().ok_or_else(|| {
                    Error::eval("infinite recursion encountered: `imports` depend on `config`")
                        .with_help(
                            "import unconditionally and use `lib.mkIf` to control the effect",
                        )
                })?;
                for m in modules {
                    let mut pushed = Vec::new();
                    self.push_down(&m.config, &mut pushed)?;
                    raw.extend(pushed.into_iter().map(|t| (m.file.clone(), t)));
                }
            }
            Some((name, parent)) => {
                let parent = self.level(sys, parent)?;
                for (file, attrs) in &parent.cfgs {
                    if let Some(t) = attrs.get(name) {
                        let mut pushed = Vec::new();
                        self.push_down(t, &mut pushed)?;
                        raw.extend(pushed.into_iter().map(|t| (file.clone(), t)));
                    }
                }
            }
        }
        let mut cfgs = Vec::new();
        for (file, t) in raw {
            match self.force(&t)? {
                Value::Attrs(a) if a.namespace.is_none() => cfgs.push((file, a)),
                other => {
                    let mut loc = sys.prefix.clone();
                    loc.extend(path.iter().cloned());
                    let option = loc.join(".");
                    return Err(Error::new(
                        ErrorKind::OptionType,
                        format!(
                            "In module `{file}', you're trying to define a value of type `{}' rather than an attribute set for the option `{option}'!",
                            nix_type_name(&other)
                        ),
                    )
                    .with_option(option)
                    .with_label("expected an attribute set")
                    .at(t.span()));
                }
            }
        }
        Ok(Level { cfgs })
    }

    /// lib's `evalOptionValue`: the default (priority 1500) plus the
    /// definitions, merged.
    pub(crate) fn option_value(
        &mut self,
        sys: &Rc<ModuleSystem>,
        path: &[String],
    ) -> Result<Thunk> {
        let Some(Node::Option(decl)) = lookup_node(self.schema.set(sys.set), path) else {
            return Err(Error::eval(format!(
                "internal: no option at {}",
                path.join(".")
            )));
        };
        let mut defs = Vec::new();
        if let Some(default) = &decl.default {
            let mut p = Attrs::default();
            p.insert("_type", Thunk::value(Value::str("override"), None));
            p.insert("priority", Thunk::value(Value::Int(1500), None));
            p.insert("content", Thunk::value(json_to_value(default), None));
            defs.push(Def {
                file: Rc::from("<option declaration>"),
                value: Thunk::value(Value::Attrs(Rc::new(p)), None),
            });
        }
        if let Some((name, parent)) = path.split_last() {
            let level = self.level(sys, parent)?;
            for (file, attrs) in &level.cfgs {
                if let Some(t) = attrs.get(name) {
                    defs.push(Def {
                        file: file.clone(),
                        value: t.clone(),
                    });
                }
            }
        }
        let mut loc = sys.prefix.clone();
        loc.extend(path.iter().cloned());
        let finals = self.final_definitions(&defs)?;
        self.merged_value(&loc, decl.ty, &finals)
    }

    /// A submodule's value: its own evaluation, checked when forced.
    pub(crate) fn submodule_value(
        &mut self,
        loc: &[String],
        set: SetId,
        modules: Vec<ModuleDef>,
        span: Option<Span>,
    ) -> Thunk {
        let sys = self.new_system(loc.to_vec(), set, Some(modules));
        Thunk::native(span, move |ev| {
            ev.check_unmatched(&sys)?;
            Ok(Thunk::value(ev.system_config(&sys), span))
        })
    }

    /// lib's `checkUnmatched`: every definition must meet a declared option.
    /// Like lib, all levels are visited (so malformed levels fail first) and
    /// then the first undeclared definition, in attribute order, is reported.
    /// Where the evaluation's freeform type is modules/types.nix
    /// `unknownOptionTrap` (the schema's `undeclared = "trap"`), that type's
    /// merge reports the same definition, at the same point (forcing
    /// `config`), with its fixed message and no snippet.
    pub(crate) fn check_unmatched(&mut self, sys: &Rc<ModuleSystem>) -> Result<()> {
        let mut first = None;
        let root = self.schema.set(sys.set);
        self.walk_unmatched(sys, root, &[], &mut first)?;
        let Some(Unmatched {
            path,
            file,
            span,
            siblings,
        }) = first
        else {
            return Ok(());
        };
        let mut loc = sys.prefix.clone();
        loc.extend(path.iter().cloned());
        let option = show_option(&loc);
        if self.schema.traps_undeclared(sys.set) {
            // modules/types.nix `unknownOptionTrap`: the evaluation's freeform
            // type, merging the same first definition lib would report.
            let mut err = Error::new(
                ErrorKind::UndeclaredOption,
                format!(
                    "secure-mattermost: option `{option}' does not exist (defined in {file}). The value is not shown: a misspelt option may hold a secret."
                ),
            )
            .with_option(option)
            .with_label("no module declares this option")
            .without_source()
            .at(span);
            if let Some(help) = suggestions(&loc, &siblings) {
                err = err.with_help(help);
            }
            return Err(err);
        }
        let mut err = Error::new(
            ErrorKind::UndeclaredOption,
            format!("The option `{option}' does not exist."),
        )
        .with_option(option)
        .with_label("no module declares this option")
        .at(span);
        if let Some(help) = suggestions(&loc, &siblings) {
            err = err.with_help(help);
        }
        Err(err)
    }

    fn walk_unmatched(
        &mut self,
        sys: &Rc<ModuleSystem>,
        node: &'static Node,
        path: &[String],
        first: &mut Option<Unmatched>,
    ) -> Result<()> {
        let Node::Group(children) = node else {
            return Ok(());
        };
        let level = self.level(sys, path)?;
        if level.cfgs.is_empty() {
            return Ok(());
        }
        let mut names: BTreeSet<Rc<str>> = children.keys().map(|k| Rc::from(k.as_str())).collect();
        for (_, attrs) in &level.cfgs {
            names.extend(attrs.map.keys().cloned());
        }
        for name in names {
            let mut sub = path.to_vec();
            sub.push(name.to_string());
            match children.get(name.as_ref()) {
                Some(child @ Node::Group(_)) => self.walk_unmatched(sys, child, &sub, first)?,
                Some(Node::Option(_)) => {}
                Some(Node::Internal) => {
                    if let Some(attr) = level.cfgs.iter().find_map(|(_, a)| a.map.get(&name)) {
                        return Err(Error::unsupported(format!(
                            "defining `{}`",
                            show_option(&sub)
                        ))
                        .at(attr.key_span.or(attr.value.span())));
                    }
                }
                None => {
                    if first.is_none() {
                        let def = level
                            .cfgs
                            .iter()
                            .find_map(|(f, a)| a.map.get(&name).map(|attr| (f, attr)));
                        let file = def.map(|(f, _)| f.clone()).unwrap_or_else(|| Rc::from(""));
                        let span = def.and_then(|(_, a)| a.key_span.or(a.value.span()));
                        let siblings = children
                            .iter()
                            .filter(|(k, n)| {
                                !matches!(n, Node::Internal) && k.as_str() != "_module"
                            })
                            .map(|(k, _)| k.clone())
                            .collect();
                        *first = Some(Unmatched {
                            path: sub,
                            file,
                            span,
                            siblings,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The first definition no option declares (lib's `head unmatchedDefns`).
struct Unmatched {
    /// Relative to the evaluation.
    path: Vec<String>,
    /// The module file it comes from.
    file: Rc<str>,
    span: Option<Span>,
    /// Declared names next to it, for suggestions.
    siblings: Vec<String>,
}

fn lookup_node<'a>(mut node: &'a Node, path: &[String]) -> Option<&'a Node> {
    for p in path {
        match node {
            Node::Group(g) => node = g.get(p)?,
            _ => return None,
        }
    }
    Some(node)
}

/// `builtins.typeOf`.
fn nix_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::Path(_) => "path",
        Value::List(_) => "list",
        Value::Attrs(_) => "set",
        Value::Lambda(_) | Value::Prim(_) => "lambda",
    }
}

/// "Did you mean …?", by edit distance, like lib.
fn suggestions(loc: &[String], siblings: &[String]) -> Option<String> {
    let (name, parent) = loc.split_last()?;
    let mut scored: Vec<(usize, &String)> =
        siblings.iter().map(|s| (levenshtein(name, s), s)).collect();
    scored.sort_by_key(|(d, _)| *d);
    let picks: Vec<String> = scored
        .into_iter()
        .take(3)
        .map(|(_, s)| {
            let mut l = parent.to_vec();
            l.push(s.clone());
            format!("`{}'", show_option(&l))
        })
        .collect();
    match picks.as_slice() {
        [] => None,
        [one] => Some(format!("Did you mean {one}?")),
        [init @ .., last] => Some(format!("Did you mean {} or {last}?", init.join(", "))),
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
