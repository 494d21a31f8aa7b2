//! PostgreSQL DSNs as the pinned server's driver reads them: lib/pq v1.10.9,
//! reached through `sql.Open("postgres", SqlSettings.DataSource)` (also for
//! replicas), built with Go 1.26.
//!
//! What lib/pq does, restated (checked against lib/pq itself by tests/oracle.rs):
//!
//! - Options start as `host=localhost port=5432`, then environment variables
//!   (`PGHOST`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLSNI`, ...; a few such as
//!   `PGSERVICE`, `PGHOSTADDR`, `PGSSLCRL` make it panic), then the DSN.
//! - A DSN starting with exactly `postgres://` or `postgresql://` is parsed
//!   by Go's `net/url` and rewritten as `key='value'` pairs: userinfo gives
//!   `user`/`password`, the host `host`/`port` (a host that does not split as
//!   host:port is kept whole, brackets and all), the path `dbname`, and every
//!   query key -- percent-decoded, `+` as space, a key containing `;` dropped,
//!   only its FIRST value -- a pair of its own. Empty values are dropped (so
//!   `?sslmode=` means no sslmode at all). The pairs are then SORTED as
//!   strings, so when a key appears twice (`host` in the authority and in the
//!   query) the value sorting last wins. The key is inserted unescaped: a
//!   decoded key containing spaces or quotes is re-read as more pairs.
//!   The fragment is ignored (but must be validly escaped).
//! - Key/value text: `key = value` with any white space around `=`; a value
//!   is either bare (up to white space, `\` escapes the next character) or
//!   single-quoted (`\` escapes inside). The LAST occurrence of a key wins.
//!   An empty bare value swallows the next word: in `host= sslmode=disable`
//!   the host is the text `sslmode=disable`. Unknown keys are accepted and
//!   sent to the server as run-time parameters (PostgreSQL itself rejects
//!   names it does not know).
//! - `sslmode`: absent or empty means `require`; `allow`/`prefer` are not
//!   supported (connection refused). A host starting with `/` (Unix socket)
//!   forces `disable`.
//!   - `require`: TLS, no verification -- unless `sslrootcert` names a file
//!     that exists, then the chain is verified (as `verify-ca`).
//!   - `verify-ca`: chain verified against `sslrootcert` or the system roots.
//!     lib/pq checks it itself after the handshake, with the TLS server name
//!     as the expected host name: with SNI on (`sslsni` absent, empty or
//!     starting with `1`) and a host that is a name (not an IP literal), the
//!     host name IS verified too.
//!   - `verify-full`: chain and host name (an empty host cannot connect).
//!
//! Assumptions (a pure function cannot look): files named by `sslrootcert`
//! exist and hold certificates (lib/pq refuses `verify-*` when they do not,
//! but silently drops verification for `require`); no client certificate in
//! `~/.postgresql`; host names resolve; ports are numeric or one of Go's
//! built-in service names (`/etc/services` may know more at run time);
//! `sslinline=true` PEM values are well-formed if present.

use std::collections::BTreeMap;

use super::net::{join_host_port, lookup_port, parse_addr, split_host_port, split_host_port_bytes};

/// The TLS lib/pq ends up using for one DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTls {
    /// The effective mode: `disable`, `require` (also for absent/empty),
    /// `verify-ca` or `verify-full`; `disable` for a Unix socket host.
    pub sslmode: String,
    /// The client asks for TLS (and gives up if the server refuses).
    pub requests_tls: bool,
    /// The server's certificate chain must lead to a trusted root.
    pub verifies_chain: bool,
    /// The certificate must name the host connected to.
    pub verifies_host: bool,
}

/// [`postgres_tls_with_env`] with no `PG*` environment variables.
pub fn postgres_tls(dsn: &str) -> Result<PgTls, String> {
    postgres_tls_with_env(dsn, &|_| None)
}

/// How lib/pq would secure a connection made with `dsn`, the process
/// environment answering through `env` (name -> value). `Err` when lib/pq
/// would refuse to connect even to a correctly configured server. Error
/// texts never contain any part of the DSN.
pub fn postgres_tls_with_env(dsn: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<PgTls, String> {
    let o = connector_options(dsn, env)?;
    tls_of(&o)
}

/// True when the DSN gives lib/pq a password in any form it reads: URL
/// userinfo (`u:pw@`), a `password` query key (also percent-encoded, e.g.
/// `pass%77ord`, and any of its repeated values), or `password=` in
/// key/value text (spaces around `=`, quoted), including occurrences a later
/// one overrides. Never returns the password. Text lib/pq cannot parse
/// counts if what parsed before the error had one, if a URL authority has
/// `user:password@`, or if (after lenient percent-decoding, any case)
/// `password` is followed by `=` and a value; a mere mention of the word
/// does not count (this is called on every string setting).
pub fn postgres_password(dsn: &str) -> bool {
    let has = |pairs: &[(String, String)]| pairs.iter().any(|(k, v)| k == "password" && !v.is_empty());
    let mut pairs = Vec::new();
    if is_url(dsn) {
        let Ok(u) = parse_url(dsn) else { return looks_like_password(dsn) };
        if u.user.as_ref().is_some_and(|(_, pw)| pw.as_ref().is_some_and(|p| !p.is_empty())) {
            return true;
        }
        if u.query.iter().any(|(k, vs)| k.as_slice() == b"password" && vs.iter().any(|v| !v.is_empty())) {
            return true;
        }
        let _ = parse_opts(&go_runes(&url_to_conninfo(&u)), &mut pairs);
        has(&pairs)
    } else {
        let chars: Vec<char> = dsn.chars().collect();
        match parse_opts(&chars, &mut pairs) {
            Ok(()) => has(&pairs),
            Err(_) => has(&pairs) || looks_like_password(dsn),
        }
    }
}

/// Whether lib/pq would answer a password request with a non-empty password
/// taken from the DSN (the last occurrence; no environment, no `.pgpass`).
/// `Err` as for [`postgres_tls`].
pub fn postgres_effective_password(dsn: &str) -> Result<bool, String> {
    let o = connector_options(dsn, &|_| None)?;
    tls_of(&o)?;
    Ok(o.get("password").is_some_and(|p| !p.is_empty()))
}

fn looks_like_password(dsn: &str) -> bool {
    // scheme://user:secret@host...
    let userinfo = dsn.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.split_once(':').is_some_and(|(_, pw)| !pw.is_empty()))
    });
    userinfo || password_assignment(&lenient_unescape(dsn))
}

/// `password` (any ASCII case), optional white space, `=`, optional white
/// space, then a value: a non-separator character or a non-empty quote.
fn password_assignment(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("password").any(|(i, w)| {
        let rest = lower[i + w.len()..].trim_start();
        let Some(value) = rest.strip_prefix('=') else { return false };
        let mut chars = value.trim_start().chars();
        match chars.next() {
            None => false,
            Some('\'') => chars.next().is_some_and(|c| c != '\''),
            Some(c) => !c.is_whitespace() && c != '&' && c != '#',
        }
    })
}

fn lenient_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() {
            out.push(unhex(b[i + 1]) << 4 | unhex(b[i + 2]));
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_url(dsn: &str) -> bool {
    dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")
}

// ---------------------------------------------------------------------------
// lib/pq's NewConnector and the checks its connection start-up makes before TLS.

const ENV_KEYS: [(&str, &str); 17] = [
    ("PGHOST", "host"),
    ("PGPORT", "port"),
    ("PGDATABASE", "dbname"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGOPTIONS", "options"),
    ("PGAPPNAME", "application_name"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLSNI", "sslsni"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGCLIENTENCODING", "client_encoding"),
    ("PGDATESTYLE", "datestyle"),
    ("PGTZ", "timezone"),
    ("PGGEQO", "geqo"),
];

/// Set at all, these make lib/pq panic ("setting ... not supported").
const ENV_UNSUPPORTED: [&str; 11] = [
    "PGHOSTADDR",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGREALM",
    "PGREQUIRESSL",
    "PGSSLCRL",
    "PGREQUIREPEER",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGSYSCONFDIR",
    "PGLOCALEDIR",
];

type Opts = BTreeMap<String, String>;

fn connector_options(dsn: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Opts, String> {
    let mut o = Opts::new();
    o.insert("host".into(), "localhost".into());
    o.insert("port".into(), "5432".into());
    o.insert("extra_float_digits".into(), "2".into());
    for name in ENV_UNSUPPORTED {
        if env(name).is_some() {
            return Err(format!("lib/pq does not support the environment variable {name} (it panics)"));
        }
    }
    for (name, key) in ENV_KEYS {
        if let Some(v) = env(name) {
            o.insert(key.into(), v);
        }
    }
    let chars = if is_url(dsn) { go_runes(&url_to_conninfo(&parse_url(dsn)?)) } else { dsn.chars().collect() };
    let mut pairs = Vec::new();
    parse_opts(&chars, &mut pairs)?;
    o.extend(pairs);

    if let Some(enc) = o.get("client_encoding") {
        let norm: String = enc.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
        if norm != "utf8" && norm != "unicode" {
            return Err("client_encoding must be absent or UTF8".into());
        }
    }
    if o.get("datestyle").is_some_and(|d| d != "ISO, MDY") {
        return Err("datestyle must be absent or ISO, MDY".into());
    }
    let unix = o.get("host").is_some_and(|h| h.starts_with('/'));
    if unix {
        o.insert("sslmode".into(), "disable".into());
    }
    // Connection start-up, before any packet.
    for key in ["disable_prepared_binary_result", "binary_parameters"] {
        if o.get(key).is_some_and(|v| v != "yes" && v != "no") {
            return Err(format!("{key} must be yes or no"));
        }
    }
    if let Some(t) = o.get("connect_timeout").filter(|t| t.as_str() != "0") {
        let secs = go_parse_int(t).ok_or("connect_timeout is not an integer")?;
        // A zero or negative timeout (e.g. "00", "-1") leaves no time at all.
        if secs.wrapping_mul(1_000_000_000) <= 0 {
            return Err("connect_timeout leaves no time to connect".into());
        }
    }
    if !unix {
        let host = o.get("host").map(String::as_str).unwrap_or_default();
        let port = o.get("port").map(String::as_str).unwrap_or_default();
        let address = join_host_port(host, port);
        let (_, p) = split_host_port(&address).ok_or("host and port do not form a dialable address")?;
        lookup_port(p).ok_or("port is not a number of 0-65535 (or a known service name)")?;
    }
    Ok(o)
}

fn tls_of(o: &Opts) -> Result<PgTls, String> {
    let get = |k: &str| o.get(k).map(String::as_str);
    let host = get("host").unwrap_or_default();
    let inline = get("sslinline") == Some("true");
    let mode = get("sslmode").unwrap_or_default();
    let root = get("sslrootcert").filter(|r| !r.is_empty());
    let (mode, verify_ca_only) = match mode {
        // lib/pq keeps sslrootcert for require only when os.Stat finds the
        // file: assumed for a path, never true for inline PEM text.
        "" | "require" => ("require", root.is_some() && !inline),
        "verify-ca" => ("verify-ca", true),
        "verify-full" => ("verify-full", false),
        "disable" => {
            return Ok(PgTls { sslmode: "disable".into(), requests_tls: false, verifies_chain: false, verifies_host: false })
        }
        _ => return Err("unsupported sslmode (lib/pq knows disable, require, verify-ca, verify-full)".into()),
    };
    let sni = get("sslsni").is_none_or(|s| s.is_empty() || s.starts_with('1'));
    let server_name = if mode == "verify-full" || sni { host } else { "" };
    if inline {
        if get("sslcert").is_none_or(str::is_empty) || get("sslkey").is_none_or(str::is_empty) {
            return Err("sslinline=true needs PEM text in sslcert and sslkey".into());
        }
        if mode != "require" && root.is_some_and(|r| !r.contains("-----BEGIN CERTIFICATE-----")) {
            return Err("sslinline=true: sslrootcert holds no PEM certificate".into());
        }
    }
    if mode == "verify-full" && server_name.is_empty() {
        return Err("verify-full with an empty host cannot verify anything (Go's TLS refuses)".into());
    }
    let expected = if mode == "verify-full" { server_name } else { hostname_in_sni(server_name) };
    let verifies_host = mode == "verify-full" || (verify_ca_only && !expected.is_empty());
    if verifies_host && !expected.is_ascii() {
        // Certificate names are ASCII: no certificate can match this host.
        return Err("the host name cannot match any certificate (not ASCII)".into());
    }
    Ok(PgTls {
        sslmode: mode.into(),
        requests_tls: true,
        verifies_chain: mode == "verify-full" || verify_ca_only,
        verifies_host,
    })
}

/// crypto/tls's choice of SNI name, which lib/pq's own verify-ca check uses
/// as the expected host: none for an IP literal (brackets and a `%zone`
/// ignored), else the name without trailing dots.
fn hostname_in_sni(name: &str) -> &str {
    let mut host = name;
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        host = &host[1..host.len() - 1];
    }
    if let Some(i) = host.rfind('%').filter(|&i| i > 0) {
        host = &host[..i];
    }
    if matches!(parse_addr(host), Some((_, None))) {
        return "";
    }
    name.trim_end_matches('.')
}

/// Go's strconv.ParseInt(s, 10, 64).
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = 0;
    for b in digits.bytes() {
        n = n * 10 + i128::from(b - b'0');
        if n > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    let n = if neg { -n } else { n };
    i64::try_from(n).ok()
}

// ---------------------------------------------------------------------------
// lib/pq's key/value scanner (the libpq conninfo syntax).

fn parse_opts(s: &[char], out: &mut Vec<(String, String)>) -> Result<(), String> {
    let mut i = 0;
    // Next(): the next rune, or (NUL, false) at the end.
    let next = |i: &mut usize| -> (char, bool) {
        match s.get(*i) {
            Some(&c) => {
                *i += 1;
                (c, true)
            }
            None => ('\0', false),
        }
    };
    let skip_spaces = |i: &mut usize| -> (char, bool) {
        let (mut r, mut ok) = next(i);
        while ok && r.is_whitespace() {
            (r, ok) = next(i);
        }
        (r, ok)
    };
    loop {
        let (mut r, mut ok) = skip_spaces(&mut i);
        if !ok {
            return Ok(());
        }
        let mut key = String::new();
        while !r.is_whitespace() && r != '=' {
            key.push(r);
            (r, ok) = next(&mut i);
            if !ok {
                break;
            }
        }
        if r != '=' {
            (r, ok) = skip_spaces(&mut i);
        }
        if r != '=' || !ok {
            return Err("a key without \"=\" in the connection string".into());
        }
        (r, ok) = skip_spaces(&mut i);
        if !ok {
            out.push((key, String::new()));
            return Ok(());
        }
        let mut val = String::new();
        if r != '\'' {
            while !r.is_whitespace() {
                if r == '\\' {
                    (r, ok) = next(&mut i);
                    if !ok {
                        return Err("a backslash at the end of the connection string".into());
                    }
                }
                val.push(r);
                (r, ok) = next(&mut i);
                if !ok {
                    break;
                }
            }
        } else {
            loop {
                (r, ok) = next(&mut i);
                if !ok {
                    return Err("an unterminated quoted value in the connection string".into());
                }
                match r {
                    '\'' => break,
                    '\\' => {
                        (r, _) = next(&mut i);
                        val.push(r);
                    }
                    _ => val.push(r),
                }
            }
        }
        out.push((key, val));
    }
}

/// Go's `[]rune(string)`: valid UTF-8 decoded, each invalid byte one U+FFFD.
fn go_runes(b: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(b.len());
    let mut rest = b;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend(s.chars());
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                if let Ok(s) = std::str::from_utf8(good) {
                    out.extend(s.chars());
                }
                out.push('\u{FFFD}');
                rest = bad.get(1..).unwrap_or_default();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Go's net/url.Parse, as far as lib/pq's ParseURL uses it, and ParseURL.

struct GoUrl {
    user: Option<(Vec<u8>, Option<Vec<u8>>)>,
    host: Vec<u8>,
    path: Vec<u8>,
    /// Decoded query: key -> values in order (keys in first-seen order).
    query: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Host,
    Zone,
    UserPassword,
    Path,
    QueryComponent,
    Fragment,
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// ASCII bytes Go allows unescaped in a URL host (and zone).
fn host_byte_ok(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c)
}

fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
    let bad = || Err("invalid escape or character in the URL".to_string());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                if i + 2 >= s.len() || !s[i + 1].is_ascii_hexdigit() || !s[i + 2].is_ascii_hexdigit() {
                    return bad();
                }
                let pct25 = &s[i..i + 3] == b"%25";
                if mode == Mode::Host && unhex(s[i + 1]) < 8 && !pct25 {
                    return bad();
                }
                if mode == Mode::Zone {
                    let v = unhex(s[i + 1]) << 4 | unhex(s[i + 2]);
                    if !pct25 && v != b' ' && !host_byte_ok(v) {
                        return bad();
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && !host_byte_ok(c) {
                    return bad();
                }
                i += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                out.push(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
                i += 3;
            }
            b'+' if mode == Mode::QueryComponent => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
}

fn valid_optional_port(p: &[u8]) -> bool {
    p.is_empty() || (p[0] == b':' && p[1..].iter().all(u8::is_ascii_digit))
}

fn parse_host(host: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |m: &str| Err(format!("invalid host in the URL: {m}"));
    match host.iter().rposition(|&b| b == b'[') {
        Some(ob) if ob > 0 => return bad("misplaced '['"),
        Some(_) => {
            let Some(cb) = host.iter().rposition(|&b| b == b']') else { return bad("missing ']'") };
            let colon_port = &host[cb + 1..];
            if !valid_optional_port(colon_port) {
                return bad("invalid port");
            }
            let colon_port = unescape(colon_port, Mode::Host)?;
            let hostname = &host[1..cb];
            let mut unescaped = match hostname.windows(3).position(|w| w == b"%25") {
                Some(z) => {
                    let mut h = unescape(&hostname[..z], Mode::Host)?;
                    h.extend(unescape(&hostname[z..], Mode::Zone)?);
                    h
                }
                None => unescape(hostname, Mode::Host)?,
            };
            let text = std::str::from_utf8(&unescaped).map_err(|_| "invalid host in the URL".to_string())?;
            match parse_addr(text) {
                Some((std::net::IpAddr::V6(_), _)) => {}
                _ => return bad("only IPv6 addresses may be bracketed"),
            }
            let mut out = vec![b'['];
            out.append(&mut unescaped);
            out.push(b']');
            out.extend(colon_port);
            return Ok(out);
        }
        None => {}
    }
    // postgres URLs may list hosts with colons: the port follows the last one.
    if let Some(i) = host.iter().rposition(|&b| b == b':') {
        if !valid_optional_port(&host[i..]) {
            return bad("invalid port");
        }
    }
    unescape(host, Mode::Host)
}

fn parse_url(raw: &str) -> Result<GoUrl, String> {
    let (u, frag) = raw.split_once('#').unwrap_or((raw, ""));
    if u.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("a control character in the URL".into());
    }
    // Callers checked the scheme (postgres:// or postgresql://).
    let rest = u.split_once(':').map(|(_, r)| r).unwrap_or_default();
    let (rest, raw_query) = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        (&rest[..rest.len() - 1], "")
    } else {
        rest.split_once('?').unwrap_or((rest, ""))
    };
    let after = rest.strip_prefix("//").unwrap_or(rest);
    let (authority, path) = match after.find('/') {
        Some(i) => after.split_at(i),
        None => (after, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host = parse_host(hostport.as_bytes())?;
    let user = match userinfo {
        None => None,
        Some(ui) if !valid_userinfo(ui) => return Err("invalid userinfo in the URL".into()),
        Some(ui) => match ui.split_once(':') {
            None => Some((unescape(ui.as_bytes(), Mode::UserPassword)?, None)),
            Some((name, pw)) => Some((
                unescape(name.as_bytes(), Mode::UserPassword)?,
                Some(unescape(pw.as_bytes(), Mode::UserPassword)?),
            )),
        },
    };
    let path = unescape(path.as_bytes(), Mode::Path)?;
    if !frag.is_empty() {
        unescape(frag.as_bytes(), Mode::Fragment)?;
    }
    // url.Values, as Query() builds it: malformed pairs silently dropped,
    // and nothing at all beyond 10000 parameters.
    let mut query: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    if raw_query.matches('&').count() < 10000 {
        for part in raw_query.split('&') {
            if part.contains(';') || part.is_empty() {
                continue;
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (Ok(k), Ok(v)) = (unescape(k.as_bytes(), Mode::QueryComponent), unescape(v.as_bytes(), Mode::QueryComponent)) else {
                continue;
            };
            match query.iter_mut().find(|(key, _)| *key == k) {
                Some((_, vs)) => vs.push(v),
                None => query.push((k, vec![v])),
            }
        }
    }
    Ok(GoUrl { user, host, path, query })
}

/// lib/pq's ParseURL: the URL as sorted `key='value'` pairs.
fn url_to_conninfo(u: &GoUrl) -> Vec<u8> {
    let mut kvs: Vec<Vec<u8>> = Vec::new();
    let mut accrue = |k: &[u8], v: &[u8]| {
        if v.is_empty() {
            return;
        }
        let mut kv = k.to_vec();
        kv.extend_from_slice(b"='");
        for &b in v {
            match b {
                b'\'' => kv.extend_from_slice(b"\\'"),
                b'\\' => kv.extend_from_slice(b"\\\\"),
                _ => kv.push(b),
            }
        }
        kv.push(b'\'');
        kvs.push(kv);
    };
    if let Some((name, pw)) = &u.user {
        accrue(b"user", name);
        accrue(b"password", pw.as_deref().unwrap_or_default());
    }
    match split_host_port_bytes(&u.host) {
        Some((h, p)) => {
            accrue(b"host", h);
            accrue(b"port", p);
        }
        None => accrue(b"host", &u.host),
    }
    if !u.path.is_empty() {
        accrue(b"dbname", u.path.get(1..).unwrap_or_default());
    }
    for (k, vs) in &u.query {
        accrue(k, vs.first().map(Vec::as_slice).unwrap_or_default());
    }
    kvs.sort();
    kvs.join(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(dsn: &str) -> PgTls {
        match postgres_tls(dsn) {
            Ok(t) => t,
            Err(e) => panic!("{dsn}: {e}"),
        }
    }
    fn mode(dsn: &str) -> String {
        tls(dsn).sslmode
    }

    #[test]
    fn default_is_require_without_verification() {
        let t = tls("postgres://mm@db/mm");
        assert_eq!(t, PgTls { sslmode: "require".into(), requests_tls: true, verifies_chain: false, verifies_host: false });
        assert_eq!(mode("host=db sslmode="), "require");
        assert_eq!(mode("postgres://db/mm?sslmode="), "require");
    }

    #[test]
    fn repeated_keys() {
        // URL: the first query value; key/value text: the last occurrence.
        assert_eq!(mode("postgres://r/mm?sslmode=disable&sslmode=verify-full"), "disable");
        assert_eq!(mode("postgres://r/mm?sslmode=&sslmode=disable"), "require");
        assert_eq!(mode("sslmode='verify-full' sslmode=disable"), "disable");
        // Authority host vs query host: sorted pairs, the greater value wins.
        assert_eq!(tls("postgres://a/mm?host=/run/pg&sslmode=verify-full").sslmode, "verify-full");
        assert_eq!(tls("postgres:///mm?host=/run/pg&sslmode=verify-full").sslmode, "disable");
    }

    #[test]
    fn key_value_syntax() {
        assert_eq!(mode("host=h sslmode = disable"), "disable");
        assert_eq!(mode("host=h sslmode\t=\n'verify-full'"), "verify-full");
        assert_eq!(mode(r"sslmode=verify\-full"), "verify-full");
        // An empty bare value swallows the next word.
        assert_eq!(mode("host= sslmode=verify-full"), "require");
        assert!(postgres_tls("host=h sslmode").is_err());
        assert!(postgres_tls("host='h").is_err());
        assert!(postgres_tls(r"host=h\").is_err());
        assert!(postgres_tls("sslmode=prefer").is_err());
        assert!(postgres_tls("SSLMODE=disable").is_ok_and(|t| t.sslmode == "require"));
    }

    #[test]
    fn url_forms() {
        assert_eq!(mode("postgresql://h/mm?ssl%6Dode=disable"), "disable");
        assert_eq!(mode("postgres://h/mm?sslmode=disable#sslmode=verify-full"), "disable");
        assert_eq!(mode("postgres://h/mm#?sslmode=disable"), "require");
        assert!(postgres_tls("postgres://h/mm#%zz").is_err());
        assert!(postgres_tls("postgres://h:x/mm").is_err());
        assert!(postgres_tls("postgres://[10.0.0.1]/mm").is_err());
        assert!(postgres_tls("POSTGRES://h/mm").is_err());
        // A decoded key is inserted unescaped and re-read.
        assert_eq!(mode("postgres://h/mm?x%3D1%20sslmode=disable"), "disable");
        assert_eq!(mode("postgres://h/mm?sslmode=disable;x=1"), "require");
    }

    #[test]
    fn verification() {
        let ca = tls("postgres://db.example.com/mm?sslmode=verify-ca");
        assert!(ca.verifies_chain && ca.verifies_host, "lib/pq checks the SNI name for verify-ca");
        let ca_ip = tls("postgres://10.0.0.5/mm?sslmode=verify-ca");
        assert!(ca_ip.verifies_chain && !ca_ip.verifies_host);
        let ca_nosni = tls("host=db sslmode=verify-ca sslsni=0");
        assert!(ca_nosni.verifies_chain && !ca_nosni.verifies_host);
        let req_root = tls("host=db sslrootcert=root.crt");
        assert!(req_root.verifies_chain && req_root.verifies_host && req_root.sslmode == "require");
        let full = tls("host=10.0.0.5 sslmode=verify-full sslsni=0");
        assert!(full.verifies_chain && full.verifies_host);
        assert!(postgres_tls("host= sslmode=verify-full").is_ok()); // host is "sslmode=verify-full"
        assert!(postgres_tls("host='' sslmode=verify-full").is_err());
        assert_eq!(mode("host=/run/postgresql sslmode=verify-full"), "disable");
    }

    #[test]
    fn environment_is_a_lower_layer() {
        let env = |k: &str| (k == "PGSSLMODE").then(|| "verify-full".to_string());
        assert_eq!(postgres_tls_with_env("host=db", &env).map(|t| t.sslmode), Ok("verify-full".into()));
        assert_eq!(postgres_tls_with_env("host=db sslmode=disable", &env).map(|t| t.sslmode), Ok("disable".into()));
        let bad = |k: &str| (k == "PGSERVICE").then(String::new);
        assert!(postgres_tls_with_env("host=db", &bad).is_err());
    }

    #[test]
    fn start_up_checks() {
        assert!(postgres_tls("connect_timeout=00").is_err());
        assert!(postgres_tls("connect_timeout=0").is_ok());
        assert!(postgres_tls("connect_timeout=+5").is_ok());
        assert!(postgres_tls("connect_timeout=x").is_err());
        assert!(postgres_tls("binary_parameters=true").is_err());
        assert!(postgres_tls("client_encoding=UTF-8").is_ok());
        assert!(postgres_tls("client_encoding=latin1").is_err());
        assert!(postgres_tls("port=99999").is_err());
        assert!(postgres_tls("host=[::1]").is_err());
    }

    #[test]
    fn passwords_are_found_in_every_form_and_never_returned() {
        for dsn in [
            "postgres://u:pw@h/mm",
            "postgres://h/mm?password=pw",
            "postgres://h/mm?pass%77ord=pw",
            "postgres://h/mm?password=&password=pw",
            "host=h password = pw",
            "host=h password='p w'",
            "password=pw password=",
            "postgres://h/mm?x%3D1%20password=pw",
            "postgres://u:pw@h:bad/mm",
            "host='unterminated password=pw",
            "host=h password=pw sslmode",
            "postgres://h:bad/mm?pass%77ord=pw",
        ] {
            assert!(postgres_password(dsn), "{dsn}");
        }
        for dsn in [
            "postgres://u@h/mm",
            "postgres://u:@h/mm",
            "host=h user=u",
            "host=h password=",
            "PASSWORD=x",
            "Forgot your password? Ask the admin.",
            "password= ",
            "postgres://h:bad/mm?password=&x=1",
        ] {
            assert!(!postgres_password(dsn), "{dsn}");
        }
        assert_eq!(postgres_effective_password("password=pw password="), Ok(false));
        assert_eq!(postgres_effective_password("postgres://u:pw@h/mm"), Ok(true));
        let err = postgres_tls("host='secret-text").err().unwrap_or_default();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn invalid_utf8_after_decoding_is_replaced_per_byte() {
        assert_eq!(go_runes(b"a\xE2\x82b"), vec!['a', '\u{FFFD}', '\u{FFFD}', 'b']);
        assert_eq!(go_runes("é".as_bytes()), vec!['é']);
    }
}
