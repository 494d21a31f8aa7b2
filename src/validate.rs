//! Every string option that reaches a rendered artifact, validated for what it
//! is. Artifacts are other programs' input (YAML the Helm chart pastes into its
//! templates, a systemd unit, nginx.conf, a connection URL): a value that is
//! not what its option says it is could change their structure. Values whose
//! kind is free text (site name, banner text, client ids, user names, DNs)
//! are not restricted here: every renderer encodes them (JSON, the YAML
//! writer's double-quoted scalars) so their consumer reads back exactly them.
//!
//! Refusals name the option and the grammar it violates; the value is never
//! shown (a pasted secret is the likeliest wrong value).
//!
//! File-path options are `crate::paths`' (characters, store); this module adds
//! only that they are normalised, which systemd requires of credential paths.

use serde_json::Value;

use crate::document::Deployment;
use crate::error::Error;

/// A grammar: its name in messages and its test.
#[derive(Clone, Copy)]
pub struct Kind {
    pub what: &'static str,
    pub test: fn(&str) -> bool,
}

pub const DOMAIN: Kind = Kind {
    what: "a DNS name: dot-separated labels of lowercase letters, digits and inner hyphens (each 1-63 characters), ending in a top-level label of 2-63 letters, at most 253 characters",
    test: dns_name,
};
pub const HOST: Kind = Kind {
    what: "a host name (dot-separated labels of letters, digits and inner hyphens, each 1-63 characters; an IPv4 address is one) or a bracketed IPv6 literal",
    test: host,
};
pub const HOST_PORT: Kind = Kind {
    what: "host[:port]: a host name, IPv4 address or bracketed IPv6 literal, optionally followed by :1-65535 (no scheme, path or credentials)",
    test: host_port,
};
pub const URL: Kind = Kind {
    what: "an absolute http(s) URL: http:// or https://, a host name or IP literal, an optional :port, then only RFC 3986 characters (no spaces, control characters, quotes, or credentials)",
    test: url,
};
pub const LABEL: Kind = Kind {
    what: "a Kubernetes DNS-1123 label: 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit",
    test: dns1123_label,
};
pub const SUBDOMAIN: Kind = Kind {
    what: "a Kubernetes object name (DNS-1123 subdomain): dot-separated DNS-1123 labels, at most 253 characters",
    test: dns1123_subdomain,
};
pub const SECRET_KEY: Kind = Kind {
    what: "a Kubernetes Secret key: 1-253 characters from [-._a-zA-Z0-9], not '.' or '..' and not starting with '..'",
    test: secret_key,
};
pub const IMAGE_REPOSITORY: Kind = Kind {
    what: "an OCI image repository (distribution reference grammar, without tag or digest): optional registry host[:port]/ then '/'-separated path components of lowercase letters and digits joined by '.', '_', '__' or '-', at most 255 characters",
    test: image_repository,
};
pub const IMAGE_TAG: Kind = Kind { what: "an OCI image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", test: image_tag };
pub const DIGEST: Kind = Kind { what: "an image digest: sha256: followed by 64 lowercase hexadecimal digits", test: digest };
pub const S3_BUCKET: Kind = Kind {
    what: "an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit, no '..', not an IPv4 address, not starting with xn--, sthree- or amzn-s3-demo-, not ending with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3",
    test: s3_bucket,
};
pub const S3_REGION: Kind = Kind {
    what: "a region name: 1-63 lowercase letters and digits in '-'-separated groups (e.g. us-gov-west-1)",
    test: s3_region,
};
pub const HEX_COLOR: Kind = Kind { what: "a colour #RRGGBB in hexadecimal", test: hex_color };
pub const SITE_NAME: Kind = Kind { what: "1-30 characters without control characters", test: site_name };
pub const SETTING_KEY: Kind = Kind {
    what: "a dotted Mattermost setting name: segments of letters, digits, '_' and '-' separated by single dots, at most 200 characters",
    test: setting_key,
};
pub const CREDENTIAL_NAME: Kind = Kind {
    what: "a systemd credential name: 1-255 characters from [A-Za-z0-9._-], not '.' or '..'",
    test: credential_name,
};
pub const NORMALISED_PATH: Kind = Kind {
    what: "a normalised absolute path: no empty, '.' or '..' components and no trailing '/' (systemd ignores credentials from other paths)",
    test: normalised_path,
};
pub const SSL_MODE: Kind = Kind {
    what: "one of disable, allow, prefer, require, verify-ca, verify-full",
    test: |s| matches!(s, "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"),
};
pub const QUANTITY: Kind = Kind {
    what: "a Kubernetes storage quantity: a whole number of 1-15 digits with a binary suffix Ki, Mi, Gi, Ti or Pi (e.g. 20Gi)",
    test: quantity,
};
pub const CRON_SCHEDULE: Kind = Kind {
    what: "a five-field cron schedule: minute hour day-of-month month day-of-week, each *, a number, a range a-b, a list a,b or a step */n (digits only; no names, no macros)",
    test: cron_schedule,
};
pub const VAULT_PATH: Kind = Kind {
    what: "a Vault path: '/'-separated segments of letters, digits, '.', '_' and '-', no empty, '.' or '..' segment, no leading or trailing '/'",
    test: vault_path,
};
pub const CIDR: Kind = Kind {
    what: "an address or network in CIDR form: an IPv4 or IPv6 address, optionally /prefix (0-32, 0-128), with no host bits set beyond the prefix",
    test: cidr,
};
pub const AGE_RECIPIENT: Kind = Kind {
    what: "an age X25519 recipient: age1 followed by 58 lowercase bech32 characters",
    test: age_recipient,
};
pub const SYSTEMD_CALENDAR: Kind = Kind {
    what: "a systemd calendar event of the forms hourly, daily, weekly, monthly, or *-*-* HH:MM:SS (digits, '*' or */n steps)",
    test: systemd_calendar,
};
pub const SMTP_SECURITY: Kind = Kind { what: "one of STARTTLS, TLS, none", test: |s| matches!(s, "STARTTLS" | "TLS" | "none") };

/// The refusal for `option` (relative to `services.secureMattermost`).
pub fn refusal(option: &str, kind: &Kind) -> Error {
    Error::InvalidOption {
        file: "declaration".into(),
        option: format!("services.secureMattermost.{option}"),
        detail: format!("must be {} (the value is not shown)", kind.what),
    }
}

pub fn check(option: &str, value: &str, kind: &Kind) -> Result<(), Error> {
    if (kind.test)(value) {
        Ok(())
    } else {
        Err(refusal(option, kind))
    }
}

/// The grammar an option's `kind` metadata names (modules/types.nix
/// `withKind`); `None` for `freeText` and for names no grammar has.
pub fn kind(name: &str) -> Option<Kind> {
    Some(match name {
        "dnsName" => DOMAIN,
        "host" => HOST,
        "hostPort" => HOST_PORT,
        "url" => URL,
        "dns1123Label" => LABEL,
        "dns1123Subdomain" => SUBDOMAIN,
        "secretKey" => SECRET_KEY,
        "imageRepository" => IMAGE_REPOSITORY,
        "imageTag" => IMAGE_TAG,
        "digest" => DIGEST,
        "s3Bucket" => S3_BUCKET,
        "s3Region" => S3_REGION,
        "hexColor" => HEX_COLOR,
        "siteName" => SITE_NAME,
        "sslMode" => SSL_MODE,
        "smtpSecurity" => SMTP_SECURITY,
        "quantity" => QUANTITY,
        "cronSchedule" => CRON_SCHEDULE,
        "vaultPath" => VAULT_PATH,
        "cidr" => CIDR,
        "ageRecipient" => AGE_RECIPIENT,
        "systemdCalendar" => SYSTEMD_CALENDAR,
        _ => return None,
    })
}

/// Every option value with a grammar, as (option as users write it, value,
/// grammar): from the options' `kind` metadata, `attrsOf` entries included
/// (`secretSettings."X".kubernetesSecret.name`).
pub fn kinded_values(doc: &Value) -> Vec<(String, String, Kind)> {
    let mut out = Vec::new();
    for o in crate::options::all() {
        let Some(k) = o.meta.kind.as_deref().and_then(kind) else { continue };
        match o.path.iter().position(|p| p == "<name>") {
            None => match crate::options::value_of(doc, &o.name) {
                Value::String(s) => out.push((o.name.clone(), s.to_string(), k)),
                // A list option: every element is held to the grammar.
                Value::Array(xs) => {
                    for (i, x) in xs.iter().enumerate() {
                        match x.as_str() {
                            Some(s) => out.push((format!("{}[{i}]", o.name), s.to_string(), k)),
                            None => out.push((format!("{}[{i}]", o.name), String::new(), k)),
                        }
                    }
                }
                _ => {}
            },
            Some(i) => {
                let parent = o.path[..i].join(".");
                let rest = o.path[i + 1..].join(".");
                for (key, entry) in crate::options::value_of(doc, &parent).as_object().into_iter().flatten() {
                    if let Some(s) = crate::options::value_of(entry, &rest).as_str() {
                        out.push((format!("{parent}.\"{key}\".{rest}"), s.to_string(), k));
                    }
                }
            }
        }
    }
    out
}

/// The value at a dotted option path of the serialised deployment.
fn at<'a>(doc: &'a Value, option: &str) -> &'a Value {
    option.split('.').fold(doc, |v, k| &v[k])
}

/// Every rendered string option of the deployment, by kind.
pub fn deployment(d: &Deployment) -> Result<(), Error> {
    // Judged on the serialised document, so that the checks name options
    // exactly as the declaration spells them.
    document(&serde_json::to_value(d).unwrap_or(Value::Null))?;
    environment(d)
}

/// Options that only make sense together: an object store to talk to, a
/// database service the operator names as declared, the issuer's and the
/// secret backend's required fields.
pub fn environment(d: &Deployment) -> Result<(), Error> {
    let invalid = |option: &str, detail: &str| {
        Err(Error::InvalidOption { file: "declaration".into(), option: format!("services.secureMattermost.{option}"), detail: detail.into() })
    };
    if d.file_storage.driver == crate::document::StorageDriver::S3 && crate::effective::s3_endpoint(d).is_none() {
        return invalid(
            "fileStorage.s3.endpoint",
            "the s3 driver needs an endpoint: name the site's object store (there is no vendor default); in Kubernetes mode kubernetes.minio.enable supplies the in-cluster tenant",
        );
    }
    if d.mode == crate::document::Mode::Baremetal {
        // What pg_hba.conf and init.sql can express as names.
        crate::render::baremetal::pg_hba::check_names(d)?;
        if d.database.user == "postgres" {
            return invalid("database.user", "the application needs its own role: init.sql would change PostgreSQL's bootstrap superuser");
        }
    }
    if d.mode != crate::document::Mode::Kubernetes {
        return Ok(());
    }
    let k = &d.kubernetes;
    if k.postgresql.enable && !(d.database.host.starts_with(&format!("{}-", k.postgresql.team_id)) && dns1123_label(&d.database.host)) {
        return invalid(
            "database.host",
            "with kubernetes.postgresql.enable the host is the postgres-operator cluster's Service name: a DNS-1123 label that starts with kubernetes.postgresql.teamId and a hyphen",
        );
    }
    if k.postgresql.enable && !(d.database.name.len() <= 63 && d.database.name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') && d.database.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')) {
        return invalid(
            "database.name",
            "with kubernetes.postgresql.enable the database is created by postgres-operator: 1-63 lowercase letters, digits and '_', not starting with a digit",
        );
    }
    if k.postgresql.enable && !dns1123_label(&d.database.user) {
        return invalid(
            "database.user",
            "with kubernetes.postgresql.enable the role is created by postgres-operator, which names its credentials Secret after it: a DNS-1123 label (lowercase letters, digits and inner hyphens)",
        );
    }
    if k.run_as_user < 0 {
        return invalid("kubernetes.runAsUser", "a user id is 0 or more");
    }
    if k.certificates.issuer == crate::document::Issuer::Acme && k.certificates.acme_server.is_none() {
        return invalid("kubernetes.certificates.acmeServer", "the acme issuer needs the ACME directory URL");
    }
    if d.secrets.backend == crate::document::Backend::Vault && d.secrets.vault.server.is_none() {
        return invalid("secrets.vault.server", "the vault backend needs Vault's address");
    }
    Ok(())
}


/// `deployment`, on the deployment as JSON (`services.secureMattermost`).
pub fn document(doc: &Value) -> Result<(), Error> {
    for (option, value, kind) in kinded_values(doc) {
        check(&option, &value, &kind)?;
    }
    for (option, path) in file_options(doc) {
        check(&option, &path, &NORMALISED_PATH)?;
    }
    if let Some(m) = doc["secretSettings"].as_object() {
        for key in m.keys() {
            if !setting_key(key) {
                // The key is not repeated: it failed to be a setting name.
                return Err(Error::InvalidOption {
                    file: "declaration".into(),
                    option: "services.secureMattermost.secretSettings".into(),
                    detail: format!("an attribute name must be {} (the name is not shown)", SETTING_KEY.what),
                });
            }
        }
    }
    if doc["mode"] == "kubernetes" {
        chart_raw_pasted(doc)?;
        if let Value::Object(m) = doc {
            for (k, v) in m.iter().filter(|(k, _)| !NOT_RENDERED_IN_YAML.contains(&k.as_str())) {
                survives_chart(v, k)?;
            }
        }
    }
    Ok(())
}

/// Options the official chart pastes into its templates unquoted
/// (`render::helm::RAW_PASTED`) must also be safe where it pastes them: a
/// Secret key may start with '.', a Secret name may be `true` or `123`, and
/// either would change what the chart's YAML says.
fn chart_raw_pasted(doc: &Value) -> Result<(), Error> {
    use crate::render::helm;
    for p in helm::RAW_PASTED.iter().filter(|p| !p.option.is_empty()) {
        if let Some(s) = at(doc, p.option).as_str() {
            if !helm::raw_safe(p.insertion, s) {
                return Err(helm::raw_refusal(p, "declaration"));
            }
        }
    }
    Ok(())
}

/// Top-level options that reach no Kubernetes artifact (outcomes only).
const NOT_RENDERED_IN_YAML: &[&str] = &["justification", "policy", "publicPluginSettings"];

/// Every string (and map key) of a Kubernetes deployment can reach the
/// chart's `toYaml` as an environment value: it must come through intact.
fn survives_chart(v: &Value, at: &str) -> Result<(), Error> {
    use crate::render::helm::{survives_to_yaml, TO_YAML_RULE};
    let refuse = |at: &str| Error::InvalidOption {
        file: "declaration".into(),
        option: format!("services.secureMattermost.{at}"),
        detail: TO_YAML_RULE.into(),
    };
    match v {
        Value::String(s) if !survives_to_yaml(s) => Err(refuse(at)),
        Value::Array(xs) => xs.iter().try_for_each(|x| survives_chart(x, at)),
        // A key that fails is not named: it is the offending value.
        Value::Object(m) => m.iter().try_for_each(|(k, x)| if survives_to_yaml(k) { survives_chart(x, &format!("{at}.{k}")) } else { Err(refuse(at)) }),
        _ => Ok(()),
    }
}

/// Every file-path option that is set, with its option name (from the
/// option types: `crate::options::file_values`).
pub fn file_options(doc: &Value) -> Vec<(String, String)> {
    crate::options::file_values(doc)
}

// ---- grammars -------------------------------------------------------------

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A label of `ok` characters and inner hyphens, 1-63 long.
fn label_with(s: &str, ok: fn(char) -> bool) -> bool {
    let b = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| ok(c) || c == '-')
        && b.first().is_some_and(|&c| c != b'-')
        && b.last().is_some_and(|&c| c != b'-')
}

pub fn dns_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else { return false };
    s.len() <= 253
        && !rest.is_empty()
        && rest.iter().all(|l| label_with(l, is_lower_alnum))
        && (2..=63).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_lowercase())
}

pub fn host(s: &str) -> bool {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return !inner.is_empty() && inner.contains(':') && inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    s.len() <= 253 && s.split('.').all(|l| label_with(l, |c| c.is_ascii_alphanumeric()))
}

fn port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

pub fn host_port(s: &str) -> bool {
    // A bracketed IPv6 literal holds colons of its own.
    let (h, p) = match s.rfind(']') {
        Some(i) => match &s[i + 1..] {
            "" => (s, None),
            rest => (&s[..i + 1], rest.strip_prefix(':').map(Some).unwrap_or(Some(""))),
        },
        None => match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        },
    };
    host(h) && p.is_none_or(port)
}

pub fn url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else { return false };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // RFC 3986 unreserved and reserved characters and '%' (escapes), less the
    // single quote: nothing else.
    let rfc3986 = |c: char| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&()*+,;=%".contains(c);
    s.len() <= 2048 && host_port(authority) && tail.chars().all(rfc3986)
}

pub fn dns1123_label(s: &str) -> bool {
    label_with(s, is_lower_alnum)
}

pub fn dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns1123_label)
}

pub fn secret_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        && s != "."
        && !s.starts_with("..")
}

/// `path-component := [a-z0-9]+ (separator [a-z0-9]+)*`, `separator := [_.] | __ | -+`.
fn path_component(s: &str) -> bool {
    let mut rest = s;
    loop {
        let n = rest.find(|c: char| !is_lower_alnum(c)).unwrap_or(rest.len());
        if n == 0 {
            return false;
        }
        rest = &rest[n..];
        if rest.is_empty() {
            return true;
        }
        let sep = if rest.starts_with("__") {
            2
        } else if rest.starts_with('_') || rest.starts_with('.') {
            1
        } else {
            rest.find(|c: char| c != '-').unwrap_or(rest.len())
        };
        if sep == 0 {
            return false;
        }
        rest = &rest[sep..];
    }
}

/// A registry: `host[:port]` where host is a domain name (components of
/// letters, digits and inner hyphens) or a bracketed IPv6 literal.
fn registry(s: &str) -> bool {
    host_port(s)
}

pub fn image_repository(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let parts: Vec<&str> = s.split('/').collect();
    let Some((first, rest)) = parts.split_first() else { return false };
    // The first component is a registry when it looks like one (as the
    // reference parsers decide: a '.', a ':' or "localhost"); a bare name is
    // a path component.
    let first_is_registry = !rest.is_empty() && (first.contains('.') || first.contains(':') || *first == "localhost");
    if first_is_registry {
        registry(first) && rest.iter().all(|c| path_component(c))
    } else {
        parts.iter().all(|c| path_component(c))
    }
}

pub fn image_tag(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    s.len() <= 128 && s.chars().next().is_some_and(word) && s.chars().all(|c| word(c) || c == '.' || c == '-')
}

pub fn digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

fn ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

pub fn s3_bucket(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.chars().all(|c| is_lower_alnum(c) || c == '.' || c == '-')
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum)
        && !s.contains("..")
        && !ipv4(s)
        && !["xn--", "sthree-", "amzn-s3-demo-"].iter().any(|p| s.starts_with(p))
        && !["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].iter().any(|p| s.ends_with(p))
}

pub fn s3_region(s: &str) -> bool {
    s.len() <= 63 && s.split('-').all(|g| !g.is_empty() && g.chars().all(is_lower_alnum))
}

pub fn quantity(s: &str) -> bool {
    ["Ki", "Mi", "Gi", "Ti", "Pi"].iter().any(|u| {
        s.strip_suffix(u).is_some_and(|n| (1..=15).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
    })
}

/// Five fields, each from the subset of cron syntax that Kubernetes'
/// CronJob parser (robfig/cron's standard parser) and postgres-operator read
/// alike: `*`, numbers in range, `a-b`, lists and `/n` steps.
pub fn cron_schedule(s: &str) -> bool {
    const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
    let fields: Vec<&str> = s.split(' ').collect();
    fields.len() == 5
        && fields.iter().zip(RANGES).all(|(f, (lo, hi))| {
            f.split(',').all(|item| {
                let (base, step) = match item.split_once('/') {
                    Some((b, st)) => (b, Some(st)),
                    None => (item, None),
                };
                let num = |t: &str| (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) && t.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n));
                let step_ok = step.is_none_or(|st| (1..=2).contains(&st.len()) && st.bytes().all(|b| b.is_ascii_digit()) && st.parse::<u32>().is_ok_and(|n| n >= 1));
                let base_ok = base == "*"
                    || num(base)
                    || base.split_once('-').is_some_and(|(a, b)| num(a) && num(b) && a.parse::<u32>().ok() <= b.parse::<u32>().ok());
                step_ok && base_ok
            })
        })
}

pub fn cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else { return false };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match prefix {
        None => max,
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) && !(p.len() > 1 && p.starts_with('0')) => match p.parse::<u32>() {
            Ok(n) if n <= max => n,
            _ => return false,
        },
        Some(_) => return false,
    };
    let host_bits = match ip {
        std::net::IpAddr::V4(v) => u128::from(u32::from(v)) & ((1u128 << (32 - bits)) - 1),
        std::net::IpAddr::V6(v) => u128::from(v) & u128::MAX.checked_shr(bits).unwrap_or(0),
    };
    host_bits == 0
}

pub fn age_recipient(s: &str) -> bool {
    const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    s.strip_prefix("age1").is_some_and(|rest| rest.len() == 58 && rest.chars().all(|c| BECH32.contains(c)))
}

pub fn systemd_calendar(s: &str) -> bool {
    if matches!(s, "hourly" | "daily" | "weekly" | "monthly") {
        return true;
    }
    let Some(time) = s.strip_prefix("*-*-* ") else { return false };
    let field = |f: &str, max: u32| {
        f == "*"
            || f.strip_prefix("*/").or_else(|| f.split_once('/').map(|(_, n)| n)).is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u32>().is_ok_and(|n| n >= 1 && n <= max))
                && f.split_once('/').is_none_or(|(b, _)| b == "*" || (b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()) && b.parse::<u32>().is_ok_and(|n| n <= max)))
            || (f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()) && f.parse::<u32>().is_ok_and(|n| n <= max))
    };
    let parts: Vec<&str> = time.split(':').collect();
    parts.len() == 3 && field(parts[0], 23) && field(parts[1], 59) && field(parts[2], 59)
}

pub fn vault_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
}

pub fn hex_color(s: &str) -> bool {
    s.strip_prefix('#').is_some_and(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

pub fn site_name(s: &str) -> bool {
    (1..=30).contains(&s.chars().count()) && !s.chars().any(char::is_control)
}

pub fn setting_key(s: &str) -> bool {
    s.len() <= 200
        && s.split('.').all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

pub fn credential_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

pub fn normalised_path(s: &str) -> bool {
    match s.strip_prefix('/') {
        Some("") => true,
        Some(rest) => rest.split('/').all(|c| !c.is_empty() && c != "." && c != ".."),
        None => false,
    }
}

/// Would a YAML 1.1 or 1.2 parser resolve this plain scalar to something
/// other than the string (null, a boolean, a number, a timestamp)? Judged
/// conservatively: a few strings are refused that a parser would keep.
pub fn yaml_plain_ambiguous(s: &str) -> bool {
    const WORDS: &[&str] = &["", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    let lower = s.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if [".inf", ".nan"].contains(&unsigned.to_ascii_lowercase().as_str()) {
        return true;
    }
    // Numbers in any base, with '_' and sexagesimal ':', floats and
    // exponents, and dates/timestamps all start with a digit or '.'+digit.
    let numeric_start = unsigned.starts_with(|c: char| c.is_ascii_digit())
        || (unsigned.starts_with('.') && unsigned[1..].starts_with(|c: char| c.is_ascii_digit()));
    numeric_start && unsigned.chars().all(|c| c.is_ascii_hexdigit() || "_.:+-xXoObBtTzZ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammars_accept_their_kind() {
        assert!(dns_name("chat.example.com") && !dns_name("chat") && !dns_name("Chat.example.com") && !dns_name("a..b.com"));
        assert!(!dns_name("-a.example.com") && !dns_name("a-.example.com") && !dns_name("a.example.c0m"));
        assert!(host("db.example.internal") && host("10.0.0.5") && host("[fd00::5]") && !host("a b") && !host("") && !host("a..b"));
        assert!(host_port("minio.storage.svc:9000") && host_port("[::1]:9000") && host_port("s3.amazonaws.com"));
        assert!(!host_port("a:0") && !host_port("a:65536") && !host_port("a:") && !host_port("https://a") && !host_port("[::1]x"));
        assert!(url("https://idp.example.com/.well-known/openid-configuration") && url("http://push.local:8066"));
        assert!(!url("https://a b") && !url("ftp://a") && !url("https://u:p@h/") && !url("https://h/\"x") && !url("https://h/x\n"));
        assert!(dns1123_label("mattermost") && !dns1123_label("Matter") && !dns1123_label("a.b") && !dns1123_label(&"a".repeat(64)));
        assert!(dns1123_subdomain("mattermost-tls") && dns1123_subdomain("a.b-c") && !dns1123_subdomain("a_b") && !dns1123_subdomain(""));
        assert!(secret_key("DB_CONNECTION_STRING") && secret_key("sp.key") && secret_key(".license") && !secret_key(".."));
        assert!(!secret_key("..x") && !secret_key(".") && !secret_key("a/b") && !secret_key("a:b") && !secret_key(""));
        for ok in ["mattermost/mattermost-enterprise-edition", "registry.example.mil/mattermost/ee", "localhost:5000/a", "a__b/c.d-e", "[::1]:5000/x/y", "a---b"] {
            assert!(image_repository(ok), "{ok}");
        }
        for bad in ["Mattermost/x", "a:tag", "a@sha256:x", "a//b", "/a", "a/", "a_", "-a", "a/.b", "reg.io:99999/a", "x\"y", "a b"] {
            assert!(!image_repository(bad), "{bad}");
        }
        assert!(image_tag("11.4.0") && image_tag("_x") && !image_tag(".x") && !image_tag("-x") && !image_tag(&"a".repeat(129)));
        assert!(digest(&format!("sha256:{}", "a".repeat(64))) && !digest(&format!("sha256:{}", "A".repeat(64))));
        for ok in ["mattermost", "chat-files", "a.b.c", "abc"] {
            assert!(s3_bucket(ok), "{ok}");
        }
        for bad in ["ab", "Abc", "a..b", "-ab", "ab-", "192.168.1.1", "xn--abc", "abc-s3alias", "a_b", &"a".repeat(64)] {
            assert!(!s3_bucket(bad), "{bad}");
        }
        assert!(s3_region("us-east-1") && s3_region("us-gov-west-1") && !s3_region("us east") && !s3_region("-us") && !s3_region(""));
        assert!(hex_color("#007a33") && !hex_color("007a33") && !hex_color("#007a3"));
        assert!(credential_name("setting-sqlsettings-x") && !credential_name("a/b") && !credential_name("a:b") && !credential_name(".."));
        assert!(normalised_path("/run/secrets/x") && !normalised_path("/run//x") && !normalised_path("/run/./x") && !normalised_path("/run/x/"));
        assert!(setting_key("SqlSettings.AtRestEncryptKey") && setting_key("PluginSettings.Plugins.com.example-x.key") && !setting_key("A..B") && !setting_key("a b"));
    }

    #[test]
    fn yaml_plain_scalars_that_are_not_strings() {
        for s in ["true", "No", "ON", "y", "~", "null", "", "123", "-1", "+1.5", "0x1f", "0o17", "1_000", "1:20", "1e3", ".5", "-.inf", ".NaN", "2024-01-01", "2001-12-14t21:59:43.10-05:00"] {
            assert!(yaml_plain_ambiguous(s), "{s}");
        }
        for s in ["mattermost", "mattermost-license", "1password-creds", "license", "DB_CONNECTION_STRING", "nginx", "yes-please"] {
            assert!(!yaml_plain_ambiguous(s), "{s}");
        }
    }
}
