//! No value injects structure into a rendered format. Random strings (a
//! seeded generator, so every run sees the same cases) go into every string
//! option of the document and into the command-line paths the unit carries;
//! the real binary renders them and each artifact is read back by its real
//! consumer: a YAML parser (libyaml's port, as Helm's and kubectl's parsers
//! are), systemd-analyze, nginx -t. Either the consumer reads back exactly the
//! value and the document keeps its shape, or the helper refused the value
//! with exit 2, naming the option and not echoing the value, without a panic.
//!
//! Which values the helper refuses is decided in-process first (the same
//! input checks the binary runs: document parsing, `paths::check`,
//! `validate::deployment`), so accepted values can be batched several to a
//! render; every accepted batch and a sample of the refusals then go through
//! the real binary, whose verdict must agree.
//!
//! The official chart pastes some of our values into its templates without
//! quoting (docs/chart-facts.md, `render::helm::RAW_PASTED`): one named test
//! per such value checks, without the chart, that what could change YAML
//! structure there is refused, by validation and again by the renderer.
//!
//! A missing consumer (systemd-analyze, nginx/openssl, helm with a copy of
//! the chart in SECURE_MATTERMOST_HELM_CHART) skips that part only, reported
//! with `common::skip_missing` (SECURE_MATTERMOST_REQUIRE makes it fail).

mod common;
use common::*;

use secure_mattermost::render::helm::{self, Insertion, RAW_PASTED};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Values per option and mode (INJECTION_CASES overrides; at least 1).
fn cases() -> usize {
    std::env::var("INJECTION_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(100).max(1)
}

// ---- deterministic generator ---------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const YAML_META: &[&str] = &[
    ": ", ":", " #", "#", "\"", "'", "{", "}", "[", "]", ",", "- ", "-", "&a ", "*a", "!!str ", "!", "|", ">", "%", "@", "`",
    "? ", "---", "...", "<<", "\\", "\\n", "\n", "\r\n", "\t", " ",
];
const LINE_BREAKS: &[&str] = &[
    "\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}", "\u{feff}", "\u{0}", "\u{1b}", "\u{7f}", "\u{9f}", "\u{a0}", "\u{fffe}",
    "\u{ffff}", "\u{fffd}", "\u{200b}", "\u{1f600}", "\u{10ffff}", "é",
];
const SHELLISH: &[&str] = &["%", "%n", "%%", "%i", "$", "${X}", "$X", "$$", ";", " ; ", "\\;", "{", "}", "\"", "'", "\\", " ", "`", "#", "&&", "|", "//", "/../", "/./"];
const WORDS: &[&str] = &["true", "null", "~", "123", "1e3", "0x1f", "yes", "off", "2024-01-01", ".inf", "-1", "1:20", "", " "];
const PAYLOADS: &[&str] = &[
    "\"\n        securityContext:\n          privileged: true\n          runAsUser: 0\n#",
    "x\n      - name: evil\n        image: busybox\n        securityContext: {privileged: true}",
    "x\nExecStartPre=/bin/sh -c id",
    "x; }\nserver { listen 9; location / { return 200; } }\n#",
    "a\" b=\"c",
    "{{ .Values.x }}",
    "x\\\nUser=root",
];
const LEADERS: &[&str] = &["-", "&", "*", "!", "|", ">", "%", "@", "`", " ", "?", ":", ",", "[", "{", "#", "'", "\""];

fn random_ascii(rng: &mut Rng, max: usize) -> String {
    (0..rng.below(max + 1)).map(|_| (0x20 + rng.below(95) as u8) as char).collect()
}

fn random_unicode(rng: &mut Rng, max: usize) -> String {
    (0..rng.below(max + 1))
        .map(|_| match rng.below(4) {
            0 => char::from_u32(rng.below(0x80) as u32).unwrap_or('x'),
            1 => char::from_u32(0x80 + rng.below(0x780) as u32).unwrap_or('x'),
            2 => rng.pick(LINE_BREAKS).chars().next().unwrap_or('x'),
            _ => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}'),
        })
        .collect()
}

fn insert_at(rng: &mut Rng, base: &str, piece: &str) -> String {
    let cuts: Vec<usize> = base.char_indices().map(|(i, _)| i).chain([base.len()]).collect();
    let at = cuts[rng.below(cuts.len())];
    format!("{}{piece}{}", &base[..at], &base[at..])
}

/// One hostile, odd or near-valid value derived from `valid`.
fn generate(rng: &mut Rng, valid: &str) -> String {
    let near = |rng: &mut Rng, alphabet: &str| -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        let mut s = valid.to_string();
        for _ in 0..1 + rng.below(3) {
            let c = chars[rng.below(chars.len())].to_string();
            s = insert_at(rng, &s, &c);
        }
        s
    };
    match rng.below(12) {
        0 => random_ascii(rng, 40),
        1 => random_unicode(rng, 24),
        2 => {
            let p = rng.pick(YAML_META);
            insert_at(rng, valid, p)
        }
        3 => {
            let p = rng.pick(LINE_BREAKS);
            insert_at(rng, valid, p)
        }
        4 => {
            let p = rng.pick(SHELLISH);
            insert_at(rng, valid, p)
        }
        5 => format!("{valid}{}", rng.pick(PAYLOADS)),
        6 => format!("{}{valid}", rng.pick(LEADERS)),
        7 => rng.pick(WORDS).to_string(),
        // Near-valid: most of these are accepted and must read back exactly.
        8 => near(rng, "abcdefghijklmnopqrstuvwxyz0123456789-."),
        9 => near(rng, "ABCxyz019-._/:@"),
        10 => valid.to_string(),
        _ => {
            let a = rng.pick(YAML_META);
            let b = rng.pick(SHELLISH);
            let c = rng.pick(LINE_BREAKS);
            format!("{a}{valid}{b}{c}")
        }
    }
}

// ---- options of the document -----------------------------------------------

/// Enumerations and the pinned version: not free strings.
const NOT_STRINGS: &[&str] = &[
    "mode",
    "auth.provider",
    "fileStorage.driver",
    "database.sslMode",
    "smtp.connectionSecurity",
    "license.edition",
    "mattermost.version",
    "database.postgresqlVersion",
    "kubernetes.deployWith",
    "kubernetes.podSecurityLevel",
    "kubernetes.certificates.issuer",
    "kubernetes.postgresql.version",
    "secrets.backend",
    // Coupled to database.host (postgres-operator's cluster name starts with
    // it and a hyphen): its grammar is a dns1123Label like any other.
    "kubernetes.postgresql.teamId",
    // Changes how the image options are spelled (the mirror takes the place
    // of their registry, render::kubernetes::registry_repository); a
    // hostPort like any other, and encoded by the YAML writer.
    "kubernetes.imageRegistry",
];
/// Maps keyed by the user (their own tests cover them).
const MAPS: &[&str] = &["justification", "settings", "secretSettings", "publicPluginSettings", "policy"];

fn string_options(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if !MAPS.contains(&p.as_str()) {
                    string_options(x, &p, out);
                }
            }
        }
        Value::String(_) | Value::Null if !NOT_STRINGS.contains(&prefix) => out.push(prefix.to_string()),
        _ => {}
    }
}

fn get<'a>(v: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(v, |v, k| &v[k])
}

fn set(v: &mut Value, dotted: &str, x: Value) {
    let mut cur = v;
    for k in dotted.split('.') {
        cur = &mut cur[k];
    }
    *cur = x;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Provider {
    Oidc,
    Gitlab,
    Ldap,
    Saml,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Driver {
    S3,
    Nfs,
}
const CONTEXTS: [(Provider, Driver); 8] = [
    (Provider::Oidc, Driver::S3),
    (Provider::Gitlab, Driver::S3),
    (Provider::Ldap, Driver::S3),
    (Provider::Saml, Driver::S3),
    (Provider::Oidc, Driver::Nfs),
    (Provider::Gitlab, Driver::Nfs),
    (Provider::Ldap, Driver::Nfs),
    (Provider::Saml, Driver::Nfs),
];

/// The context in which an option is rendered at all.
fn applies(option: &str, (p, d): (Provider, Driver)) -> bool {
    let provider = match option.split('.').take(2).collect::<Vec<_>>()[..] {
        ["auth", "oidc"] => Some(Provider::Oidc),
        ["auth", "gitlab"] => Some(Provider::Gitlab),
        ["auth", "ldap"] => Some(Provider::Ldap),
        ["auth", "saml"] => Some(Provider::Saml),
        _ => None,
    };
    // The NFS contexts also use an external database (context_patch), so the
    // DSN Secret is rendered there and postgres-operator's cluster is not.
    let driver = if option.starts_with("fileStorage.s3.") || option.starts_with("kubernetes.postgresql.") {
        Some(Driver::S3)
    } else if option.starts_with("fileStorage.") || option.starts_with("database.kubernetesSecret.") {
        Some(Driver::Nfs)
    } else {
        None
    };
    provider.is_none_or(|x| x == p) && driver.is_none_or(|x| x == d)
}

fn context_patch((p, d): (Provider, Driver)) -> Value {
    let provider = match p {
        Provider::Oidc => "oidc",
        Provider::Gitlab => "gitlab",
        Provider::Ldap => "ldap",
        Provider::Saml => "saml",
    };
    let mut patch = json!({
        "auth": {"provider": provider},
        "fileStorage": {"driver": if d == Driver::S3 { "s3" } else { "nfs" }},
        "kubernetes": {"postgresql": {"enable": d == Driver::S3}},
    });
    if p == Provider::Saml {
        patch["settings"] = json!({"SamlSettings": {
            "IdpURL": "https://idp.example.com/sso", "IdpDescriptorURL": "https://idp.example.com/entity",
            "IdpCertificateFile": "/mattermost/saml/idp.crt", "EmailAttribute": "mail", "UsernameAttribute": "uid"
        }});
    }
    patch
}

/// A valid value unique to option `i` (so it can be found and replaced in
/// the artifacts), shaped like the option's kind.
fn marker(i: usize, option: &str, original: &Value, tls: &Path) -> String {
    let tag = format!("q{i:03}z");
    let orig = original.as_str();
    match option {
        o if o.ends_with("imageDigest") => format!("sha256:{:064x}", 0xabc000 + i),
        o if o.ends_with("volumeSize") => format!("{}Gi", 100 + i),
        o if o.starts_with("baremetal.") && o.ends_with("chedule") => format!("*-*-* 03:{:02}:00", i % 60),
        o if o.ends_with("chedule") => format!("{} 3 * * *", i % 60),
        "baremetal.driftCheckTokenFile" => format!("/run/secrets/{tag}/drift-token"),
        "baremetal.backups.ageRecipient" => {
            // age1 + 58 bech32 characters, the index spelled in them.
            const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
            let idx: String = format!("{i:04}").bytes().map(|b| BECH32[(b - b'0') as usize + 10] as char).collect();
            format!("age1{idx}{}", "q".repeat(54))
        }
        // The database Service of postgres-operator is named after the team.
        "database.host" => format!("mattermost-{tag}"),
        "kubernetes.imageRegistry" => format!("{tag}.registry.example"),
        "kubernetes.certificates.acmeServer" | "secrets.vault.server" => format!("https://{tag}.example.com/x"),
        "fileStorage.s3.endpoint" => format!("{tag}.objects.example"),
        "classificationBanner.color" | "classificationBanner.textColor" => format!("#{:06x}", 0xa0b000 + i),
        "tls.certificateFile" => tls.join(format!("cert-{tag}.pem")).display().to_string(),
        "tls.keyFile" => tls.join(format!("key-{tag}.pem")).display().to_string(),
        "smtp.server" | "auth.ldap.server" => format!("{tag}.example.com"),
        _ => match orig {
            Some(s) if s.starts_with("https://") => format!("https://{tag}{}", &s["https://".len()..]),
            Some(s) if s.starts_with('/') => format!("{s}{tag}"),
            Some(s) => format!("{tag}{s}"),
            None if ["discoveryEndpoint", "url", "idpMetadataUrl", "server"].iter().any(|k| option.ends_with(k)) => {
                format!("https://{tag}.example.com/x")
            }
            None => format!("{tag}-marker"),
        },
    }
}

/// How the artifacts spell an option's value where it is not verbatim.
fn spelled(option: &str, v: &str) -> String {
    match option {
        "database.user" | "database.name" => secure_mattermost::effective::encode(v),
        "database.caFile" => secure_mattermost::effective::encode(v).replace("%2F", "/"),
        "auth.gitlab.url" => v.trim_end_matches('/').to_string(),
        _ => v.to_string(),
    }
}

// ---- in-process verdict -----------------------------------------------------

enum Verdict {
    Accepted,
    Refused { code: i32, message: String },
}

fn verdict(doc: &Value) -> Verdict {
    let doc = doc.clone();
    let r = std::panic::catch_unwind(move || -> Result<(), secure_mattermost::error::Error> {
        // The input checks of `effective::build` that judge option values
        // (the rest of it, settings and policy, is not what varies here).
        let (d, _) = secure_mattermost::document::from_value(doc, "<stdin>")?;
        secure_mattermost::paths::check(&d.secure_mattermost)?;
        secure_mattermost::validate::deployment(&d.secure_mattermost)
    });
    match r {
        Ok(Ok(())) => Verdict::Accepted,
        Ok(Err(e)) => Verdict::Refused { code: e.exit_code(), message: format!("{e} {e:?}") },
        Err(_) => panic!("validation panicked"),
    }
}

/// Does `message` show `value`? Only values that could not occur in a
/// message for another reason (option names, paths of the fixture) count.
fn echoed(message: &str, value: &str) -> bool {
    value.chars().count() >= 6 && !value.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c)) && message.contains(value)
}

fn assert_refusal(option: &str, value: &str, code: i32, message: &str) {
    assert_eq!(code, 2, "{option} = {value:?}: exit {code}, want 2: {message}");
    assert!(message.contains(option), "{option} = {value:?}: the refusal does not name the option: {message}");
    assert!(!echoed(message, value), "{option}: the refusal echoes the value {value:?}: {message}");
}

// ---- real binary ----------------------------------------------------------

struct Rendered {
    code: i32,
    stderr: String,
    dir: PathBuf,
}

fn render_doc(doc: &Value, out: &Path, bins: Option<(&str, &str)>) -> Rendered {
    let mut args: Vec<String> = ["render", "--input", "-", "--out"].iter().map(|s| s.to_string()).collect();
    args.push(out.display().to_string());
    args.extend(["--today".to_string(), TODAY.to_string()]);
    let (h, m) = bins.unwrap_or(("/bin/true", "/bin/true"));
    args.extend(["--helper-bin".into(), h.into(), "--mattermost-bin".into(), m.into()]);
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let r = run_stdin(&argv, &doc.to_string());
    Rendered { code: r.code, stderr: r.stderr, dir: out.to_path_buf() }
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

/// The file's document, or, for a multi-document file, the list of them.
fn parse_yaml(text: &str, what: &str) -> Value {
    use serde::Deserialize;
    let mut docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{what} is not YAML a parser accepts: {e}\n{text}")))
        .collect();
    if docs.len() == 1 {
        docs.remove(0)
    } else {
        Value::Array(docs)
    }
}

fn parse_json(text: &str, what: &str) -> Value {
    serde_json::from_str::<Value>(text).unwrap_or_else(|e| panic!("{what} is not JSON: {e}"))
}

/// `v` with every marker replaced, in every string (keys included).
fn substitute(v: &Value, subs: &[(String, String)]) -> Value {
    let s = |x: &str| subs.iter().fold(x.to_string(), |acc, (m, r)| acc.replace(m.as_str(), r));
    match v {
        Value::String(x) => Value::String(s(x)),
        Value::Array(xs) => Value::Array(xs.iter().map(|x| substitute(x, subs)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (s(k), substitute(x, subs))).collect()),
        other => other.clone(),
    }
}

/// Where two documents differ (for failure messages).
fn differences(got: &Value, want: &Value, at: &str) -> String {
    match (got, want) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = String::new();
            for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                out.push_str(&differences(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}")));
            }
            out
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().map(|(i, (x, y))| differences(x, y, &format!("{at}[{i}]"))).collect()
        }
        (a, b) if a == b => String::new(),
        (a, b) => format!("{at}: got {a} want {b}\n"),
    }
}

fn subst_text(t: &str, subs: &[(String, String)]) -> String {
    subs.iter().fold(t.to_string(), |acc, (m, r)| acc.replace(m.as_str(), r))
}

// ---- systemd, the way it reads a unit ---------------------------------------

/// `Section`, `Key`, raw value for every assignment in a unit file.
fn unit_assignments(text: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = vec![];
    let mut section = String::new();
    for line in text.split('\n') {
        let l = line.trim_matches([' ', '\t', '\r']);
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if l.ends_with('\\') {
            return Err(format!("continuation line: {l:?}"));
        }
        if let Some(s) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let (k, v) = l.split_once('=').ok_or_else(|| format!("not an assignment: {l:?}"))?;
        out.push((section.clone(), k.trim().to_string(), v.trim_matches([' ', '\t']).to_string()));
    }
    Ok(out)
}

fn sd_unescape(cs: &[char]) -> Result<(char, usize), String> {
    let hex = |s: &[char]| -> Result<u32, String> {
        u32::from_str_radix(&s.iter().collect::<String>(), 16).map_err(|_| format!("bad escape {s:?}"))
    };
    let c = *cs.first().ok_or("trailing backslash")?;
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        's' => Some(' '),
        '\\' | '"' | '\'' => Some(c),
        _ => None,
    };
    if let Some(x) = simple {
        return Ok((x, 1));
    }
    let (n, radix_len) = match c {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (3, 8),
        _ => return Err(format!("unknown escape \\{c}")),
    };
    let (digits, used) = if radix_len == 8 { (&cs[..n.min(cs.len())], n) } else { (&cs[1..(1 + n).min(cs.len())], n + 1) };
    let code = if radix_len == 8 { u32::from_str_radix(&digits.iter().collect::<String>(), 8).map_err(|e| e.to_string())? } else { hex(digits)? };
    Ok((char::from_u32(code).ok_or("escape is not a character")?, used))
}

/// Split a command line into (raw text, unquoted and unescaped word), as
/// systemd's extract_first_word with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE.
fn sd_words(v: &str) -> Result<Vec<(String, String)>, String> {
    let cs: Vec<char> = v.chars().collect();
    let (mut out, mut i) = (vec![], 0);
    loop {
        while i < cs.len() && " \t\n\r".contains(cs[i]) {
            i += 1;
        }
        if i >= cs.len() {
            return Ok(out);
        }
        let (start, mut word, mut quote) = (i, String::new(), None::<char>);
        while i < cs.len() {
            let c = cs[i];
            match quote {
                None if " \t\n\r".contains(c) => break,
                None if c == '"' || c == '\'' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == '\\' => {
                    let (x, n) = sd_unescape(&cs[i + 1..])?;
                    word.push(x);
                    i += n;
                }
                _ => word.push(c),
            }
            i += 1;
        }
        if quote.is_some() {
            return Err("unterminated quote".into());
        }
        out.push((cs[start..i].iter().collect(), word));
    }
}

/// Unit specifiers: only `%%` is expected (anything else would expand).
fn sd_specifiers(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some('%') => out.push('%'),
                other => return Err(format!("specifier %{}", other.map(String::from).unwrap_or_default())),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Environment substitution on an argument: only `$$` is expected.
fn sd_env(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '$' {
            match it.next() {
                Some('$') => out.push('$'),
                _ => return Err("environment variable reference".into()),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// argv of an Exec*= line as the service would receive it.
fn sd_argv(value: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let words = sd_words(value)?;
    let mut argv = vec![];
    for (i, (_, w)) in words.iter().enumerate() {
        let w = sd_specifiers(w)?;
        if i == 0 {
            if w.contains('$') {
                return Err("a '$' in the executable".into());
            }
            argv.push(w);
        } else {
            argv.push(sd_env(&w)?);
        }
    }
    Ok((argv, words.into_iter().map(|(raw, _)| raw).collect()))
}

fn systemd_analyze() -> bool {
    Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `systemd-analyze verify` on every unit in `dir`: it must pass silently.
fn verify_units(dir: &Path) {
    let mut units: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".service"))
        .map(|n| format!("./{n}"))
        .collect();
    units.sort();
    if units.is_empty() {
        return;
    }
    let o = Command::new("systemd-analyze").current_dir(dir).arg("verify").args(&units).output().expect("systemd-analyze runs");
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && text.trim().is_empty(), "systemd-analyze verify in {}:\n{text}", dir.display());
}

// ---- nginx, the way it reads a configuration ---------------------------------

/// (directive, arguments) in order, as nginx's tokenizer splits them.
fn nginx_directives(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let cs: Vec<char> = text.chars().collect();
    let (mut out, mut words, mut i) = (vec![], Vec::<String>::new(), 0);
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
        } else if c == ';' || c == '{' || c == '}' {
            if !words.is_empty() {
                let name = words.remove(0);
                out.push((name, std::mem::take(&mut words)));
            } else if c != '}' {
                return Err(format!("empty directive before {c:?}"));
            }
            i += 1;
        } else {
            let mut w = String::new();
            if c == '"' || c == '\'' {
                i += 1;
                while i < cs.len() && cs[i] != c {
                    if cs[i] == '\\' && i + 1 < cs.len() {
                        i += 1;
                    }
                    w.push(cs[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < cs.len() && !cs[i].is_whitespace() && !";{}".contains(cs[i]) {
                    if cs[i] == '\\' && i + 1 < cs.len() {
                        i += 1;
                    }
                    w.push(cs[i]);
                    i += 1;
                }
            }
            words.push(w);
        }
    }
    if !words.is_empty() {
        return Err("unterminated directive".into());
    }
    Ok(out)
}

fn nginx_bin() -> Option<&'static str> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| Path::new(p).exists())
}

/// The rendered site under `nginx -t` (ports and upstream moved, as
/// tests/real_nginx.rs does; everything else as rendered).
fn nginx_test(nginx: &str, site: &str, work: &Path, port: u16) -> Result<(), String> {
    std::fs::create_dir_all(work.join("tmp")).map_err(|e| e.to_string())?;
    let site = site
        .replace("listen 443 ssl http2;", &format!("listen 127.0.0.1:{port} ssl http2;"))
        .replace("listen 80;", &format!("listen 127.0.0.1:{};", port + 1))
        .lines()
        .filter(|l| !l.contains("listen [::]"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(work.join("site.conf"), site).map_err(|e| e.to_string())?;
    let conf = work.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  include {p}/site.conf;\n}}\n",
            p = work.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let o = Command::new(nginx).args(["-t", "-q", "-p"]).arg(work).arg("-c").arg(&conf).output().map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

/// A self-signed certificate and its key in one PEM file: nginx reads the
/// certificate from it for ssl_certificate and the key for ssl_certificate_key.
fn openssl_pem(dir: &Path) -> Option<Vec<u8>> {
    let (cert, key) = (dir.join("pair.crt"), dir.join("pair.key"));
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=chat.example.com", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return None;
    }
    let mut pem = std::fs::read(&cert).ok()?;
    pem.extend(std::fs::read(&key).ok()?);
    Some(pem)
}

/// Write the PEM at `dst` if `dst` is a path of ours (under `root`, no `..`).
fn place(pem: &[u8], dst: &str, root: &Path, tag: usize) -> bool {
    let p = Path::new(dst);
    if !dst.starts_with(&format!("{}/", root.display())) || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return false;
    }
    if p.is_file() {
        return true;
    }
    let Some(dir) = p.parent() else { return false };
    let tmp = dir.join(format!(".placing-{tag}"));
    std::fs::create_dir_all(dir).is_ok() && std::fs::write(&tmp, pem).is_ok() && std::fs::rename(&tmp, p).is_ok()
}

/// `f` over `items` on every core, results in order; a panic in `f` fails the test.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= items.len() {
                    break;
                }
                let r = f(i, &items[i]);
                if let Ok(mut g) = results.lock() {
                    g[i] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap_or_default().into_iter().map(|r| r.expect("a worker panicked")).collect()
}

// ---- the official chart, when a copy is given --------------------------------

fn helm_and_chart() -> Option<(PathBuf, PathBuf)> {
    let chart = std::env::var_os("SECURE_MATTERMOST_HELM_CHART").map(PathBuf::from).filter(|c| c.join("Chart.yaml").exists())?;
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin/helm"));
    let helm = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("helm")).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .find(|p| p.is_file())?;
    Some((helm, chart))
}

/// `helm template` of values.yaml, every manifest parsed (the chart's test
/// pod gets a random name; it is blanked).
fn helm_template(helm: &Path, chart: &Path, values: &Path) -> Vec<Value> {
    use serde::Deserialize;
    let o = Command::new(helm).args(["template", "chat"]).arg(chart).arg("-f").arg(values).output().expect("helm runs");
    assert!(o.status.success(), "helm template: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut docs = vec![];
    for d in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut v = Value::deserialize(d).unwrap_or_else(|e| panic!("the chart's output is not YAML: {e}\n{text}"));
        if !v["metadata"]["annotations"]["helm.sh/hook"].is_null() {
            v["metadata"]["name"] = json!("test-pod");
        }
        if !v.is_null() {
            docs.push(v);
        }
    }
    docs
}

// ---- the property test over document options --------------------------------

struct Option_ {
    name: String,
    marker: String,
    values: Vec<String>,
}

struct Consumers {
    systemd: bool,
    nginx: Option<&'static str>,
    pem: Option<Vec<u8>>,
    /// helm and a copy of the chart, when given (SECURE_MATTERMOST_HELM_CHART).
    helm: Option<(PathBuf, PathBuf)>,
}

#[derive(Default)]
struct Tally {
    accepted: BTreeMap<String, usize>,
    refused: BTreeMap<String, usize>,
    found: BTreeMap<String, bool>,
    renders: usize,
    nginx_runs: usize,
    nginx_skipped: usize,
    units: usize,
    policy: usize,
    charts: usize,
}

/// The marker render of one context: its directory and parsed artifacts.
struct Marked {
    doc: Value,
    dir: PathBuf,
    parsed: BTreeMap<String, Value>,
    text: BTreeMap<String, String>,
    /// The chart's manifests for values.yaml, when helm and the chart are here.
    chart: Option<Vec<Value>>,
}

/// What one batch render found (merged into the tally afterwards).
#[derive(Default)]
struct Outcome {
    renders: usize,
    nginx_runs: usize,
    nginx_skipped: usize,
    policy: usize,
    charts: usize,
    units: Vec<String>,
}

struct Mode<'a> {
    kind: &'a str,
    opts: Vec<Option_>,
    consumers: &'a Consumers,
    work: &'a Path,
    tls_root: PathBuf,
}

fn run_mode(kind: &str, seed: u64, consumers: &Consumers, work: &Path, tally: &mut Tally) {
    let mut base = base(kind);
    if kind == "kubernetes" {
        // Marker hosts are not the site's: the air-gap rules would refuse
        // every marker document; this test is about encoding, not policy.
        // The ACME issuer and the Vault backend render the options they add.
        base["secureMattermost"]["kubernetes"]["certificates"]["issuer"] = json!("acme");
        base["secureMattermost"]["secrets"]["backend"] = json!("vault");
        base["secureMattermost"]["justification"] = json!({
            "k8s-air-gap-no-external-reference": "Marker hosts of the encoding test stand for internal services",
            "k8s-air-gap-images-pinned": "Marker images of the encoding test stand for mirrored, pinned images"
        });
    }
    let mut names = vec![];
    string_options(&base["secureMattermost"], "", &mut names);
    assert!(names.len() > 40, "{kind}: only {} string options found", names.len());
    let tls_root = work.join(format!("{kind}-tls"));
    std::fs::create_dir_all(&tls_root).unwrap();
    let mut rng = Rng(seed);
    let n = cases();
    let opts: Vec<Option_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let m = marker(i, name, get(&base["secureMattermost"], name), &tls_root);
            let values = (0..n)
                .map(|_| {
                    if name.starts_with("tls.") {
                        // Paths nginx must find: random text under a root of ours.
                        format!("{}/{}", tls_root.display(), generate(&mut rng, "site/fullchain.pem"))
                    } else {
                        generate(&mut rng, &m)
                    }
                })
                .collect();
            Option_ { name: name.clone(), marker: m, values }
        })
        .collect();
    let mode = Mode { kind, opts, consumers, work, tls_root };
    if let Some(pem) = &consumers.pem {
        for o in mode.opts.iter().filter(|o| o.name.starts_with("tls.")) {
            assert!(place(pem, &o.marker, &mode.tls_root, 0));
        }
    }

    // Marker documents and their artifacts, one per context.
    let mut marked = base.clone();
    for o in &mode.opts {
        set(&mut marked["secureMattermost"], &o.name, json!(o.marker));
    }
    let markers: Vec<Marked> = par_map(&CONTEXTS, |ci, c| {
        let doc = patched(marked.clone(), &context_patch(*c));
        let dir = work.join(format!("{kind}-marker-{ci}"));
        let r = render_doc(&doc, &dir, None);
        assert_eq!(r.code, 0, "{kind} marker document for {c:?} does not render: {}", r.stderr);
        let (mut parsed, mut text) = (BTreeMap::new(), BTreeMap::new());
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            let t = read(&dir, &f);
            if f.ends_with(".yaml") {
                parsed.insert(f.clone(), parse_yaml(&t, &f));
            } else if f.ends_with(".json") {
                parsed.insert(f.clone(), parse_json(&t, &f));
            }
            text.insert(f, t);
        }
        let chart = consumers.helm.as_ref().filter(|_| kind == "kubernetes").map(|(h, c)| helm_template(h, c, &dir.join("values.yaml")));
        Marked { doc, dir, parsed, text, chart }
    });
    // Where each option is rendered at all (its marker appears in an artifact).
    for o in &mode.opts {
        let seen = CONTEXTS
            .iter()
            .enumerate()
            .filter(|(_, c)| applies(&o.name, **c))
            // declaration.json is the document itself: it holds every value.
            .any(|(ci, _)| markers[ci].text.iter().any(|(f, t)| f != "declaration.json" && t.contains(&spelled(&o.name, &o.marker))));
        *tally.found.entry(o.name.clone()).or_default() |= seen;
    }

    // In-process verdict for every value, each alone in its context's marker document.
    let items: Vec<(usize, usize, String)> = mode
        .opts
        .iter()
        .enumerate()
        .flat_map(|(oi, o)| {
            let ci = CONTEXTS.iter().position(|c| applies(&o.name, *c)).unwrap_or(0);
            o.values.iter().map(move |v| (oi, ci, v.clone()))
        })
        .collect();
    let verdicts = par_map(&items, |_, (oi, ci, v)| {
        let mut doc = markers[*ci].doc.clone();
        set(&mut doc["secureMattermost"], &mode.opts[*oi].name, json!(v));
        (verdict(&doc), doc)
    });
    let mut pending: Vec<Vec<String>> = vec![vec![]; mode.opts.len()];
    let mut sampled: BTreeMap<String, usize> = BTreeMap::new();
    let mut refusal_runs = vec![];
    for ((oi, _, v), (verdict, doc)) in items.into_iter().zip(verdicts) {
        let name = &mode.opts[oi].name;
        match verdict {
            Verdict::Accepted => pending[oi].push(v),
            Verdict::Refused { code, message } => {
                assert_refusal(name, &v, code, &message);
                *tally.refused.entry(name.clone()).or_default() += 1;
                let k = sampled.entry(name.clone()).or_default();
                if *k < 2 {
                    *k += 1;
                    refusal_runs.push((name.clone(), v, doc));
                }
            }
        }
    }
    // The binary agrees on a sample of the refusals.
    par_map(&refusal_runs, |i, (name, v, doc)| {
        let out = work.join(format!("{kind}-refused-{i}"));
        let r = render_doc(doc, &out, None);
        assert_eq!(r.code, 2, "{name} = {v:?}: the binary exited {} where validation refused: {}", r.code, r.stderr);
        assert!(r.stderr.contains(&format!("services.secureMattermost.{name}")), "{name}: {}", r.stderr);
        assert!(!echoed(&r.stderr, v), "{name}: value {v:?} echoed: {}", r.stderr);
        assert!(!out.exists(), "{name}: artifacts written despite the refusal");
    });
    tally.renders += refusal_runs.len();

    // Accepted values, batched: one value of every applicable option per render.
    let mut batches: Vec<(usize, Vec<(usize, String)>)> = vec![];
    loop {
        let count = |ci: usize| (0..mode.opts.len()).filter(|oi| applies(&mode.opts[*oi].name, CONTEXTS[ci]) && !pending[*oi].is_empty()).count();
        let Some(ci) = (0..CONTEXTS.len()).max_by_key(|ci| count(*ci)).filter(|ci| count(*ci) > 0) else { break };
        let batch: Vec<(usize, String)> = (0..mode.opts.len())
            .filter(|oi| applies(&mode.opts[*oi].name, CONTEXTS[ci]))
            .filter_map(|oi| pending[oi].pop().map(|v| (oi, v)))
            .collect();
        batches.push((ci, batch));
    }
    let outcomes = par_map(&batches, |no, (ci, batch)| render_batch(&mode, &markers[*ci], batch, no));
    let units_dir = work.join(format!("{kind}-units"));
    let mut pending_units = 0;
    for (k, o) in outcomes.into_iter().enumerate() {
        tally.renders += o.renders;
        tally.nginx_runs += o.nginx_runs;
        tally.nginx_skipped += o.nginx_skipped;
        tally.policy += o.policy;
        tally.charts += o.charts;
        if consumers.systemd {
            for (j, u) in o.units.iter().enumerate() {
                std::fs::create_dir_all(&units_dir).unwrap();
                std::fs::write(units_dir.join(format!("mm-{k}-{j}.service")), u).unwrap();
                pending_units += 1;
                tally.units += 1;
            }
            if pending_units >= 16 {
                verify_units(&units_dir);
                clear_dir(&units_dir);
                pending_units = 0;
            }
        }
    }
    if consumers.systemd && pending_units > 0 {
        verify_units(&units_dir);
    }
    for (_, batch) in &batches {
        for (oi, _) in batch {
            *tally.accepted.entry(mode.opts[*oi].name.clone()).or_default() += 1;
        }
    }
}

fn drop_empty_env(v: &mut Value) {
    match v {
        Value::Array(xs) => {
            xs.retain(|x| !(x.as_object().is_some_and(|m| m.len() == 2 && m.contains_key("name")) && x["value"] == ""));
            xs.iter_mut().for_each(drop_empty_env);
        }
        Value::Object(m) => m.values_mut().for_each(drop_empty_env),
        _ => {}
    }
}

fn clear_dir(d: &Path) {
    let _ = std::fs::remove_dir_all(d);
    let _ = std::fs::create_dir_all(d);
}

fn render_batch(mode: &Mode, marked: &Marked, batch: &[(usize, String)], no: usize) -> Outcome {
    let (kind, opts) = (mode.kind, &mode.opts);
    let mut outcome = Outcome { renders: 1, ..Outcome::default() };
    let mut doc = marked.doc.clone();
    for (oi, v) in batch {
        set(&mut doc["secureMattermost"], &opts[*oi].name, json!(v));
    }
    let what = || batch.iter().map(|(oi, v)| format!("{} = {v:?}", opts[*oi].name)).collect::<Vec<_>>().join(", ");
    if let Verdict::Refused { message, .. } = verdict(&doc) {
        panic!("{kind}: values accepted one by one are refused together ({}): {message}", what());
    }
    let out = mode.work.join(format!("{kind}-batch-{no}"));
    let r = render_doc(&doc, &out, None);
    if r.code == 1 {
        // A policy finding caused by some value (accepted as input, judged
        // by policy: not an injection). Split to keep the rest checked.
        if batch.len() == 1 {
            outcome.policy += 1;
            return outcome;
        }
        let (a, b) = batch.split_at(batch.len() / 2);
        for (part, sub) in [(a, 1), (b, 2)] {
            let o = render_batch(mode, marked, part, no * 4 + 1_000_000 * sub);
            outcome.renders += o.renders;
            outcome.nginx_runs += o.nginx_runs;
            outcome.nginx_skipped += o.nginx_skipped;
            outcome.policy += o.policy;
            outcome.units.extend(o.units);
        }
        return outcome;
    }
    assert_eq!(r.code, 0, "{kind}: the binary refused what validation accepted ({}): {}", what(), r.stderr);
    let subs: Vec<(String, String)> = batch.iter().map(|(oi, v)| (spelled(&opts[*oi].name, &opts[*oi].marker), spelled(&opts[*oi].name, v))).collect();

    let files: Vec<String> = std::fs::read_dir(&r.dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    let mut names = files.clone();
    names.sort();
    assert_eq!(names, marked.text.keys().cloned().collect::<Vec<_>>(), "{kind}: other artifacts with {}", what());
    for f in &files {
        let got = read(&r.dir, f);
        match f.as_str() {
            name if name.ends_with(".yaml") => {
                let f = name;
                let (mut got, mut want) = (parse_yaml(&got, f), substitute(&marked.parsed[f], &subs));
                if batch.iter().any(|(_, v)| v.is_empty()) {
                    // A setting set to "" equals the release default and is
                    // then not pinned: fewer entries, not other structure.
                    drop_empty_env(&mut got);
                    drop_empty_env(&mut want);
                }
                assert!(got == want, "{kind} {f}: read back differently with {}:\n{}", what(), differences(&got, &want, ""));
                if let (Some((helm, chart)), Some(marker_chart), "values.yaml", 0) = (&mode.consumers.helm, &marked.chart, f, no % 3) {
                    // What the chart makes of it: the same manifests, values in place.
                    let mut got = Value::Array(helm_template(helm, chart, &r.dir.join(f)));
                    let mut want = substitute(&Value::Array(marker_chart.clone()), &subs);
                    if batch.iter().any(|(_, v)| v.is_empty()) {
                        drop_empty_env(&mut got);
                        drop_empty_env(&mut want);
                    }
                    assert!(got == want, "{kind}: the chart's manifests changed with {}:\n{}", what(), differences(&got, &want, ""));
                    outcome.charts += 1;
                }
            }
            // The declaration the host re-checks at start: the document itself.
            "declaration.json" => {
                let got = parse_json(&got, f);
                assert!(got == doc, "{kind} declaration.json is not the declaration with {}:\n{}", what(), differences(&got, &doc, ""));
            }
            "config.json" | "secret-env.json" => {
                let (got, want) = (parse_json(&got, f), substitute(&marked.parsed[f], &subs));
                assert!(got == want, "{kind} {f}: read back differently with {}:\n{}", what(), differences(&got, &want, ""));
            }
            "nginx.conf" => check_nginx(mode, &got, &marked.text[f], &subs, batch, no, &mut outcome, &what()),
            "mattermost.service" => {
                let mut unit_subs = subs.clone();
                unit_subs.push((marked.dir.display().to_string(), r.dir.display().to_string()));
                assert_eq!(got, subst_text(&marked.text[f], &unit_subs), "{kind}: the unit changed beyond the values ({})", what());
                check_unit(&got, &r.dir, &doc, "/bin/true", "/bin/true");
                outcome.units.push(got);
            }
            f if f.ends_with(".json") => {
                parse_json(&got, f);
            }
            // Reports for people (report.html, report.md): not one of the
            // formats this test reads back.
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(&r.dir);
    outcome
}

#[allow(clippy::too_many_arguments)]
fn check_nginx(mode: &Mode, got: &str, want: &str, subs: &[(String, String)], batch: &[(usize, String)], no: usize, outcome: &mut Outcome, what: &str) {
    let opts = &mode.opts;
    assert_eq!(got, subst_text(want, subs), "nginx.conf changed beyond the values ({what})");
    let value = |name: &str| {
        batch.iter().find(|(oi, _)| opts[*oi].name == name).map(|(_, v)| v.clone()).or_else(|| opts.iter().find(|o| o.name == name).map(|o| o.marker.clone())).unwrap()
    };
    let (domain, cert, key) = (value("domain"), value("tls.certificateFile"), value("tls.keyFile"));
    let dirs = nginx_directives(got).unwrap_or_else(|e| panic!("nginx.conf does not tokenize ({e}) with {what}"));
    let shape: Vec<(String, usize)> = dirs.iter().map(|(n, a)| (n.clone(), a.len())).collect();
    let want_shape: Vec<(String, usize)> = nginx_directives(want).unwrap().iter().map(|(n, a)| (n.clone(), a.len())).collect();
    assert_eq!(shape, want_shape, "nginx.conf directives changed with {what}");
    for (name, args) in &dirs {
        match name.as_str() {
            "server_name" => assert_eq!(args, &vec![domain.clone()], "{what}"),
            "ssl_certificate" => assert_eq!(args, &vec![cert.clone()], "{what}"),
            "ssl_certificate_key" => assert_eq!(args, &vec![key.clone()], "{what}"),
            "return" => assert_eq!(args, &vec!["301".to_string(), format!("https://{domain}$request_uri")], "{what}"),
            _ => {}
        }
    }
    let touched = batch.iter().any(|(oi, _)| ["domain", "tls.certificateFile", "tls.keyFile"].contains(&opts[*oi].name.as_str()));
    if let (Some(nginx), Some(pem), true) = (mode.consumers.nginx, &mode.consumers.pem, touched) {
        // nginx must find the certificate and key at exactly the values given.
        if place(pem, &cert, &mode.tls_root, no) && place(pem, &key, &mode.tls_root, no + 7_000_000) {
            let dir = mode.work.join(format!("nginx-{}-{no}", mode.kind));
            let port = 20_000 + 2 * (no % 10_000) as u16;
            if let Err(e) = nginx_test(nginx, got, &dir, port) {
                panic!("nginx -t refused the rendered configuration with {what}:\n{e}");
            }
            let _ = std::fs::remove_dir_all(dir);
            outcome.nginx_runs += 1;
        } else {
            outcome.nginx_skipped += 1;
        }
    }
}

/// The unit read the way systemd reads it: credentials and command lines.
fn check_unit(unit: &str, out: &Path, doc: &Value, helper: &str, mattermost: &str) {
    let spec = parse_json(&read(out, "secret-env.json"), "secret-env.json");
    let assignments = unit_assignments(unit).unwrap_or_else(|e| panic!("unit: {e}\n{unit}"));
    let creds: Vec<(String, String)> = assignments
        .iter()
        .filter(|(s, k, _)| s == "Service" && k == "LoadCredential")
        .map(|(_, _, v)| {
            let (id, path) = v.split_once(':').unwrap_or_else(|| panic!("LoadCredential without ':' {v:?}"));
            (sd_specifiers(id).unwrap(), sd_specifiers(path).unwrap())
        })
        .collect();
    let want: Vec<(String, String)> = spec["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["credential"].as_str().unwrap().to_string(), s["file"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(creds, want, "LoadCredential= lines read back differently");
    for (_, file) in &creds {
        assert!(doc.to_string().contains(&serde_json::to_string(file).unwrap()), "credential path {file:?} is not a value of the document");
    }
    // The unit refers to where `install` puts the files on the host.
    let _ = out;
    let dir = doc["secureMattermost"]["baremetal"]["installDir"].as_str().expect("baremetal.installDir").to_string();
    let all = |key: &str| -> Vec<Vec<String>> {
        assignments
            .iter()
            .filter(|(s, k, _)| s == "Service" && k == key)
            .map(|(_, _, v)| sd_argv(v).unwrap_or_else(|e| panic!("{key}={v}: {e}")).0)
            .collect()
    };
    let exec = |key: &str| -> Vec<String> { all(key).into_iter().next().unwrap_or_else(|| panic!("no {key}")) };
    let pre = all("ExecStartPre");
    assert_eq!(pre.len(), 2, "{pre:?}");
    // Waivers are judged again at every start, on the installed declaration.
    assert_eq!(pre[0], vec![helper.to_string(), "check".into(), "--input".into(), format!("{dir}/declaration.json")]);
    assert_eq!(pre[1], vec!["/usr/bin/install".to_string(), "-m".into(), "0600".into(), format!("{dir}/config.json"), "/var/lib/mattermost/config.json".into()]);
    assert_eq!(
        exec("ExecStart"),
        vec![
            helper.to_string(),
            "launch".into(),
            "--spec".into(),
            format!("{dir}/secret-env.json"),
            "--".into(),
            mattermost.to_string(),
            "server".into(),
            "--config".into(),
            "/var/lib/mattermost/config.json".into()
        ]
    );
}

fn random_values_in_every_string_option_read_back_exactly_or_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let systemd = systemd_analyze();
    if !systemd {
        skip_part("systemd", "injection/systemd", "systemd-analyze not installed: units are parsed here but not verified");
    }
    let nginx = nginx_bin();
    let pem = openssl_pem(work.path());
    if nginx.is_none() || pem.is_none() {
        skip_part("nginx", "injection/nginx", "nginx or openssl not installed: nginx.conf is tokenized here but not run through nginx -t");
    }
    let helm = helm_and_chart();
    if helm.is_none() {
        skip_part("helm", "injection/helm", "set SECURE_MATTERMOST_HELM_CHART to a copy of charts/mattermost and install helm to run values.yaml through the chart too");
    }
    let consumers = Consumers { systemd, nginx, pem, helm };
    let mut tally = Tally::default();
    let t = std::time::Instant::now();
    run_mode("kubernetes", 0x5eed_0001, &consumers, work.path(), &mut tally);
    run_mode("baremetal", 0x5eed_0002, &consumers, work.path(), &mut tally);

    // The test bites: each option is rendered somewhere, and values of every
    // option were accepted (and read back) as well as refused.
    let never: Vec<&String> = tally.found.iter().filter(|(_, f)| !**f).map(|(k, _)| k).collect();
    assert!(never.is_empty(), "options whose value never reached an artifact: {never:?}");
    for name in tally.found.keys() {
        assert!(tally.accepted.get(name).copied().unwrap_or(0) > 0, "no value of {name} was ever accepted");
    }
    assert!(tally.refused.values().sum::<usize>() > 0 && tally.renders > 20);
    if consumers.systemd {
        assert!(tally.units > 0);
    }
    if consumers.nginx.is_some() && consumers.pem.is_some() {
        assert!(tally.nginx_runs > 0, "nginx -t never ran");
    }
    if consumers.helm.is_some() {
        assert!(tally.charts > 0, "the chart never ran");
    }
    eprintln!(
        "injection: {:?}, {} renders, {} accepted / {} refused values ({} judged by policy), {} units verified, nginx -t {} (skipped {}), chart {}",
        t.elapsed(),
        tally.renders,
        tally.accepted.values().sum::<usize>(),
        tally.refused.values().sum::<usize>(),
        tally.policy,
        tally.units,
        tally.nginx_runs,
        tally.nginx_skipped,
        tally.charts
    );
}

// ---- command-line paths that land in the unit -------------------------------

/// A file name from a generated string: one path component (no '/', no NUL).
fn component(s: &str) -> String {
    let s: String = s.chars().map(|c| if c == '/' || c == '\0' { '_' } else { c }).collect();
    let mut out = String::new();
    for c in s.chars() {
        if out.len() + c.len_utf8() > 100 {
            break;
        }
        out.push(c);
    }
    out
}

fn make_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.parent().is_some_and(|d| std::fs::create_dir_all(d).is_ok())
        && std::fs::copy("/bin/true", p).is_ok()
        && std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).is_ok()
}

fn helper_mattermost_and_out_paths_reach_the_unit_exactly_or_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    let systemd = systemd_analyze();
    if !systemd {
        skip_part("systemd", "injection/binaries", "systemd-analyze not installed: command lines are parsed here but not verified");
    }
    let doc = base("baremetal");
    let mut rng = Rng(0x5eed_0003);
    let probes = root.join("probes");
    std::fs::create_dir_all(&probes).unwrap();
    let (mut accepted, mut refused, mut probe_count, mut quoted) = (0, 0, 0, 0);
    for i in 0..cases() * 2 {
        let (h, m, o) = (component(&generate(&mut rng, "helper")), component(&generate(&mut rng, "mattermost")), component(&generate(&mut rng, "out")));
        let helper = root.join(format!("h{i}-{h}")).join("secure-mattermost");
        let mattermost = root.join(format!("m{i}-{m}")).join("mattermost");
        let out = root.join(format!("o{i}-{o}")).join("out");
        let (hs, ms) = (helper.display().to_string(), mattermost.display().to_string());
        let made = make_executable(&helper) && make_executable(&mattermost);
        // The install directory the unit refers to is the declaration's.
        let mut doc = doc.clone();
        doc["secureMattermost"]["baremetal"]["installDir"] = json!(root.join(format!("o{i}-{o}")).join("install").display().to_string());
        let r = render_doc(&doc, &out, Some((&hs, &ms)));
        match r.code {
            0 => {
                accepted += 1;
                let unit = read(&out, "mattermost.service");
                if unit.lines().any(|l| l.starts_with("ExecStart=") && l.contains('"')) {
                    quoted += 1;
                }
                check_unit(&unit, &out, &doc, &hs, &ms);
                if systemd && made {
                    // systemd resolves the executable itself: verify fails unless it finds the file we made.
                    std::fs::write(probes.join(format!("mm-{i}.service")), &unit).unwrap();
                    // And each argument, given as an executable of its own, must resolve to the file named.
                    for (l, line) in unit.lines().filter_map(|l| l.strip_prefix("ExecStart=").or_else(|| l.strip_prefix("ExecStartPre="))).enumerate() {
                        let (argv, raw) = sd_argv(line).unwrap();
                        for (k, (decoded, raw)) in argv.iter().zip(&raw).enumerate() {
                            let p = Path::new(decoded);
                            if k > 0 && decoded.starts_with(&format!("{}/", root.display())) && p.is_file() {
                                use std::os::unix::fs::PermissionsExt;
                                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                                std::fs::write(probes.join(format!("probe-{i}-{l}-{k}.service")), format!("[Service]\nExecStart={raw}\n")).unwrap();
                                probe_count += 1;
                            }
                        }
                    }
                }
            }
            2 => {
                refused += 1;
                let named = ["`--helper-bin`", "`--mattermost-bin`", "`--install-dir`", "baremetal.installDir"].iter().any(|f| r.stderr.contains(f));
                assert!(named, "a refusal that names no flag: {}", r.stderr);
                for v in [&h, &m, &o] {
                    assert!(!echoed(&r.stderr, v), "value {v:?} echoed: {}", r.stderr);
                }
                assert!(!out.exists());
            }
            c => panic!("exit {c} for {hs:?} {ms:?} {}: {}", out.display(), r.stderr),
        }
        if systemd && i % 16 == 15 {
            verify_units(&probes);
            clear_dir(&probes);
        }
    }
    if systemd {
        verify_units(&probes);
        assert!(probe_count > 0);
    }
    assert!(accepted > 10 && refused > 10 && quoted > 5, "accepted {accepted} ({quoted} quoted), refused {refused}");
    eprintln!("injection/binaries: {accepted} accepted ({quoted} needed quoting), {refused} refused, {probe_count} argument probes");
}

// ---- the YAML writer ---------------------------------------------------------

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match if depth == 0 { rng.below(4) } else { rng.below(6) } {
        0 => Value::String(generate(rng, "value")),
        1 => Value::String(random_unicode(rng, 30)),
        2 => match rng.below(4) {
            0 => Value::Null,
            1 => json!(rng.below(2) == 0),
            2 => json!(rng.next() as i64),
            _ => json!(rng.below(100_000)),
        },
        3 => Value::String(rng.pick(WORDS).to_string()),
        4 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                let k = match rng.below(5) {
                    0 => random_ascii(rng, 12),
                    1 => random_unicode(rng, 8),
                    2 => rng.pick(WORDS).to_string(),
                    3 => "k".repeat(1 + rng.below(1300)),
                    _ => generate(rng, "key"),
                };
                m.insert(k, random_value(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

fn the_yaml_writer_round_trips_every_string_and_key() {
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..4000 {
        let v = json!({"root": random_value(&mut rng, 3), "list": [random_value(&mut rng, 2), {"a": random_value(&mut rng, 2)}]});
        let y = secure_mattermost::render::yaml::to_yaml(&v);
        let back: Value = serde_yaml_ng::from_str(&y).unwrap_or_else(|e| panic!("not YAML ({e}):\n{y}\nfrom {v}"));
        assert_eq!(back, v, "read back differently:\n{y}");
    }
    // Every character YAML treats specially, alone.
    for c in (0u32..0x3000).chain([0xfeff, 0xfffe, 0xffff, 0x1f600, 0x10ffff]).filter_map(char::from_u32) {
        let v = json!({ c.to_string(): c.to_string(), "k": format!("a{c}b") });
        let y = secure_mattermost::render::yaml::to_yaml(&v);
        let back: Value = serde_yaml_ng::from_str(&y).unwrap_or_else(|e| panic!("U+{:04X}: not YAML ({e}):\n{y}", c as u32));
        assert_eq!(back, v, "U+{:04X}", c as u32);
    }
}

// ---- values the chart pastes raw --------------------------------------------

/// What could change YAML structure where the chart pastes a value raw.
const BREAKERS: &[&str] = &[
    "\n", "\r", "\u{85}", "\u{2028}", ": ", ":", " #", "#", "\"", "'", "\\", "{", "}", "[", "]", ",", " ", "\t",
];
const BAD_LEADERS: &[&str] = &["-", "&", "*", "!", "|", ">", "%", "@", "`", "?", " ", "."];
const YAML_TYPED: &[&str] = &["true", "null", "123", "1e3", "yes", "off", "0x1f", "2024-01-01"];

fn raw_case(values_key: &str) {
    let entry = RAW_PASTED.iter().find(|p| p.values_key == values_key).unwrap_or_else(|| panic!("{values_key} is not in RAW_PASTED"));
    let mut doc = base("kubernetes");
    // The DSN Secret reaches the chart only for an external database (with
    // postgres-operator the chart gets the operator's credentials Secret).
    if entry.option.starts_with("database.kubernetesSecret") {
        doc["secureMattermost"]["kubernetes"]["postgresql"]["enable"] = json!(false);
    }
    // The valid document renders, and the chart's key is in its values.yaml.
    let dir = tempfile::tempdir().unwrap();
    let r = render_doc(&doc, &dir.path().join("out"), None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let values = parse_yaml(&read(&dir.path().join("out"), "values.yaml"), "values.yaml");
    let path = values_key.trim_end_matches("[]");
    let rendered = get(&values, path);
    assert!(!rendered.is_null(), "values.yaml has no {path}");
    let sample = match rendered {
        Value::Array(xs) => xs.first().cloned().unwrap_or(Value::Null),
        x => x.clone(),
    };
    if let Value::String(s) = &sample {
        assert!(helm::raw_safe(entry.insertion, s), "the valid value of {values_key} is not raw-safe");
    }
    if entry.option.is_empty() {
        // A constant of ours: nothing to inject; it is raw-safe (above).
        assert!(sample.is_string());
        return;
    }
    let original = get(&doc["secureMattermost"], entry.option).clone();
    let valid = original.as_str().map(str::to_string).unwrap_or_else(|| original.to_string());
    let mut bad: Vec<String> = vec![];
    for b in BREAKERS {
        bad.push(format!("{valid}{b}"));
        bad.push(format!("{b}{valid}"));
        bad.push(insert_at(&mut Rng(bad.len() as u64), &valid, b));
    }
    bad.extend(BAD_LEADERS.iter().map(|l| format!("{l}{valid}")));
    bad.push(format!("{valid}\n        securityContext:\n          privileged: true"));
    if entry.insertion == Insertion::Plain {
        bad.extend(YAML_TYPED.iter().map(|s| s.to_string()));
    }
    let source = entry.option;
    let catalog = secure_mattermost::catalog::Catalog::load();
    let (good, _) = secure_mattermost::document::from_value(doc.clone(), "<test>").unwrap();
    let config = secure_mattermost::effective::build(&good.secure_mattermost, catalog).unwrap().config;
    for (i, v) in bad.iter().enumerate() {
        let mut d = doc.clone();
        set(&mut d["secureMattermost"], source, json!(v));
        let option = format!("services.secureMattermost.{source}");
        // The renderer refuses it itself, should a value get past validation,
        // wherever it could change YAML structure in the chart's template.
        let structural = match entry.insertion {
            Insertion::Plain => true,
            Insertion::DoubleQuoted => v.contains(['"', '\\', '\n', '\r', '\t', '\u{85}', '\u{2028}', '\u{2029}']) || v.trim() != v,
        };
        let by_renderer = match serde_json::from_value::<secure_mattermost::document::Document>(d.clone()) {
            Ok(unchecked) => match helm::render(&unchecked.secure_mattermost, &config) {
                Err(e) => {
                    assert!(format!("{e}").contains(&option), "{e}");
                    true
                }
                Ok(y) => {
                    assert!(!structural, "helm::render pasted {source} = {v:?}:\n{y}");
                    false
                }
            },
            Err(_) => false,
        };
        // Refused with exit 2, by validation or by the renderer.
        match verdict(&d) {
            Verdict::Refused { code, message } => assert_refusal(&option, v, code, &message),
            Verdict::Accepted => assert!(by_renderer, "{source} = {v:?} is accepted and rendered"),
        }
        // The binary agrees (a sample: every process costs).
        if i % 12 == 0 || v.contains("privileged") {
            let out = dir.path().join("bad");
            let r = render_doc(&d, &out, None);
            assert_eq!(r.code, 2, "{source} = {v:?} was not refused: {}", r.stderr);
            assert!(r.stderr.contains(&option), "{source}: {}", r.stderr);
            assert!(!echoed(&r.stderr, v), "{source}: {v:?} echoed: {}", r.stderr);
            assert!(!out.exists());
        }
    }
}

macro_rules! raw_pasted {
    ($($name:ident => $key:literal,)*) => {
        $( fn $name() { raw_case($key) } )*

        /// The named cases, for the test runner.
        const RAW_CASES: &[common::harness::Test] = &[
            $(common::harness::Test { name: stringify!($name), run: $name },)*
            common::harness::Test { name: "every_raw_pasted_value_has_a_named_case", run: every_raw_pasted_value_has_a_named_case },
        ];

        fn every_raw_pasted_value_has_a_named_case() {
            let named = [$($key),*];
            for p in RAW_PASTED {
                assert!(named.contains(&p.values_key), "no named test for {}", p.values_key);
            }
            assert_eq!(named.len(), RAW_PASTED.len());
        }
    };
}

raw_pasted! {
    chart_raw_global_site_url => "global.siteUrl",
    chart_raw_database_secret_name => "global.features.database.existingDatabaseSecret.name",
    chart_raw_database_secret_key => "global.features.database.existingDatabaseSecret.key",
    chart_raw_s3_bucket => "global.features.fileStore.bucket",
    chart_raw_s3_region => "global.features.fileStore.region",
    chart_raw_s3_url => "global.features.fileStore.url",
    chart_raw_s3_secret_name => "global.features.fileStore.existingSecret.name",
    chart_raw_s3_access_key_id_key => "global.features.fileStore.existingSecret.accessKeyIdKey",
    chart_raw_s3_secret_access_key_key => "global.features.fileStore.existingSecret.secretAccessKeyKey",
    chart_raw_license_secret_name => "global.existingLicenseSecret.name",
    chart_raw_license_secret_key => "global.existingLicenseSecret.key",
    chart_raw_image_repository => "mattermostApp.image.repository",
    chart_raw_image_tag => "mattermostApp.image.tag",
    chart_raw_image_pull_policy => "mattermostApp.image.pullPolicy",
    chart_raw_replica_count => "mattermostApp.replicaCount",
    chart_raw_ingress_class_name => "mattermostApp.ingress.ingressClassName",
    chart_raw_ingress_hosts => "mattermostApp.ingress.hosts[]",
}

/// The assessment's finding, end to end: a value that would have put a
/// privileged root container into the chart's Deployment is refused.
fn the_privileged_container_injection_is_refused() {
    let payload = "mattermost/mattermost-enterprise-edition:11.4.0\"\n        securityContext:\n          privileged: true\n          runAsUser: 0\n        x: \"";
    let doc = patched(base("kubernetes"), &json!({"mattermost": {"image": payload}}));
    let dir = tempfile::tempdir().unwrap();
    let r = render_doc(&doc, &dir.path().join("out"), None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("services.secureMattermost.mattermost.image") && r.stderr.contains("OCI"), "{}", r.stderr);
    assert!(!r.stderr.contains("privileged"), "{}", r.stderr);
}


// ---- targeted cases ------------------------------------------------------------

/// Found with the chart: DEL, C1 controls and U+FFFE/U+FFFF in any string
/// that reaches values.yaml make the chart's toYaml drop the whole
/// environment list, and NEL becomes a space. Kubernetes refuses them; bare
/// metal (JSON only) carries them.
fn strings_the_charts_to_yaml_would_mangle_are_refused_on_kubernetes_only() {
    for (option, patch) in [
        ("classificationBanner.text", json!({"classificationBanner": {"text": "UNCLAS\u{9f}SIFIED"}})),
        ("auth.ldap.bindUsername", json!({"auth": {"provider": "ldap", "ldap": {"bindUsername": "cn=a\u{85}b"}}})),
        ("settings.TeamSettings.CustomDescriptionText", json!({"settings": {"TeamSettings": {"CustomDescriptionText": "a\u{7f}b"}}})),
        ("auth.oidc.clientId", json!({"auth": {"oidc": {"clientId": "id\u{ffff}"}}})),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let r = render_doc(&patched(base("kubernetes"), &patch), &dir.path().join("out"), None);
        assert_eq!(r.code, 2, "{option}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("services.secureMattermost.{option}")) && r.stderr.contains("toYaml"), "{option}: {}", r.stderr);
        let r = render_doc(&patched(base("baremetal"), &patch), &dir.path().join("bm"), None);
        assert_eq!(r.code, 0, "{option} on bare metal: {}", r.stderr);
    }
}

fn secret_setting_names_and_sslmode_cannot_carry_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let doc = patched(base("baremetal"), &json!({"secretSettings": {"SqlSettings.AtRestEncryptKey\nExecStartPre=/bin/sh": {"file": "/run/secrets/k"}}}));
    let r = render_doc(&doc, &dir.path().join("out"), None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("services.secureMattermost.secretSettings") && !r.stderr.contains("ExecStartPre"), "{}", r.stderr);
}

/// Enumerations are spliced into the connection URL (sslMode) and config;
/// a value outside the enumeration is refused, naming the option, and (as
/// every refusal) without repeating the value.
fn enumeration_refusals_name_the_option_and_do_not_echo_the_value() {
    let dir = tempfile::tempdir().unwrap();
    for (option, patch) in [
        ("database.sslMode", json!({"database": {"sslMode": "verify-full&sslmode=disable"}})),
        ("smtp.connectionSecurity", json!({"smtp": {"connectionSecurity": "TLS\nEvil: 1"}})),
    ] {
        let r = render_doc(&patched(base("baremetal"), &patch), &dir.path().join("out"), None);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains(&format!("services.secureMattermost.{option}")), "{}", r.stderr);
        assert!(!r.stderr.contains("sslmode=disable") && !r.stderr.contains("Evil"), "the refusal echoes the value: {}", r.stderr);
    }
}

/// The renderers refuse on their own what validation would have refused.
fn renderers_check_what_they_paste_even_past_validation() {
    use secure_mattermost::render::{nginx, systemd, Binaries};
    let good = base("baremetal");
    let (d, _) = secure_mattermost::document::from_value(good.clone(), "<test>").unwrap();
    let config = secure_mattermost::effective::build(&d.secure_mattermost, secure_mattermost::catalog::Catalog::load()).unwrap().config;
    let unchecked = |patch: Value| serde_json::from_value::<secure_mattermost::document::Document>(patched(good.clone(), &patch)).unwrap().secure_mattermost;
    let bins = |h: &str, m: &str, o: &str| Binaries { helper: h.into(), mattermost: m.into(), artifact_dir: o.into() };
    let ok = bins("/bin/true", "/bin/true", "/srv/out");
    assert!(nginx::render(&d.secure_mattermost).is_ok() && systemd::render(&d.secure_mattermost, &config, &ok).is_ok());
    for (option, patch) in [
        ("domain", json!({"domain": "chat.example.com;\n}\nserver { listen 1"})),
        ("tls.certificateFile", json!({"tls": {"certificateFile": "/etc/x.pem; ssl_certificate $x"}})),
        ("tls.keyFile", json!({"tls": {"keyFile": "/etc/${x}.key"}})),
    ] {
        let e = nginx::render(&unchecked(patch.clone())).expect_err(option);
        assert!(format!("{e}").contains(option), "{e}");
    }
    for (option, patch) in [
        ("domain", json!({"domain": "chat.example.com\nExecStartPre=/bin/sh"})),
        ("database.passwordFile", json!({"database": {"passwordFile": "/run/x\nUser=root"}})),
        ("database.passwordFile", json!({"database": {"passwordFile": "/run/%n"}})),
    ] {
        let e = systemd::render(&unchecked(patch.clone()), &config, &ok).expect_err(option);
        assert!(format!("{e}").contains(option), "{e}");
    }
    for (flag, b) in [
        ("--helper-bin", bins("/bin/true\nUser=root", "/bin/true", "/srv/out")),
        ("--helper-bin", bins("/opt/$HOME/x", "/bin/true", "/srv/out")),
        ("--mattermost-bin", bins("/bin/true", "relative", "/srv/out")),
        ("--install-dir", bins("/bin/true", "/bin/true", "/srv/o\"ut")),
    ] {
        let e = systemd::render(&d.secure_mattermost, &config, &b).expect_err(flag);
        assert!(format!("{e}").contains(flag), "{e}");
    }
    // Escaped, not refused: spaces and `%` in the paths of the command line.
    let unit = systemd::render(&d.secure_mattermost, &config, &bins("/opt/my tools/sm", "/opt/100%/mattermost", "/srv/a b")).unwrap();
    assert!(unit.contains("ExecStart=\"/opt/my tools/sm\" launch --spec \"/srv/a b/secret-env.json\" -- \"/opt/100%%/mattermost\" server"), "{unit}");
}

/// Every string option has a decision in the module's metadata: a grammar
/// (`kind`), a file path (its type), free text that every renderer encodes
/// (`kind = "freeText"`), or an enum. A new option without one fails here.
fn every_string_option_is_validated_or_declared_free_text() {
    use secure_mattermost::options;
    for kind in ["kubernetes", "baremetal"] {
        let mut names = vec![];
        string_options(&base(kind)["secureMattermost"], "", &mut names);
        names.extend(NOT_STRINGS.iter().map(|s| s.to_string()));
        for n in names {
            let Some(o) = options::find(&n) else { continue };
            let inner = if o.ty["kind"] == "nullOr" { &o.ty["elem"] } else { &o.ty };
            let decided = o.meta.kind.is_some() || options::is_file_type(&o.ty) || inner["kind"] == "enum" || inner["kind"] == "positiveInt";
            assert!(decided, "{kind}: option {n} is neither validated by kind nor declared free text");
        }
    }
    for o in options::all() {
        if let Some(k) = &o.meta.kind {
            assert!(k == "freeText" || secure_mattermost::validate::kind(k).is_some(), "{}: unknown kind {k}", o.name);
        }
    }
}

tests![
    random_values_in_every_string_option_read_back_exactly_or_are_refused,
    helper_mattermost_and_out_paths_reach_the_unit_exactly_or_are_refused,
    the_yaml_writer_round_trips_every_string_and_key,
    the_privileged_container_injection_is_refused,
    strings_the_charts_to_yaml_would_mangle_are_refused_on_kubernetes_only,
    secret_setting_names_and_sslmode_cannot_carry_syntax,
    enumeration_refusals_name_the_option_and_do_not_echo_the_value,
    renderers_check_what_they_paste_even_past_validation,
    every_string_option_is_validated_or_declared_free_text,
    ; RAW_CASES
];
