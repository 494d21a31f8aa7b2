//! `secure-mattermost restore-config`: after a database restore, take the
//! database password out of the configuration Mattermost keeps in the
//! database (`MM_CONFIG` set to a PostgreSQL DSN, as the Helm chart and the
//! operator run it).
//!
//! That stored configuration (table `Configurations`, one JSON document per
//! row, the row with `Active` set in force) holds `SqlSettings.DataSource`
//! with the password it was first started with. After a restore under new
//! credentials the stored string is stale, and it is a secret inside every
//! backup. This command connects to the restored database with the
//! declaration's `database.*` options and a password read from a file, and
//! replaces every stored DSN that carries a password with the declaration's
//! form without one; the server gets the real DSN from
//! `MM_SQLSETTINGS_DATASOURCE` at start (docs/restore.md). Without `--apply`
//! it prints what it would change and writes nothing.
//!
//! Exit codes: 0 nothing to change, or changes written (`--apply`); 1 dry run
//! that found a stored password (a finding); 2 bad input, usage or the
//! database unreachable or not a Mattermost configuration store, or a
//! rendered deployment that would not give the server
//! `MM_SQLSETTINGS_DATASOURCE` (it would be left without a password); 3 the
//! declaration or password file unreadable. No output ever holds the
//! password: errors are built from the options, never from a DSN.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use postgres::config::SslMode as PgSslMode;
use postgres_openssl::MakeTlsConnector;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::catalog::{self, Catalog};
use crate::cli::Format;
use crate::document::{self, Deployment, SslMode};
use crate::error::{exit, Error};
use crate::output;
use crate::secrets::Secrets;

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Evaluated declaration (JSON, as for `check --input`), or - for stdin: its `database.*` options say where to connect and what the stored DSN becomes.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// File holding the restored database's (new) password. Never given on the command line or in the environment.
    #[arg(long, value_name = "FILE")]
    pub password_file: PathBuf,
    /// Write the changes (in one transaction). Without it the plan is printed and nothing is written.
    #[arg(long)]
    pub apply: bool,
    /// Connect to this address instead of resolving database.host (e.g. the local end of `kubectl port-forward`); the certificate is still checked against database.host.
    #[arg(long, value_name = "IP:PORT")]
    pub connect_to: Option<std::net::SocketAddr>,
    /// CA bundle to verify the database certificate with instead of database.caFile (when that path exists only inside the pod); the stored DSN keeps database.caFile.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// Why restore-config could not do its work (exit 2); I/O is `Error::Io`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RestoreError {
    #[error("cannot connect to {target}: {detail}")]
    #[diagnostic(
        code(sm::restore::connect),
        help("check database.host, port, user and name in the declaration, that the password file holds the restored role's current password, and that the server's certificate verifies against database.caFile (sslMode {mode})")
    )]
    Connect { target: String, mode: String, detail: String },

    #[error("{target}: no Configurations table: this database does not hold a Mattermost configuration")]
    #[diagnostic(
        code(sm::restore::no_config_store),
        help("restore-config is for servers started with MM_CONFIG set to a PostgreSQL DSN (the Helm chart, the operator); a server reading config.json keeps no DSN in the database")
    )]
    NoConfigStore { target: String },

    #[error("{target}: the Configurations table has no active row")]
    #[diagnostic(
        code(sm::restore::no_active_row),
        help("the restore may be incomplete; a server started on this database would begin from defaults")
    )]
    NoActiveRow { target: String },

    #[error("{target}: configuration row {id} is not a JSON object: {detail}")]
    #[diagnostic(code(sm::restore::stored_json))]
    StoredJson { target: String, id: String, detail: String },

    #[error("{target}: {what} failed: {detail}")]
    #[diagnostic(code(sm::restore::query))]
    Query { target: String, what: String, detail: String },

    #[error("the deployment rendered from this declaration does not give the server MM_SQLSETTINGS_DATASOURCE ({file}): without the stored password it could not reach its database")]
    #[diagnostic(
        code(sm::restore::no_env_pin),
        help("the Helm chart and the Mattermost operator set only MM_CONFIG from the database Secret; add MM_SQLSETTINGS_DATASOURCE from the same Secret to the application's environment first (docs/restore.md), then run restore-config")
    )]
    NoEnvPin { file: String },

    #[error("{file}: the password file is empty")]
    #[diagnostic(code(sm::restore::empty_password), help("write the restored role's password into the file (a trailing newline is ignored)"))]
    EmptyPassword { file: String },
}

impl From<RestoreError> for Error {
    fn from(e: RestoreError) -> Error {
        Error::Eval(Box::new(e))
    }
}

/// What the stored configuration should say: the declaration's settings,
/// none of which can hold a password (literal secrets are refused).
struct Wanted {
    data_source: String,
    /// `SqlSettings.DataSourceReplicas`, `.DataSourceSearchReplicas`, `.ReplicaLagSettings`.
    lists: Vec<(&'static str, Value)>,
}

const LISTS: [&str; 3] = ["DataSourceReplicas", "DataSourceSearchReplicas", "ReplicaLagSettings"];

/// One change to one stored row, described without any secret.
#[derive(Debug, Clone)]
struct Change {
    setting: String,
    reason: &'static str,
    /// The value written (the declaration's, never a secret).
    now: Value,
}

struct Row {
    id: String,
    active: bool,
    changes: Vec<Change>,
    new_value: Option<String>,
}

pub fn run(args: RestoreArgs, format: Format) -> Result<i32, Error> {
    if format == Format::Sarif {
        return Err(Error::Usage { detail: "`restore-config` reports no rule findings; --format sarif is for check and render".into() });
    }
    let (text, name) = crate::cli::read_input(&args.input)?;
    let (doc, raw) = document::parse(&text, &name)?;
    let d = &doc.secure_mattermost;
    let eff = crate::effective::build(d, Catalog::load())?;
    if let Some(file) = unpinned_artifact(d, &eff.config, &raw["secureMattermost"])? {
        return Err(RestoreError::NoEnvPin { file }.into());
    }
    let wanted = Wanted {
        data_source: crate::effective::data_source(d, None),
        lists: LISTS
            .iter()
            .map(|k| {
                let v = catalog::lookup(&eff.config, &format!("SqlSettings.{k}"));
                (*k, if v.is_null() { json!([]) } else { v.clone() })
            })
            .collect(),
    };
    let password = read_password(&args.password_file)?;
    let target = target_name(d, args.connect_to);
    let ca_file = args.ca_file.as_ref().map(|p| p.display().to_string()).or_else(|| d.database.ca_file.clone());
    let mut client = connect(d, &password, &target, args.connect_to, ca_file.as_deref())?;

    let q = |what: &str, e: postgres::Error| RestoreError::Query { target: target.clone(), what: what.into(), detail: mask(&describe(&e), &password) };
    let exists: Option<String> = client
        .query_one("SELECT to_regclass('configurations')::text", &[])
        .map_err(|e| q("looking up the Configurations table", e))?
        .get(0);
    if exists.is_none() {
        return Err(RestoreError::NoConfigStore { target }.into());
    }
    let has_sha = client
        .query_opt(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'configurations' AND column_name = 'sha' AND table_schema = current_schema()",
            &[],
        )
        .map_err(|e| q("reading the Configurations columns", e))?
        .is_some();

    let mut tx = client.transaction().map_err(|e| q("starting a transaction", e))?;
    let stored = tx
        .query("SELECT Id, Value, Active FROM Configurations ORDER BY CreateAt, Id FOR UPDATE", &[])
        .map_err(|e| q("reading the Configurations table", e))?;
    let mut rows: Vec<Row> = Vec::new();
    let mut remaining_secrets: Vec<String> = Vec::new();
    let mut remaining_credentials: Vec<String> = Vec::new();
    for r in &stored {
        let id: String = r.try_get(0).map_err(|e| q("reading a configuration row", e))?;
        let value: String = r.try_get(1).map_err(|e| q("reading a configuration row", e))?;
        let active: bool = r.try_get::<_, Option<bool>>(2).map_err(|e| q("reading a configuration row", e))?.unwrap_or(false);
        let mut cfg: Value = serde_json::from_str(&value).map_err(|e| RestoreError::StoredJson { target: target.clone(), id: id.clone(), detail: e.to_string() })?;
        if !cfg.is_object() {
            return Err(RestoreError::StoredJson { target: target.clone(), id, detail: "not an object".into() }.into());
        }
        let changes = scrub(&mut cfg, &wanted, active);
        let mut creds = Vec::new();
        credentials_in(&cfg, &mut Vec::new(), &mut creds);
        for c in creds {
            let at = format!("{c} (row {id})");
            if !remaining_credentials.contains(&at) {
                remaining_credentials.push(at);
            }
        }
        if active {
            stored_secrets(&cfg, crate::defaults::defaults_ref(), &mut Vec::new(), &mut remaining_secrets);
        }
        let new_value = (!changes.is_empty()).then(|| pretty(&cfg));
        rows.push(Row { id, active, changes, new_value });
    }
    if !rows.iter().any(|r| r.active) {
        return Err(RestoreError::NoActiveRow { target }.into());
    }
    let pending = rows.iter().filter(|r| r.new_value.is_some()).count();
    if args.apply && pending > 0 {
        for r in &rows {
            let Some(v) = &r.new_value else { continue };
            let sha = hex(&Sha256::digest(v.as_bytes()));
            let res = if has_sha {
                tx.execute("UPDATE Configurations SET Value = $1, SHA = $2 WHERE Id = $3", &[v, &sha, &r.id])
            } else {
                tx.execute("UPDATE Configurations SET Value = $1 WHERE Id = $2", &[v, &r.id])
            };
            res.map_err(|e| q("updating a configuration row", e))?;
        }
        tx.commit().map_err(|e| q("committing the changes", e))?;
    } else {
        tx.rollback().map_err(|e| q("ending the transaction", e))?;
    }

    let report = Report { target: &target, mode: d.database.ssl_mode.as_str(), apply: args.apply, rows: &rows, secrets: &remaining_secrets, credentials: &remaining_credentials };
    output::stdout(&match format {
        Format::Json => report.json(),
        _ => report.text(),
    })?;
    Ok(if pending == 0 || args.apply { exit::OK } else { exit::POLICY_FAILED })
}

/// The artifact, rendered from the declaration, that starts the server
/// without `MM_SQLSETTINGS_DATASOURCE`, if any: removing the stored password
/// would then leave the server with none. Bare metal: `secret-env.json`
/// (what `launch` sets). Kubernetes: the chart values and/or the operator
/// resource, as `kubernetes.deployWith` says (both when it is absent).
fn unpinned_artifact(d: &Deployment, config: &Value, decl: &Value) -> Result<Option<String>, Error> {
    const VAR: &str = "MM_SQLSETTINGS_DATASOURCE";
    // Only the environment is read; the paths are render's defaults.
    let bins = crate::render::Binaries {
        mattermost: "/usr/local/bin/mattermost".into(),
        helper: "/usr/local/bin/secure-mattermost".into(),
        artifact_dir: "/etc/secure-mattermost".into(),
    };
    let files = crate::render::artifacts(d, config, &bins)?;
    let file = |name: &str| files.iter().find(|(n, _)| n == name).map(|(_, text)| text.as_str());
    let names_var = |text: &str| {
        text.match_indices(VAR).any(|(i, _)| !text[i + VAR.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    };
    if let Some(spec) = file("secret-env.json") {
        let spec: crate::render::env::SecretSpec = serde_json::from_str(spec).map_err(|e| Error::MalformedJson { file: "secret-env.json (rendered)".into(), detail: e.to_string() })?;
        let pinned = spec.secrets.iter().any(|s| s.env == VAR) || spec.pinned.iter().any(|p| p.env == VAR);
        return Ok((!pinned).then(|| "secret-env.json".to_string()));
    }
    let deployers: &[&str] = match decl["kubernetes"]["deployWith"].as_str() {
        Some("helm") => &["values.yaml"],
        Some("operator") => &["mattermost.yaml"],
        _ => &["values.yaml", "mattermost.yaml"],
    };
    Ok(deployers.iter().find(|n| file(n).is_some_and(|t| !names_var(t))).map(|n| n.to_string()))
}

/// The password file's contents without a trailing newline (as `launch` reads it).
fn read_password(path: &std::path::Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let pw = text.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(RestoreError::EmptyPassword { file: path.display().to_string() }.into());
    }
    Ok(pw)
}

/// `user@host:port/db`: what is connected to, nothing secret.
fn target_name(d: &Deployment, connect_to: Option<std::net::SocketAddr>) -> String {
    let db = &d.database;
    let via = connect_to.map(|a| format!(" via {a}")).unwrap_or_default();
    format!("{}@{}:{}/{}{via}", db.user, db.host, db.port, db.name)
}

/// Connects as libpq would with the declaration's `sslMode`: `verify-full`
/// checks the chain and the host name, `verify-ca` the chain, `require`
/// the chain only when a CA file is named (as libpq does with a root
/// certificate), `allow`/`prefer` try TLS unverified, `disable` none.
/// With a CA file only that bundle is trusted, else the system store.
fn connect(d: &Deployment, password: &str, target: &str, connect_to: Option<std::net::SocketAddr>, ca_file: Option<&str>) -> Result<postgres::Client, Error> {
    let db = &d.database;
    let mode = db.ssl_mode.as_str().to_string();
    let fail = |detail: String| -> Error { RestoreError::Connect { target: target.to_string(), mode: mode.clone(), detail: mask(&detail, password) }.into() };
    let (verify_chain, verify_host) = match db.ssl_mode {
        SslMode::VerifyFull => (true, true),
        SslMode::VerifyCa => (true, false),
        SslMode::Require => (ca_file.is_some(), false),
        SslMode::Allow | SslMode::Prefer | SslMode::Disable => (false, false),
    };
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| fail(format!("TLS set-up: {e}")))?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(|e| fail(format!("TLS set-up: {e}")))?;
    if verify_chain {
        if let Some(ca) = ca_file {
            let pem = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
            let certs = X509::stack_from_pem(&pem).map_err(|e| fail(format!("database.caFile {ca}: no PEM certificate ({e})")))?;
            if certs.is_empty() {
                return Err(fail(format!("database.caFile {ca}: no PEM certificate")));
            }
            let mut store = X509StoreBuilder::new().map_err(|e| fail(format!("TLS set-up: {e}")))?;
            for c in certs {
                store.add_cert(c).map_err(|e| fail(format!("database.caFile {ca}: {e}")))?;
            }
            b.set_cert_store(store.build());
        }
        b.set_verify(SslVerifyMode::PEER);
    } else {
        b.set_verify(SslVerifyMode::NONE);
    }
    let mut tls = MakeTlsConnector::new(b.build());
    if !verify_host {
        tls.set_callback(|c, _| {
            c.set_verify_hostname(false);
            Ok(())
        });
    }
    let mut cfg = postgres::Config::new();
    // A bracketed IPv6 literal in the DSN form is the bare address here.
    let host = db.host.trim_start_matches('[').trim_end_matches(']');
    cfg.host(host).port(connect_to.map_or(db.port, |a| a.port()));
    if let Some(a) = connect_to {
        cfg.hostaddr(a.ip());
    }
    cfg
        .dbname(&db.name)
        .user(&db.user)
        .password(password.as_bytes())
        .application_name("secure-mattermost restore-config")
        .connect_timeout(Duration::from_secs(10))
        .ssl_mode(match db.ssl_mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        });
    cfg.connect(tls).map_err(|e| fail(describe(&e)))
}

/// Rewrites one stored configuration: DSNs carrying a password become the
/// declaration's; the active row's `DataSource` is the declaration's in any
/// case (a stale host or database name is fixed too).
fn scrub(cfg: &mut Value, wanted: &Wanted, active: bool) -> Vec<Change> {
    let mut changes = Vec::new();
    let Some(sql) = cfg.as_object_mut().map(|o| o.entry("SqlSettings").or_insert_with(|| json!({}))) else { return changes };
    if !sql.is_object() {
        *sql = json!({});
    }
    let Some(sql) = sql.as_object_mut() else { return changes };
    let current = sql.get("DataSource").and_then(Value::as_str);
    let reason = match current {
        Some(s) if crate::semantic::dsn::postgres_password(s) => Some("carried a password"),
        Some(s) if active && s != wanted.data_source => Some("differed from the declaration"),
        None if active => Some("was missing"),
        _ => None,
    };
    if let Some(reason) = reason {
        sql.insert("DataSource".into(), json!(wanted.data_source));
        changes.push(Change { setting: "SqlSettings.DataSource".into(), reason, now: json!(wanted.data_source) });
    }
    for (key, declared) in &wanted.lists {
        let Some(list) = sql.get(*key).and_then(Value::as_array) else { continue };
        let carrying = list.iter().filter(|e| entry_dsn(e).is_some_and(crate::semantic::dsn::postgres_password)).count();
        if carrying > 0 {
            sql.insert((*key).to_string(), declared.clone());
            changes.push(Change {
                setting: format!("SqlSettings.{key}"),
                reason: if carrying == 1 { "had 1 entry carrying a password" } else { "had entries carrying a password" },
                now: declared.clone(),
            });
        }
    }
    changes
}

/// The DSN of a replica list entry: a string, or `ReplicaLagSettings`' `DataSource`.
fn entry_dsn(e: &Value) -> Option<&str> {
    e.as_str().or_else(|| e.get("DataSource").and_then(Value::as_str))
}

/// Settings paths whose string value still looks like a credential (a
/// password in a DSN or URL, a private key, …) after scrubbing.
fn credentials_in(v: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                credentials_in(x, path, out);
                path.pop();
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                path.push(format!("[{i}]"));
                credentials_in(x, path, out);
                path.pop();
            }
        }
        Value::String(s) if Secrets::get().looks_like_credential(s) => out.push(dotted(path)),
        _ => {}
    }
}

/// Secret settings (as the pinned server's sanitiser and the catalog judge
/// them) that hold a value other than the release default in the stored
/// configuration (such as the at-rest key the server generated). Names only.
fn stored_secrets(v: &Value, defaults: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                stored_secrets(x, defaults, path, out);
                path.pop();
            }
        }
        Value::String(s) if !s.is_empty() && !path.is_empty() => {
            let secret = Secrets::get().is_secret_setting(path, &|_, _| false) && !Secrets::get().is_data_source_setting(path);
            if secret && catalog::lookup(defaults, &dotted(path)).as_str() != Some(s) && !out.contains(&dotted(path)) {
                out.push(dotted(path));
            }
        }
        _ => {}
    }
}

fn dotted(path: &[String]) -> String {
    let mut s = String::new();
    for k in path {
        if !k.starts_with('[') && !s.is_empty() {
            s.push('.');
        }
        s.push_str(k);
    }
    s
}

/// As the server writes a configuration (Go's MarshalIndent, four spaces).
fn pretty(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(v, &mut ser);
    String::from_utf8(buf).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The error and its causes, one line.
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Never echo the password, in any spelling a message could carry it.
fn mask(text: &str, password: &str) -> String {
    let mut t = text.replace(password, "<redacted>");
    let encoded = crate::effective::encode(password);
    if encoded != password {
        t = t.replace(&encoded, "<redacted>");
    }
    t
}

struct Report<'a> {
    target: &'a str,
    mode: &'a str,
    apply: bool,
    rows: &'a [Row],
    secrets: &'a [String],
    credentials: &'a [String],
}

impl Report<'_> {
    fn text(&self) -> String {
        let mut out = format!(
            "restore-config: {} (sslmode {}), {} stored configuration row(s)\n",
            self.target,
            self.mode,
            self.rows.len()
        );
        let mut pending = 0;
        for r in self.rows {
            for c in &r.changes {
                pending += 1;
                let which = if r.active { format!("active row {}", r.id) } else { format!("earlier row {}", r.id) };
                let now = match &c.now {
                    Value::String(s) => s.clone(),
                    Value::Array(xs) => format!("the declaration's list ({} entries)", xs.len()),
                    other => other.to_string(),
                };
                out.push_str(&format!("  {which}: {} {} -> {now}\n", c.setting, c.reason));
            }
        }
        if pending == 0 {
            out.push_str("  no stored DSN carries a password and the active DataSource is the declaration's: nothing to change\n");
        }
        if !self.credentials.is_empty() {
            out.push_str(&format!("  still looks like a credential (not changed, values not shown): {}\n", self.credentials.join(", ")));
        }
        if !self.secrets.is_empty() {
            out.push_str(&format!(
                "  secret settings with a stored value in the active row (not changed, values not shown; the server uses them unless its environment supplies them, docs/restore.md): {}\n",
                self.secrets.join(", ")
            ));
        }
        if pending > 0 {
            out.push_str(&if self.apply {
                format!("wrote {} row(s); start the server with MM_SQLSETTINGS_DATASOURCE (launch, or the chart's Secret) carrying the new password\n", self.rows.iter().filter(|r| r.new_value.is_some()).count())
            } else {
                "dry run: nothing written; run again with --apply to write these changes\n".to_string()
            });
        }
        out
    }

    fn json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "active": r.active,
                    "changes": r.changes.iter().map(|c| json!({"setting": c.setting, "reason": c.reason, "now": c.now})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let pending = self.rows.iter().any(|r| r.new_value.is_some());
        serde_json::to_string_pretty(&json!({
            "database": self.target,
            "sslMode": self.mode,
            "applied": self.apply && pending,
            "rows": rows,
            "credentialsRemaining": self.credentials,
            "secretSettingsStored": self.secrets,
        }))
        .unwrap_or_default()
            + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Wanted {
        Wanted {
            data_source: "postgres://mm@db:5432/mm?sslmode=verify-full".into(),
            lists: LISTS.iter().map(|k| (*k, json!([]))).collect(),
        }
    }

    #[test]
    fn stored_passwords_are_replaced_and_nothing_else() {
        let mut cfg = json!({"SqlSettings": {
            "DataSource": "postgres://mm:s3cret@db:5432/mm?sslmode=verify-full",
            "DataSourceReplicas": ["postgres://r/mm?sslmode=verify-full&password=x"],
            "DataSourceSearchReplicas": ["postgres://s/mm?sslmode=verify-full"],
            "ReplicaLagSettings": [{"DataSource": "postgres://u:pw@lag/mm", "QueryAbsoluteLag": "select 1"}]
        }, "TeamSettings": {"SiteName": "x"}});
        let changes = scrub(&mut cfg, &wanted(), true);
        let names: Vec<&str> = changes.iter().map(|c| c.setting.as_str()).collect();
        assert_eq!(names, ["SqlSettings.DataSource", "SqlSettings.DataSourceReplicas", "SqlSettings.ReplicaLagSettings"]);
        assert_eq!(cfg["SqlSettings"]["DataSource"], "postgres://mm@db:5432/mm?sslmode=verify-full");
        assert_eq!(cfg["SqlSettings"]["DataSourceSearchReplicas"], json!(["postgres://s/mm?sslmode=verify-full"]));
        assert_eq!(cfg["TeamSettings"]["SiteName"], "x");
        let mut creds = Vec::new();
        credentials_in(&cfg, &mut Vec::new(), &mut creds);
        assert!(creds.is_empty(), "{creds:?}");
        assert!(!pretty(&cfg).contains("s3cret"));
    }

    #[test]
    fn earlier_rows_keep_a_password_free_dsn() {
        let mut cfg = json!({"SqlSettings": {"DataSource": "postgres://other@db/mm?sslmode=verify-full"}});
        assert!(scrub(&mut cfg, &wanted(), false).is_empty());
        assert_eq!(scrub(&mut cfg, &wanted(), true)[0].reason, "differed from the declaration");
    }

    #[test]
    fn the_password_is_masked_in_any_spelling() {
        assert_eq!(mask("a p@ss b p%40ss", "p@ss"), "a <redacted> b <redacted>");
    }
}
