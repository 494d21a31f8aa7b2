//! Helm's `--post-renderer` for the official chart (`secure-mattermost
//! post-render`): the chart 2.7.0 has no container-level securityContext
//! value, so its pods cannot pass Pod Security `restricted` as rendered.
//! This takes the chart's output (multi-document YAML), recognises every
//! object in it against the table of what the chart renders from our
//! values, refuses anything else, and hardens the application Deployment:
//!
//! - every container and init container gets the restricted securityContext,
//!   the pod `runAsNonRoot` and a RuntimeDefault seccomp profile when the
//!   values did not set them, and no service-account token;
//! - the root filesystem becomes read-only, so the paths the server writes
//!   get emptyDirs ([`WRITABLE`]) where the chart mounts nothing;
//! - with postgres-operator, the chart's own connection string (`MM_CONFIG`,
//!   filled from `existingDatabaseSecret`, which then holds only the role's
//!   password) is replaced by the composed DSN of `postgresql::app_env`;
//! - with more than one replica, the pods are spread over nodes;
//! - the chart's `helm test` objects (a Pod running a Docker Hub image, and
//!   its ConfigMap) are dropped.
//!
//! Everything else is written back as it was read, through our YAML writer
//! (every string double-quoted). Facts: docs/chart-facts.md, "What
//! post-render patches".

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{pdb, postgresql, restricted_container_context, RELEASE};
use crate::document::Deployment;

/// The chart whose output [`recognised`] describes.
pub const CHART: &str = "mattermost 2.7.0 (mattermost/mattermost-helm, charts/mattermost)";

/// A directory that must stay writable under a read-only root filesystem.
#[derive(Debug, Clone, Copy)]
pub struct Writable {
    pub path: &'static str,
    /// The emptyDir mounted there when the container mounts nothing there.
    pub volume: &'static str,
    /// Only in containers running the Mattermost image (else in every container).
    pub server_only: bool,
}

/// What the server writes outside its file store, below its working
/// directory (`/mattermost` in the image) or in the temporary directory.
/// `/mattermost/plugins` and `/mattermost/client/plugins` are emptyDirs the
/// chart mounts itself; the file store is S3, or the declared claim the
/// values mount at `fileStorage.directory`. `/mattermost/config` stays
/// read-only: the chart keeps the configuration in the database
/// (`MM_CONFIG` is a DSN), and the server starts and serves without
/// writing there (docs/chart-facts.md).
pub const WRITABLE: &[Writable] = &[
    // os.TempDir(): plugin installs, text extraction from uploaded
    // documents; any other container may need one too.
    Writable { path: "/tmp", volume: "tmp", server_only: false },
    // The log file (LogSettings.EnableFile, on by default) and the audit log we pin there.
    Writable { path: "/mattermost/logs", volume: "mattermost-logs", server_only: true },
];

/// What post-render does with a recognised object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Written back unchanged.
    Keep,
    /// A workload: hardened (see the module documentation).
    Harden,
    /// Dropped from the output.
    Remove,
}

/// One object the chart renders from our values.
#[derive(Debug, Clone)]
pub struct Recognised {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The object's name, or with `random_suffix` its prefix before `-`.
    pub name: String,
    /// Length of the random lowercase alphanumeric suffix the chart appends.
    pub random_suffix: Option<usize>,
    /// A `helm test` hook (`helm.sh/hook` must name a test).
    pub test_hook: bool,
    pub action: Action,
    /// The chart's template (for messages and docs).
    pub template: &'static str,
    /// Whether our values make the chart render it.
    pub rendered: fn(&Deployment) -> bool,
}

impl Recognised {
    fn matches(&self, o: &Value) -> bool {
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let name_ok = match self.random_suffix {
            None => name == self.name,
            Some(n) => name.strip_prefix(self.name.as_str()).and_then(|r| r.strip_prefix('-')).is_some_and(|s| {
                s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            }),
        };
        let hook_ok = !self.test_hook
            || o["metadata"]["annotations"]["helm.sh/hook"]
                .as_str()
                .is_some_and(|h| h.split(',').map(str::trim).any(|h| h == "test" || h == "test-success"));
        o["apiVersion"] == self.api_version && o["kind"] == self.kind && name_ok && hook_ok
    }

    /// `apiVersion kind name` as messages show it.
    pub fn label(&self) -> String {
        match self.random_suffix {
            None => format!("{} {} {}", self.api_version, self.kind, self.name),
            Some(n) => format!("{} {} {}-<{n} random characters>", self.api_version, self.kind, self.name),
        }
    }
}

/// The chart's `fullname` for our release: the release name when it
/// contains the chart name (`mattermost`), else `<release>-mattermost`.
pub fn chart_fullname() -> String {
    if RELEASE.contains("mattermost") {
        RELEASE.to_string()
    } else {
        format!("{RELEASE}-mattermost")
    }
}

fn always(_: &Deployment) -> bool {
    true
}

fn team_edition(d: &Deployment) -> bool {
    d.license.edition == "team"
}

/// Every object the chart renders with the values of `helm.rs` and the
/// release `RELEASE` (found with `helm template` on the shipped examples
/// and variants: replicas 3, SAML, NFS, local, team edition; docs/chart-facts.md).
pub fn recognised() -> Vec<Recognised> {
    let full = chart_fullname();
    let r = |api_version, kind, name: String, action, template, rendered: fn(&Deployment) -> bool| Recognised {
        api_version,
        kind,
        name,
        random_suffix: None,
        test_hook: false,
        action,
        template,
        rendered,
    };
    vec![
        r("v1", "Service", full.clone(), Action::Keep, "templates/service-mattermost-app.yaml", always),
        r("apps/v1", "Deployment", full.clone(), Action::Harden, "templates/deployment-mattermost-app.yaml", always),
        r("networking.k8s.io/v1", "Ingress", full.clone(), Action::Keep, "templates/ingress-mattermost-app.yaml", always),
        // Without a licence Secret of ours (team edition) the chart renders
        // its own, holding its `mattermostLicense` value: empty with our values.
        r("v1", "Secret", format!("{full}-mattermost-license"), Action::Keep, "templates/secret-mattermost-license.yaml", team_edition),
        r("v1", "ConfigMap", format!("{full}-app-tests"), Action::Remove, "templates/tests/mattermost-app-config-test.yaml", always),
        Recognised {
            random_suffix: Some(5),
            test_hook: true,
            ..r("v1", "Pod", format!("{full}-app-test"), Action::Remove, "templates/tests/mattermost-app-test.yaml", always)
        },
    ]
}

/// Why post-render refused its input (exit 2; nothing is written to stdout).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PostRenderError {
    #[error("<stdin>: not UTF-8 (invalid byte sequence at byte offset {offset})")]
    #[diagnostic(code(sm::post_render::not_utf8), help("post-render reads the manifests helm renders (UTF-8 YAML) on stdin"))]
    NotUtf8 { offset: usize },

    #[error("<stdin>: more than {limit} bytes of manifests")]
    #[diagnostic(code(sm::post_render::too_large), help("the chart renders a few hundred kilobytes at most; this is not its output"))]
    TooLarge { limit: usize },

    #[error("<stdin>: document {document} is not valid YAML: {detail}")]
    #[diagnostic(code(sm::post_render::not_yaml), help("post-render reads the multi-document YAML `helm template` or `helm install --post-renderer` produces"))]
    NotYaml { document: usize, detail: String },

    #[error("<stdin>: document {document} is {found}, not a Kubernetes object")]
    #[diagnostic(code(sm::post_render::not_an_object), help("every document of the chart's output is a mapping with apiVersion, kind and metadata.name"))]
    NotAnObject { document: usize, found: String },

    #[error("<stdin>: {what}")]
    #[diagnostic(
        code(sm::post_render::ambiguous_yaml),
        help("Kubernetes reads YAML 1.1 and this reader YAML 1.2; the chart quotes such values, so this input was made elsewhere")
    )]
    Ambiguous { what: String },

    #[error("<stdin>: document {document}: unrecognised object {object}")]
    #[diagnostic(code(sm::post_render::unrecognised), help("post-render hardens only what the chart renders from the values secure-mattermost wrote, {known}"))]
    Unrecognised { document: usize, object: String, known: String },

    #[error("<stdin>: {object} appears {count} times")]
    #[diagnostic(code(sm::post_render::duplicate_object))]
    DuplicateObject { object: String, count: usize },

    #[error("<stdin>: {object} is missing: the chart renders it from these values")]
    #[diagnostic(
        code(sm::post_render::missing_object),
        help("give post-render the chart's whole output, rendered from the values.yaml of this declaration")
    )]
    MissingObject { object: String },

    #[error("<stdin>: {object}: {path} is {found}, expected {expected}")]
    #[diagnostic(
        code(sm::post_render::unexpected),
        help("post-render must be given the declaration the chart's values.yaml was rendered from (`render --out`), and the chart {chart}")
    )]
    Unexpected { object: String, path: String, found: String, expected: String, chart: String },

    #[error("<stdin>: {object}: container `{container}` sets the environment variable {name} more than once")]
    #[diagnostic(
        code(sm::post_render::duplicate_env),
        help("Kubernetes keeps the last of duplicate names, so which value the server gets depends on the order; the values secure-mattermost writes never duplicate a name the chart sets")
    )]
    DuplicateEnv { object: String, container: String, name: String },
}

impl From<PostRenderError> for crate::error::Error {
    fn from(e: PostRenderError) -> Self {
        crate::error::Error::Eval(Box::new(e))
    }
}

/// Largest input read (the chart's output with our values is ~30 KB).
pub const MAX_INPUT: usize = 16 * 1024 * 1024;

/// The post-rendered manifests for the chart's output `text`.
pub fn apply(d: &Deployment, text: &str) -> Result<String, PostRenderError> {
    let table = recognised();
    let mut seen = vec![0usize; table.len()];
    let mut out = vec![];
    for (document, mut o) in parse(text)? {
        let Some(i) = table.iter().position(|r| r.matches(&o) && (r.rendered)(d)) else {
            return Err(unrecognised(document, &o, &table, d));
        };
        seen[i] += 1;
        let entry = &table[i];
        // `helm template` leaves the namespace to the client; name it, so the
        // objects land where the NetworkPolicies and Pod Security labels are.
        match o["metadata"]["namespace"].as_str() {
            None => o["metadata"]["namespace"] = serde_json::json!(d.kubernetes.namespace),
            Some(ns) if ns == d.kubernetes.namespace => {}
            Some(ns) => {
                return Err(PostRenderError::Unexpected {
                    object: entry.label(),
                    path: "metadata.namespace".into(),
                    found: ns.to_string(),
                    expected: d.kubernetes.namespace.clone(),
                    chart: CHART.to_string(),
                })
            }
        }
        match entry.action {
            Action::Remove => continue,
            Action::Keep => check_kept(entry, &o)?,
            Action::Harden => harden_deployment(d, &mut o, &entry.label())?,
        }
        out.push(o);
    }
    for (entry, count) in table.iter().zip(&seen) {
        match (entry.action, *count) {
            (Action::Remove, _) => {}
            (_, 0) if (entry.rendered)(d) => return Err(PostRenderError::MissingObject { object: entry.label() }),
            (_, 0 | 1) => {}
            (_, n) => return Err(PostRenderError::DuplicateObject { object: entry.label(), count: n }),
        }
    }
    Ok(super::documents(
        &format!("Post-rendered by secure-mattermost from the output of the Helm chart {CHART}: Pod Security restricted, helm test objects removed."),
        &out,
    ))
}

fn unrecognised(document: usize, o: &Value, table: &[Recognised], d: &Deployment) -> PostRenderError {
    let s = |v: &Value| v.as_str().map_or_else(|| format!("<{}>", if v.is_null() { "none".into() } else { v.to_string() }), str::to_string);
    let known: Vec<String> = table.iter().filter(|r| (r.rendered)(d)).map(Recognised::label).collect();
    PostRenderError::Unrecognised {
        document,
        object: format!("{} {} {}", s(&o["apiVersion"]), s(&o["kind"]), s(&o["metadata"]["name"])),
        known: format!("installed as the release `{RELEASE}` of the chart {CHART}; it recognises: {}", known.join(", ")),
    }
}

/// The non-empty documents of `text`, numbered from 1 as they appear.
fn parse(text: &str) -> Result<Vec<(usize, Value)>, PostRenderError> {
    if let Some(c) = text.chars().find(|&c| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}')) {
        return Err(PostRenderError::Ambiguous {
            what: format!("the input holds the raw character U+{:04X}, which YAML 1.1 and 1.2 read differently or not at all", c as u32),
        });
    }
    if let Some((line, token)) = yaml11_plain_scalar(text) {
        return Err(PostRenderError::Ambiguous {
            what: format!("line {line}: the plain scalar `{token}` is a string to YAML 1.2 but a boolean, a number or a tag to YAML 1.1"),
        });
    }
    let mut docs = vec![];
    // The deserializer repeats its first error forever: stop at it.
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let document = i + 1;
        let v = serde_yaml_ng::Value::deserialize(de).map_err(|e| PostRenderError::NotYaml { document, detail: e.to_string() })?;
        if v.is_null() {
            continue;
        }
        if let Some(what) = not_carried(&v) {
            return Err(PostRenderError::Ambiguous { what: format!("document {document}: {what}") });
        }
        let v: Value = serde_json::to_value(&v).map_err(|e| PostRenderError::NotYaml { document, detail: e.to_string() })?;
        if crate::document::depth(&v) > crate::limits::MAX_NESTING {
            return Err(PostRenderError::NotYaml { document, detail: format!("nested deeper than {} levels", crate::limits::MAX_NESTING) });
        }
        let found = match &v {
            Value::Object(m) if ["apiVersion", "kind"].iter().all(|k| m.get(*k).is_some_and(Value::is_string)) && v["metadata"]["name"].is_string() => {
                docs.push((document, v));
                continue;
            }
            Value::Object(_) => "a mapping without a string apiVersion, kind and metadata.name",
            Value::Array(_) => "a list",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Null => "empty",
        };
        return Err(PostRenderError::NotAnObject { document, found: found.into() });
    }
    Ok(docs)
}

/// What serde_json cannot carry as YAML meant it: custom tags, merge keys
/// (`<<`, applied by Kubernetes' YAML 1.1 reader, a plain key to this
/// one), infinities and NaN (which would become `null`).
fn not_carried(v: &serde_yaml_ng::Value) -> Option<String> {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Tagged(t) => Some(format!("the tag {} is not carried through", t.tag)),
        Y::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => Some("an infinite or NaN number has no JSON form".into()),
        Y::Sequence(xs) => xs.iter().find_map(not_carried),
        Y::Mapping(m) => m.iter().find_map(|(k, x)| {
            if k.as_str() == Some("<<") {
                Some("a merge key `<<` means a merge to YAML 1.1 and a plain key to YAML 1.2".into())
            } else if !matches!(k, Y::String(_)) {
                Some("a mapping key that is not a string".into())
            } else {
                not_carried(x)
            }
        }),
        _ => None,
    }
}

/// Plain scalars this reader (YAML 1.2) takes as strings that Kubernetes'
/// reader (go-yaml v2, YAML 1.1 rules) takes as booleans or numbers: y/n,
/// yes/no, on/off in their three spellings, numbers with a leading zero
/// (octal, or a float) or with `_` separators; and tags. Our writer would
/// quote them and so change what Kubernetes reads. (go-yaml v2 has no
/// base-60 numbers, and reads timestamps into strings.)
fn yaml11_only(token: &str) -> bool {
    const WORDS: &[&str] = &["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"];
    if WORDS.contains(&token) || token.starts_with('!') {
        return true;
    }
    let digits = token.strip_prefix(['-', '+']).unwrap_or(token);
    let numeric = digits.starts_with(|c: char| c.is_ascii_digit()) && digits.chars().all(|c| c.is_ascii_digit() || "_.eE+-".contains(c));
    numeric && (digits.contains('_') || (digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit()))
}

/// A second, lexical look at the text for [`yaml11_only`] scalars in value
/// position (block and flow style; block scalars' contents skipped). The
/// parser does not report scalar styles, so this reads the lines: 1-based
/// line and token of the first found.
fn yaml11_plain_scalar(text: &str) -> Option<(usize, String)> {
    let mut block: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim();
        if let Some(b) = block {
            if body.is_empty() || indent > b {
                continue;
            }
            block = None;
        }
        if body.is_empty() || body.starts_with('#') || body.starts_with("---") || body == "..." {
            continue;
        }
        let mut rest = body;
        while let Some(r) = rest.strip_prefix("- ") {
            rest = r.trim_start();
        }
        let value = after_key(rest).unwrap_or(rest).trim();
        if value.starts_with(['|', '>']) {
            block = Some(indent);
            continue;
        }
        for token in plain_tokens(value) {
            if yaml11_only(token) {
                return Some((n + 1, token.to_string()));
            }
        }
    }
    None
}

/// The text after `key:` when `s` starts with a (plain or quoted) key.
fn after_key(s: &str) -> Option<&str> {
    let end = match s.chars().next()? {
        q @ ('"' | '\'') => quoted_end(s, q)?,
        '[' | '{' => return None,
        _ => 0,
    };
    let tail = &s[end..];
    let colon = tail.char_indices().find(|&(i, c)| c == ':' && tail[i + 1..].chars().next().is_none_or(|n| n == ' '))?.0;
    Some(&tail[colon + 1..])
}

/// Byte offset just past the quoted scalar that opens `s`.
fn quoted_end(s: &str, q: char) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if q == '"' => {
                chars.next();
            }
            c if c == q => {
                if q == '\'' && s[i + 1..].starts_with('\'') {
                    chars.next();
                    continue;
                }
                return Some(i + 1);
            }
            _ => {}
        }
    }
    None
}

/// The plain scalar tokens of a value: the value itself, or the entries of
/// a flow collection (keys and values). Quoted scalars, aliases and
/// comments are left out; an anchor is skipped.
fn plain_tokens(value: &str) -> Vec<&str> {
    let value = match value.find(" #") {
        Some(i) if !value.starts_with(['"', '\'']) => &value[..i],
        _ => value,
    };
    let pieces: Vec<&str> = if value.starts_with(['[', '{']) {
        value.split(['[', ']', '{', '}', ',']).flat_map(|p| p.splitn(2, ": ")).collect()
    } else {
        vec![value]
    };
    pieces
        .into_iter()
        .map(|p| {
            let p = p.trim();
            match p.strip_prefix('&') {
                Some(a) => a.split_once(' ').map_or("", |(_, v)| v.trim()),
                None => p,
            }
        })
        .filter(|p| !p.is_empty() && !p.starts_with(['"', '\'', '*']))
        .collect()
}

/// An object kept as it is: the chart's licence Secret must be empty (its
/// `mattermostLicense` value is never set by us).
fn check_kept(entry: &Recognised, o: &Value) -> Result<(), PostRenderError> {
    if entry.kind != "Secret" {
        return Ok(());
    }
    let empty = o.get("stringData").is_none_or(|s| s.as_object().is_some_and(Map::is_empty))
        && o.get("data").is_none_or(|m| m.as_object().is_some_and(|m| m.values().all(|v| v.as_str() == Some(""))));
    if empty {
        Ok(())
    } else {
        Err(unexpected(&entry.label(), "data", "set (the value is not shown)", "empty: secrets stay references"))
    }
}

fn unexpected(object: &str, path: &str, found: &str, expected: &str) -> PostRenderError {
    PostRenderError::Unexpected { object: object.into(), path: path.into(), found: found.into(), expected: expected.into(), chart: CHART.into() }
}

/// A short description of a value for messages (never its content: it may be anything).
fn shape(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "absent".into(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(_)) => "a string".into(),
        Some(Value::Array(_)) => "a list".into(),
        Some(Value::Object(_)) => "a mapping".into(),
    }
}

/// The mapping at `key` of `m`, created empty when absent.
fn mapping<'a>(m: &'a mut Map<String, Value>, key: &str, object: &str, path: &str) -> Result<&'a mut Map<String, Value>, PostRenderError> {
    let v = m.entry(key.to_string()).or_insert_with(|| json!({}));
    if v.is_null() {
        *v = json!({});
    }
    let found = shape(Some(v));
    v.as_object_mut().ok_or_else(|| unexpected(object, path, &found, "a mapping"))
}

/// The list at `key` of `m`, created empty when absent.
fn list<'a>(m: &'a mut Map<String, Value>, key: &str, object: &str, path: &str) -> Result<&'a mut Vec<Value>, PostRenderError> {
    let v = m.entry(key.to_string()).or_insert_with(|| json!([]));
    if v.is_null() {
        *v = json!([]);
    }
    let found = shape(Some(v));
    v.as_array_mut().ok_or_else(|| unexpected(object, path, &found, "a list"))
}

fn harden_deployment(d: &Deployment, o: &mut Value, object: &str) -> Result<(), PostRenderError> {
    // The values were rendered from this declaration: the replica count says so.
    let replicas = o.pointer("/spec/replicas");
    if replicas.and_then(Value::as_u64) != Some(u64::from(d.replicas)) {
        return Err(unexpected(object, "spec.replicas", &shape(replicas), &format!("{} (services.secureMattermost.replicas)", d.replicas)));
    }
    let found = shape(o.pointer("/spec/template/spec"));
    let pod = o
        .pointer_mut("/spec/template/spec")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| unexpected(object, "spec.template.spec", &found, "a mapping"))?;
    harden_pod(d, pod, object, "spec.template.spec")
}

fn harden_pod(d: &Deployment, pod: &mut Map<String, Value>, object: &str, at: &str) -> Result<(), PostRenderError> {
    pod.insert("automountServiceAccountToken".into(), json!(false));

    let sc = mapping(pod, "securityContext", object, &format!("{at}.securityContext"))?;
    match sc.get("runAsNonRoot") {
        None | Some(Value::Null) => {
            sc.insert("runAsNonRoot".into(), json!(true));
        }
        Some(Value::Bool(true)) => {}
        other => return Err(unexpected(object, &format!("{at}.securityContext.runAsNonRoot"), &shape(other), "true or absent")),
    }
    match sc.get("seccompProfile").map(|p| p.get("type").and_then(Value::as_str)) {
        None => {
            sc.insert("seccompProfile".into(), json!({"type": "RuntimeDefault"}));
        }
        Some(Some("RuntimeDefault" | "Localhost")) => {}
        Some(_) => {
            let found = shape(sc.get("seccompProfile").and_then(|p| p.get("type")));
            return Err(unexpected(object, &format!("{at}.securityContext.seccompProfile.type"), &found, "RuntimeDefault, Localhost or absent"));
        }
    }

    let mut used = vec![];
    for key in ["initContainers", "containers"] {
        if key == "initContainers" && pod.get(key).is_none_or(Value::is_null) {
            continue;
        }
        let path = format!("{at}.{key}");
        let containers = list(pod, key, object, &path)?;
        if key == "containers" && containers.is_empty() {
            return Err(unexpected(object, &path, "empty", "the Mattermost container"));
        }
        for (i, c) in containers.iter_mut().enumerate() {
            let cpath = format!("{path}[{i}]");
            let found = shape(Some(c));
            let c = c.as_object_mut().ok_or_else(|| unexpected(object, &cpath, &found, "a mapping"))?;
            harden_container(d, c, object, &cpath, &mut used)?;
        }
    }

    let volumes = list(pod, "volumes", object, &format!("{at}.volumes"))?;
    for name in used {
        match volumes.iter().find(|v| v["name"] == name) {
            None => volumes.push(json!({"name": name, "emptyDir": {}})),
            Some(v) if v.get("emptyDir").is_some() => {}
            Some(_) => {
                return Err(unexpected(object, &format!("{at}.volumes[name={name}]"), "a volume other than an emptyDir", "an emptyDir (post-render mounts it writable)"))
            }
        }
    }

    if d.replicas > 1 {
        let affinity = mapping(pod, "affinity", object, &format!("{at}.affinity"))?;
        if let Value::Object(a) = pdb::anti_affinity(d) {
            affinity.extend(a);
        }
    }
    Ok(())
}

fn harden_container(d: &Deployment, c: &mut Map<String, Value>, object: &str, at: &str, used: &mut Vec<&'static str>) -> Result<(), PostRenderError> {
    let name = c.get("name").and_then(Value::as_str).unwrap_or_default().to_string();

    let sc = mapping(c, "securityContext", object, &format!("{at}.securityContext"))?;
    if let Value::Object(r) = restricted_container_context() {
        sc.extend(r);
    }

    if c.get("env").is_some_and(|e| !e.is_null()) {
        let env = list(c, "env", object, &format!("{at}.env"))?;
        let composed = compose_env(d, std::mem::take(env), object, &name)?;
        *env = composed;
    }

    let server = c.get("image").and_then(Value::as_str).is_some_and(|i| runs_server(d, i));
    let mounts = list(c, "volumeMounts", object, &format!("{at}.volumeMounts"))?;
    let normal = |p: &str| p.trim_end_matches('/').to_string();
    for w in WRITABLE.iter().filter(|w| server || !w.server_only) {
        if mounts.iter().any(|m| m["mountPath"].as_str().map(normal).as_deref() == Some(w.path)) {
            continue;
        }
        mounts.push(json!({"name": w.volume, "mountPath": w.path}));
        if !used.contains(&w.volume) {
            used.push(w.volume);
        }
    }
    Ok(())
}

/// Is `image` the declared Mattermost image (as values.yaml names it)?
fn runs_server(d: &Deployment, image: &str) -> bool {
    let repository = super::registry_repository(d, &d.mattermost.image);
    image.strip_prefix(repository.as_str()).is_some_and(|rest| rest.starts_with([':', '@']))
}

/// The container's environment, with the database connection composed
/// when postgres-operator runs the database: the operator's password first
/// (Kubernetes expands `$(MM_DB_PASSWORD)` only from variables defined
/// before), then the DSN as `MM_SQLSETTINGS_DATASOURCE` and as the chart's
/// `MM_CONFIG` (the configuration store), then everything else in order.
fn compose_env(d: &Deployment, env: Vec<Value>, object: &str, container: &str) -> Result<Vec<Value>, PostRenderError> {
    refuse_duplicates(&env, object, container)?;
    let has_config = env.iter().any(|e| e["name"] == "MM_CONFIG");
    if !d.kubernetes.postgresql.enable || !has_config {
        return Ok(env);
    }
    let app = postgresql::app_env(d);
    let dsn = app.iter().find(|e| e["name"] == "MM_SQLSETTINGS_DATASOURCE").map(|e| e["value"].clone()).unwrap_or(Value::Null);
    let replaced: Vec<&str> = app.iter().filter_map(|e| e["name"].as_str()).chain(["MM_CONFIG"]).collect();
    let mut out: Vec<Value> = app.iter().filter(|e| e["name"] == "MM_DB_PASSWORD").cloned().collect();
    out.push(json!({"name": "MM_CONFIG", "value": dsn}));
    out.extend(app.iter().filter(|e| e["name"] != "MM_DB_PASSWORD").cloned());
    out.extend(env.into_iter().filter(|e| !e["name"].as_str().is_some_and(|n| replaced.contains(&n))));
    refuse_duplicates(&out, object, container)?;
    Ok(out)
}

fn refuse_duplicates(env: &[Value], object: &str, container: &str) -> Result<(), PostRenderError> {
    let mut names = std::collections::BTreeSet::new();
    for (i, e) in env.iter().enumerate() {
        let Some(name) = e["name"].as_str() else {
            return Err(unexpected(object, &format!("container `{container}` env[{i}].name"), &shape(e.get("name")), "a string"));
        };
        if !names.insert(name) {
            return Err(PostRenderError::DuplicateEnv { object: object.into(), container: container.into(), name: name.into() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_scalars_are_found_in_value_position_only() {
        for (text, found) in [
            ("a: on\n", Some("on")),
            ("- - No\n", Some("No")),
            ("defaultMode: 0644\n", Some("0644")),
            ("a: [1, 1_000]\n", Some("1_000")),
            ("\"k: x\": y # c\n", Some("y")),
            ("a: !!binary aGk=\n", Some("!!binary aGk=")),
            ("a: &x yes\n", Some("yes")),
            ("a: \"on\"\nb: 'no'\nc: 0.5\nd: 10\ne: 0\nf: onward\ng: 127.0.0.1:8067\nh: 1:20\n", None),
            ("script: |\n  on: off\n  - y\nnext: 1\n", None),
            ("a: 'it''s: on'\n", None),
            ("# on\n", None),
        ] {
            assert_eq!(yaml11_plain_scalar(text).map(|(_, t)| t), found.map(str::to_string), "{text:?}");
        }
        assert_eq!(yaml11_plain_scalar("script: |\n  x\nnext: on\n").map(|(l, _)| l), Some(3));
    }
}
