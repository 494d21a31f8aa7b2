//! `secure-mattermost backup` and `secure-mattermost restore`: encrypted
//! backups of a bare-metal deployment (the database and the file store),
//! with retention, and their restore into a fresh database and file store.
//!
//! `backup` streams `pg_dump --format=custom` (over the declaration's DSN,
//! TLS as `database.sslMode` says) and a tar of `fileStorage.directory`
//! each through `age -r baremetal.backups.ageRecipient` into a new set
//! `baremetal.backups.directory/<UTC timestamp>/`: the plaintext flows only
//! through pipes between the programs, never into a file, and this process
//! sees nothing but ciphertext. Each file is written under a temporary name
//! in a hidden directory, fsynced, renamed; the set directory is renamed
//! into place last, so a set is whole or absent. `manifest.json` records
//! the sha256 of every ciphertext and the names (never the values) of the
//! secret settings a restore needs from the site's secret store. Then sets
//! older than `retentionDays` are deleted.
//!
//! `restore` checks the set before it touches anything: the checksums, the
//! secret settings the manifest names (declared, readable), a database
//! that holds no relations, an absent or empty file store, and one
//! decryption pass of every file with the identity (so a wrong identity or
//! altered ciphertext stops it before anything is written). Then it
//! extracts the file store into a hidden directory beside its place,
//! `pg_restore`s the dump in a single transaction as `database.user` (with
//! `--password-file`, the new password), renames the file store into place
//! and runs `restore-config --apply` (src/commands/restore.rs), so the
//! configuration stored in the database, if any, keeps no stale password.
//!
//! The database password reaches `pg_dump`, `pg_restore` and `psql` in
//! their environment (`PGPASSWORD`, that child only), never in argv; on
//! Linux a process's environment is readable by its own user and root only.
//!
//! Exit codes: 0 done; 2 bad input or an unreachable target (not bare
//! metal, no recipient, a set that fails its checks, a wrong identity, the
//! database refusing the connection or not empty, a file store not empty);
//! 3 I/O (a file, directory or program that cannot be read, written or
//! found). Nothing printed holds the password.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::thread::JoinHandle;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::cli::Format;
use crate::dates::Date;
use crate::document::{self, Deployment, Mode, SslMode, StorageDriver};
use crate::error::{exit, Error};
use crate::output;

/// The manifest's format; `restore` reads only this one.
pub const FORMAT: &str = "secure-mattermost-backup/1";
pub const MANIFEST: &str = "manifest.json";
pub const DATABASE_FILE: &str = "database.pgdump.age";
pub const FILES_FILE: &str = "filestore.tar.age";
/// Secret settings that the data itself depends on: without the same values
/// back, what the server encrypted or signed with them is lost.
pub const DATA_KEYS: [&str; 2] = ["SqlSettings.AtRestEncryptKey", "FileSettings.PublicLinkSalt"];
const PARTIAL: &str = ".partial-";
const LOCK: &str = ".lock";

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Evaluated declaration (JSON, as installed beside the units): where the database, the file store, the recipient and the backup directory are.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Evaluated declaration (JSON) of the deployment restored into: its database.* options say where to restore and as which role.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// One backup set: the directory holding manifest.json (baremetal.backups.directory/<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The age identity (private key) file of the backups' recipient, kept off the host.
    #[arg(long, value_name = "FILE")]
    pub identity: PathBuf,
    /// File holding the restored role's (new) password; default database.passwordFile. Never given on the command line.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// Why a backup or a restore could not be done (exit 2); I/O is `Error::Io`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BackupError {
    #[error("{what} is for bare-metal deployments; this declaration has mode = \"kubernetes\"")]
    #[diagnostic(code(sm::backup::mode), help("on Kubernetes the database is backed up by postgres-operator (WAL-G) and the file store by file-backup.yaml (docs/kubernetes.md)"))]
    NotBaremetal { what: &'static str },

    #[error("option `services.secureMattermost.baremetal.backups.ageRecipient` is not set: there is no key to encrypt the backup to")]
    #[diagnostic(
        code(sm::backup::no_recipient),
        help("generate a key pair on the restore side (`age-keygen -o backup-identity.txt`, kept off this host) and set ageRecipient to its public key (age1…); nothing was written")
    )]
    NoRecipient,

    #[error("option `services.secureMattermost.{option}` {detail}")]
    #[diagnostic(code(sm::backup::layout))]
    Layout { option: &'static str, detail: String },

    #[error("{program} failed ({status}): {detail}")]
    #[diagnostic(code(sm::backup::tool), help("{help}"))]
    Tool { program: String, status: String, detail: String, help: String },

    #[error("another backup holds {lock}")]
    #[diagnostic(code(sm::backup::locked), help("wait for it to finish; nothing was written"))]
    Locked { lock: String },

    #[error("{set}: {detail}")]
    #[diagnostic(code(sm::restore::set), help("{help}"))]
    BadSet { set: String, detail: String, help: String },

    #[error("{file}: the password file is empty")]
    #[diagnostic(code(sm::backup::empty_password), help("write the role's password into the file (a trailing newline is ignored)"))]
    EmptyPassword { file: String },

    #[error("the backup was made with secret settings this declaration does not supply from a file: {names}")]
    #[diagnostic(
        code(sm::restore::secret_setting),
        help("put each value back from the site's secret store and declare it (secretSettings.\"NAME\".file; docs/baremetal.md, Backups and restore); nothing was restored")
    )]
    SecretSettingMissing { names: String },

    #[error("{target}: {detail}")]
    #[diagnostic(code(sm::restore::target), help("{help}"))]
    Target { target: String, detail: String, help: String },
}

impl From<BackupError> for Error {
    fn from(e: BackupError) -> Error {
        Error::Eval(Box::new(e))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    /// UTC, RFC 3339.
    pub created: String,
    pub helper_version: String,
    pub domain: String,
    /// The age recipient the files are encrypted to (a public key).
    pub recipient: String,
    pub database: DatabasePart,
    pub file_storage: FileStoragePart,
    pub files: Vec<FileEntry>,
    pub restore_needs: RestoreNeeds,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabasePart {
    /// `user@host:port/name`: what was dumped, nothing secret.
    pub source: String,
    pub file: String,
    /// `pg_dump --version` of the dumping program.
    pub dumped_with: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileStoragePart {
    pub driver: String,
    /// The tar's file, when the file store is a directory (local, nfs).
    pub file: Option<String>,
    pub directory: Option<String>,
    /// What is (not) in the set, for people.
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Names only: what a restore needs besides the set, from the secret store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreNeeds {
    /// `secretSettings` the deployment supplies from files (restore refuses without them).
    pub secret_settings: Vec<String>,
    /// Of `DATA_KEYS`, those the deployment did not supply: the server made
    /// up its own, which no backup holds.
    pub data_keys_not_declared: Vec<String>,
    /// The other secret file options the server reads (the database
    /// password may be a new one).
    pub secret_files: Vec<String>,
}

// ---- backup ------------------------------------------------------------------

pub fn backup(args: BackupArgs, format: Format) -> Result<i32, Error> {
    no_sarif(format, "backup")?;
    let (d, config) = declaration(&args.input)?;
    if d.mode != Mode::Baremetal {
        return Err(BackupError::NotBaremetal { what: "backup" }.into());
    }
    let b = &d.baremetal.backups;
    let recipient = b.age_recipient.clone().ok_or(BackupError::NoRecipient)?;
    crate::validate::check("baremetal.backups.ageRecipient", &recipient, &crate::validate::AGE_RECIPIENT)?;
    let dir = PathBuf::from(&b.directory);
    let store = file_store_dir(&d);
    check_layout(&dir, store.as_deref())?;
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(Error::Io { path: b.directory.clone(), detail: "baremetal.backups.directory is not a directory".into() }),
        Err(e) => {
            return Err(Error::Io {
                path: b.directory.clone(),
                detail: format!("baremetal.backups.directory: {e} (the install step creates it: owner {}, mode 0700)", crate::render::baremetal::backup_units::USER),
            })
        }
    }
    if let Some(s) = &store {
        std::fs::read_dir(s).map_err(|e| Error::Io { path: s.display().to_string(), detail: format!("fileStorage.directory cannot be read: {e}") })?;
    }
    let tools = Tools::find(&["pg_dump", "age", "tar"])?;
    let password = database_password(&d, &config, None)?;
    if !matches!(d.database.ssl_mode, SslMode::VerifyFull | SslMode::VerifyCa) {
        output::stderr(&format!("warning: database.sslMode is {}: the dump travels without a verified server certificate", d.database.ssl_mode.as_str()));
    }

    let lock_path = dir.join(LOCK);
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    if lock.try_lock().is_err() {
        return Err(BackupError::Locked { lock: lock_path.display().to_string() }.into());
    }

    let now = now_secs();
    let stamp = stamp(now);
    let final_dir = dir.join(&stamp);
    if final_dir.exists() {
        return Err(BackupError::Layout { option: "baremetal.backups.directory", detail: format!("already holds a set named {stamp}: run again in a second") }.into());
    }
    let partial = dir.join(format!("{PARTIAL}{stamp}"));
    let _ = std::fs::remove_dir_all(&partial);
    create_private_dir(&partial)?;
    let guard = RemoveOnDrop(Some(partial.clone()));

    let mut warnings = Vec::new();
    let dsn = format!("{}&application_name=secure-mattermost-backup", crate::effective::data_source(&d, None));
    let mut dump = Command::new(tools.get("pg_dump"));
    dump.args(["--format=custom", "--no-password", "--dbname"]).arg(&dsn).env("PGPASSWORD", &password);
    let db_file = encrypt(dump, &tools, &recipient, &partial, DATABASE_FILE, &password, &mut warnings, |_| false, "check database.* in the declaration, that the credential holds the role's current password, and that the server's certificate verifies against database.caFile")?;
    let mut files = vec![db_file];

    let file_part = match &store {
        Some(s) => {
            let mut tar = Command::new(tools.get("tar"));
            tar.args(["--create", "--file=-", "--format=posix", "--numeric-owner", "--directory"]).arg(s).arg(".");
            // GNU tar's 1: a file changed while it was read (the server is live); the rest is whole.
            let f = encrypt(tar, &tools, &recipient, &partial, FILES_FILE, &password, &mut warnings, |code| code == 1, "check that the service can read fileStorage.directory (CAP_DAC_READ_SEARCH in mattermost-backup.service)")?;
            files.push(f);
            FileStoragePart {
                driver: d.file_storage.driver.as_str().into(),
                file: Some(FILES_FILE.into()),
                directory: Some(s.display().to_string()),
                note: "tar of fileStorage.directory, taken after the database dump".into(),
            }
        }
        None => FileStoragePart {
            driver: d.file_storage.driver.as_str().into(),
            file: None,
            directory: None,
            note: format!(
                "not in this set: the files are objects in bucket {} of the object store, whose own versioning or replication backs them up",
                d.file_storage.s3.bucket
            ),
        },
    };

    let manifest = Manifest {
        format: FORMAT.into(),
        created: rfc3339(now),
        helper_version: env!("CARGO_PKG_VERSION").into(),
        domain: d.domain.clone(),
        recipient: recipient.clone(),
        database: DatabasePart { source: target_name(&d), file: DATABASE_FILE.into(), dumped_with: tools.version("pg_dump") },
        file_storage: file_part,
        files: files.clone(),
        restore_needs: restore_needs(&d, &config),
        warnings: warnings.clone(),
    };
    for k in &manifest.restore_needs.data_keys_not_declared {
        output::stderr(&format!(
            "warning: {k} is not supplied through secretSettings: the server made up its own value, which no backup holds; data that depends on it may not survive a restore (docs/baremetal.md)"
        ));
    }
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    write_file_atomically(&partial, MANIFEST, text.as_bytes())?;
    sync_dir(&partial)?;
    std::fs::rename(&partial, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
    std::mem::forget(guard);
    sync_dir(&dir)?;

    let deleted = retention(&dir, now, b.retention_days, &stamp)?;
    let report = match format {
        Format::Json => serde_json::to_string_pretty(&json!({
            "set": final_dir.display().to_string(),
            "manifest": manifest,
            "retentionDays": b.retention_days,
            "deleted": deleted,
        }))
        .unwrap_or_default()
            + "\n",
        _ => backup_text(&final_dir, &manifest, b.retention_days, &deleted),
    };
    output::stdout(&report)?;
    drop(lock);
    Ok(exit::OK)
}

fn backup_text(set: &Path, m: &Manifest, days: u32, deleted: &[String]) -> String {
    let mut out = format!("backup: wrote {} (encrypted to {})\n", set.display(), m.recipient);
    for f in &m.files {
        let what = if f.name == DATABASE_FILE { format!("pg_dump --format=custom of {}", m.database.source) } else { format!("tar of {}", m.file_storage.directory.as_deref().unwrap_or("")) };
        out.push_str(&format!("  {:<22} {:>12} bytes  sha256 {}  ({what})\n", f.name, f.bytes, f.sha256));
    }
    out.push_str(&format!("  {MANIFEST}\n"));
    if m.file_storage.file.is_none() {
        out.push_str(&format!("  file store: {}\n", m.file_storage.note));
    }
    for w in &m.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out.push_str(&match deleted.len() {
        0 => format!("retention ({days} days): nothing to delete\n"),
        _ => format!("retention ({days} days): deleted {}\n", deleted.join(", ")),
    });
    let n = &m.restore_needs;
    out.push_str(&format!(
        "a restore also needs, from the site's secret store (names only): secret settings [{}]; secret files [{}]; the age identity of the recipient\n",
        n.secret_settings.join(", "),
        n.secret_files.join(", ")
    ));
    out
}

/// What a restore of this deployment needs besides the set: names only.
fn restore_needs(d: &Deployment, config: &Value) -> RestoreNeeds {
    let declared: Vec<String> = d.secret_settings.iter().filter(|(_, s)| s.file.is_some()).map(|(k, _)| k.clone()).collect();
    let not_declared = DATA_KEYS.iter().filter(|k| !declared.iter().any(|x| x == *k)).map(|k| k.to_string()).collect();
    let decl = serde_json::to_value(d).unwrap_or(Value::Null);
    let options = crate::validate::file_options(&decl);
    let mut secret_files: Vec<String> = crate::render::env::secret_spec(d, config)
        .secrets
        .iter()
        .filter_map(|s| options.iter().find(|(o, f)| *f == s.file && !o.starts_with("secretSettings.")).map(|(o, _)| o.clone()))
        .collect();
    secret_files.sort();
    secret_files.dedup();
    RestoreNeeds { secret_settings: declared, data_keys_not_declared: not_declared, secret_files }
}

/// Deletes the sets older than `days` (named by their UTC timestamp and
/// holding a manifest; nothing else in the directory is touched) and what
/// an interrupted run left behind (`.partial-*`; the lock is held). Never
/// the set just written.
fn retention(dir: &Path, now: u64, days: u32, keep: &str) -> Result<Vec<String>, Error> {
    let cutoff = now.saturating_sub(u64::from(days) * 86_400);
    let mut deleted = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut names: Vec<String> = entries.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if name == keep || !path.is_dir() || path.is_symlink() {
            continue;
        }
        let old = if name.starts_with(PARTIAL) {
            true
        } else {
            parse_stamp(&name).is_some_and(|t| t < cutoff) && path.join(MANIFEST).is_file()
        };
        if old {
            std::fs::remove_dir_all(&path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                detail: format!("retention could not delete it ({e}); the new set {keep} was written"),
            })?;
            if !name.starts_with(PARTIAL) {
                deleted.push(name);
            }
        }
    }
    if !deleted.is_empty() {
        sync_dir(dir)?;
    }
    Ok(deleted)
}

/// The backup directory must be a real place apart from the file store.
fn check_layout(dir: &Path, store: Option<&Path>) -> Result<(), Error> {
    if dir == Path::new("/") {
        return Err(BackupError::Layout { option: "baremetal.backups.directory", detail: "is / : give a directory of its own (a mount of the backup store)".into() }.into());
    }
    if let Some(s) = store {
        if dir.starts_with(s) || s.starts_with(dir) {
            return Err(BackupError::Layout {
                option: "baremetal.backups.directory",
                detail: "and fileStorage.directory contain one another: the backup would copy itself, or retention could reach the files".into(),
            }
            .into());
        }
    }
    Ok(())
}

/// `producer | age -r RECIPIENT > dir/name` (temporary name, fsync, rename).
/// Only ciphertext reaches this process. `tolerated` exit codes of the
/// producer are recorded as warnings (its stderr).
#[allow(clippy::too_many_arguments)]
fn encrypt(
    mut producer: Command,
    tools: &Tools,
    recipient: &str,
    dir: &Path,
    name: &str,
    password: &str,
    warnings: &mut Vec<String>,
    tolerated: fn(i32) -> bool,
    help: &str,
) -> Result<FileEntry, Error> {
    let program = program_name(&producer);
    let mut p = Procs::default();
    producer.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut prod = p.spawn(producer, &program)?;
    let prod_out = prod.stdout.take();
    let prod_err = drain(prod.stderr.take());
    p.push(prod);
    let mut age = Command::new(tools.get("age"));
    age.args(["--encrypt", "--recipient", recipient]).stdin(prod_out.map(Stdio::from).unwrap_or_else(Stdio::null)).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut age = p.spawn(age, "age")?;
    let mut age_out = age.stdout.take();
    let age_err = drain(age.stderr.take());
    p.push(age);

    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = create_private_file(&tmp)?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let mut write_error = None;
    if let Some(out) = age_out.as_mut() {
        loop {
            match out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    bytes += n as u64;
                    if let Err(e) = file.write_all(&buf[..n]) {
                        write_error = Some(e);
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    write_error = Some(e);
                    break;
                }
            }
        }
    }
    drop(age_out);
    if write_error.is_some() {
        p.kill();
    }
    let statuses = p.wait();
    let (prod_err, age_err) = (joined(prod_err, password), joined(age_err, password));
    if let Some(e) = write_error {
        return Err(Error::io(&tmp, e));
    }
    let prod_status = statuses[0];
    match prod_status {
        Some(0) => {}
        Some(c) if tolerated(c) => warnings.push(format!("{program} ({name}): {}", first_lines(&prod_err, 5))),
        other => {
            return Err(BackupError::Tool { program, status: status_text(other), detail: first_lines(&prod_err, 8), help: help.to_string() }.into());
        }
    }
    if statuses[1] != Some(0) {
        return Err(BackupError::Tool { program: "age".into(), status: status_text(statuses[1]), detail: first_lines(&age_err, 8), help: "check baremetal.backups.ageRecipient".into() }.into());
    }
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    let target = dir.join(name);
    std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
    Ok(FileEntry { name: name.into(), sha256: hex(&hasher.finalize()), bytes })
}

// ---- restore -----------------------------------------------------------------

pub fn restore(args: RestoreArgs, format: Format) -> Result<i32, Error> {
    no_sarif(format, "restore")?;
    if args.input == Path::new("-") {
        return Err(Error::Usage { detail: "restore reads the declaration more than once: give it as --input FILE".into() });
    }
    let (d, config) = declaration(&args.input)?;
    if d.mode != Mode::Baremetal {
        return Err(BackupError::NotBaremetal { what: "restore" }.into());
    }
    let set = args.from.clone();
    let set_name = set.display().to_string();
    let manifest = read_manifest(&set)?;

    // 1. The set: known files, intact ciphertexts.
    let bad = |detail: String, help: &str| -> Error { BackupError::BadSet { set: set_name.clone(), detail, help: help.into() }.into() };
    let mut expected = vec![DATABASE_FILE];
    if manifest.file_storage.file.is_some() {
        expected.push(FILES_FILE);
    }
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    if listed != expected || manifest.database.file != DATABASE_FILE || manifest.file_storage.file.as_deref().is_some_and(|f| f != FILES_FILE) {
        return Err(bad(format!("the manifest lists {listed:?}, not the files a backup writes ({expected:?})"), "this is not a set written by `secure-mattermost backup`"));
    }
    for f in &manifest.files {
        let path = set.join(&f.name);
        let (sha, bytes) = sha256_file(&path)?;
        if sha != f.sha256 || bytes != f.bytes {
            return Err(bad(
                format!("{} does not match its checksum in {MANIFEST} (sha256 {sha}, {bytes} bytes; recorded {}, {} bytes)", f.name, f.sha256, f.bytes),
                "the file was altered or damaged since the backup: take another set; nothing was restored",
            ));
        }
    }
    // 2. What the restored server needs besides the set.
    let undeclared: Vec<&str> = manifest.restore_needs.secret_settings.iter().filter(|n| d.secret_settings.get(*n).is_none_or(|s| s.file.is_none())).map(String::as_str).collect();
    if !undeclared.is_empty() {
        return Err(BackupError::SecretSettingMissing { names: undeclared.join(", ") }.into());
    }
    for name in &manifest.restore_needs.secret_settings {
        let Some(file) = d.secret_settings.get(name).and_then(|s| s.file.clone()) else { continue };
        let text = std::fs::read(&file).map_err(|e| Error::Io { path: file.clone(), detail: format!("secretSettings.\"{name}\".file: {e}") })?;
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Io { path: file, detail: format!("secretSettings.\"{name}\".file is empty") });
        }
    }
    std::fs::File::open(&args.identity).map_err(|e| Error::io(&args.identity, e))?;
    let tools = Tools::find(&["psql", "pg_restore", "age", "tar"])?;
    let password = database_password(&d, &config, args.password_file.as_deref())?;
    let store = file_store_dir(&d);
    let restore_files = match (&manifest.file_storage.file, &store) {
        (Some(_), Some(s)) => Some(s.clone()),
        (Some(_), None) => {
            return Err(bad(
                "the set holds a file store, but this declaration's fileStorage.driver is s3".into(),
                "restore into a deployment with the local or nfs driver, or copy the files into the bucket yourself",
            ))
        }
        (None, _) => None,
    };

    // 3. The targets: a database without relations, an absent or empty file store.
    let dsn = format!("{}&application_name=secure-mattermost-restore", crate::effective::data_source(&d, None));
    let target = target_name(&d);
    let relations = psql(&tools, &dsn, &password, &target, "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')")?;
    if relations.trim() != "0" {
        return Err(BackupError::Target {
            target,
            detail: format!("the database is not empty ({} relations)", relations.trim()),
            help: "restore into a fresh database owned by database.user (docs/baremetal.md); nothing was restored".into(),
        }
        .into());
    }
    if let Some(s) = &restore_files {
        match std::fs::read_dir(s) {
            Ok(mut it) => {
                if it.next().is_some() {
                    return Err(BackupError::Target {
                        target: s.display().to_string(),
                        detail: "fileStorage.directory is not empty".into(),
                        help: "restore into an absent or empty directory (move the old one aside); nothing was restored".into(),
                    }
                    .into());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(s, e)),
        }
    }

    // 4. One decryption pass of everything, before anything is written.
    let db_path = set.join(DATABASE_FILE);
    let magic = decrypt_probe(&tools, &args.identity, &db_path)?;
    if !magic.starts_with(b"PGDMP") {
        return Err(bad(format!("{DATABASE_FILE} decrypts to something other than a pg_dump custom-format archive"), "this is not a set written by `secure-mattermost backup`; nothing was restored"));
    }
    let files_path = set.join(FILES_FILE);
    let mut members = 0usize;
    if restore_files.is_some() {
        // Only regular files and directories: no links, devices or fifos.
        let mut odd: Option<String> = None;
        let mut check = |line: &str| {
            members += 1;
            if odd.is_none() && !matches!(line.chars().next(), Some('-') | Some('d')) {
                odd = Some(line.chars().take(200).collect());
            }
        };
        decrypt_into(&tools, &args.identity, &files_path, list_tar(&tools), &password, Some(&mut check))?;
        if let Some(line) = odd {
            return Err(bad(
                format!("{FILES_FILE} holds a member that is neither a regular file nor a directory: {line}"),
                "a backup of a Mattermost file store holds only files and directories; nothing was restored",
            ));
        }
    }
    output::stderr(&format!("restore: {set_name}: checksums, secret settings, identity and both archives verified; restoring into {target}"));

    // 5. The file store into a hidden directory beside its place.
    let staged = match &restore_files {
        Some(s) => {
            let parent = s.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("/")).to_path_buf();
            std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
            let tmp = tempfile::Builder::new().prefix(".secure-mattermost-restore-").tempdir_in(&parent).map_err(|e| Error::io(&parent, e))?;
            let mut tar = Command::new(tools.get("tar"));
            tar.args(["--extract", "--file=-", "--numeric-owner", "--delay-directory-restore", "--directory"]).arg(tmp.path());
            decrypt_into(&tools, &args.identity, &files_path, tar, &password, None)?;
            Some(tmp)
        }
        None => None,
    };

    // 6. The database, all or nothing.
    let mut pg = Command::new(tools.get("pg_restore"));
    pg.args(["--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "--no-password", "--dbname"]).arg(&dsn).env("PGPASSWORD", &password);
    decrypt_into(&tools, &args.identity, &db_path, pg, &password, None)?;

    // 7. The file store into place.
    if let (Some(tmp), Some(s)) = (staged, &restore_files) {
        if s.exists() {
            std::fs::remove_dir(s).map_err(|e| Error::Io { path: s.display().to_string(), detail: format!("{e} (the database was restored; the files are in {})", tmp.path().display()) })?;
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, s).map_err(|e| Error::Io { path: s.display().to_string(), detail: format!("{e} (the database was restored; the files are in {})", kept.display()) })?;
        if let Some(parent) = s.parent() {
            sync_dir(parent)?;
        }
    }
    output::stderr(&format!(
        "restore: database restored as {} from {DATABASE_FILE}{}",
        d.database.user,
        restore_files.as_ref().map(|s| format!("; {members} file-store entries restored into {}", s.display())).unwrap_or_default()
    ));

    // 8. The configuration stored in the database, if the server keeps one there.
    let pw_file = match &args.password_file {
        Some(p) => p.clone(),
        None => credential_or_file(&d, &config).unwrap_or_else(|| PathBuf::from(&d.database.password_file)),
    };
    let rc = crate::commands::restore::RestoreArgs { input: args.input.clone(), password_file: pw_file, apply: true, connect_to: None, ca_file: None };
    match crate::commands::restore::run(rc, format) {
        Ok(_) => {}
        Err(Error::Eval(e)) if e.code().is_some_and(|c| c.to_string() == "sm::restore::no_config_store") => {
            output::stdout(&match format {
                Format::Json => "{\n  \"configurationStore\": false\n}\n".to_string(),
                _ => format!("restore-config: {target} keeps no configuration (the server reads config.json): nothing to scrub\n"),
            })?;
        }
        Err(e) => {
            output::stderr("restore: the database and the file store were restored, but restore-config failed (run it again once the cause below is fixed):");
            return Err(e);
        }
    }
    output::stderr(&format!(
        "restore: done. Start the server with the secret settings [{}] back in place; check /api/v4/system/ping",
        manifest.restore_needs.secret_settings.join(", ")
    ));
    Ok(exit::OK)
}

fn read_manifest(set: &Path) -> Result<Manifest, Error> {
    let path = set.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && set.is_dir() => {
            let mut sets: Vec<String> = std::fs::read_dir(set).into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).filter(|n| parse_stamp(n).is_some()).collect();
            sets.sort();
            let help = match sets.last() {
                Some(newest) => format!("give one set, e.g. --from {}", set.join(newest).display()),
                None => "give the directory of one backup set (baremetal.backups.directory/<timestamp>)".into(),
            };
            return Err(BackupError::BadSet { set: set.display().to_string(), detail: format!("no {MANIFEST}: not a backup set"), help }.into());
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let m: Manifest = serde_json::from_str(&text).map_err(|e| BackupError::BadSet {
        set: set.display().to_string(),
        detail: format!("{MANIFEST} is not a backup manifest: {e}"),
        help: "this is not a set written by `secure-mattermost backup`".into(),
    })?;
    if m.format != FORMAT {
        return Err(BackupError::BadSet { set: set.display().to_string(), detail: format!("manifest format {:?}; this helper reads {FORMAT:?}", m.format), help: "restore it with the helper version that wrote it".into() }.into());
    }
    Ok(m)
}

/// Decrypts `file` and keeps the first bytes (reading the rest to the end,
/// so every chunk's authentication is checked). Nothing is written.
fn decrypt_probe(tools: &Tools, identity: &Path, file: &Path) -> Result<Vec<u8>, Error> {
    let mut p = Procs::default();
    let mut age = Command::new(tools.get("age"));
    age.args(["--decrypt", "--identity"]).arg(identity).arg(file).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = p.spawn(age, "age")?;
    let out = child.stdout.take();
    let err = drain(child.stderr.take());
    p.push(child);
    let mut head = Vec::new();
    if let Some(mut out) = out {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if head.len() < 16 {
                        head.extend_from_slice(&buf[..n.min(16 - head.len())]);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    let status = p.wait()[0];
    let err = joined(err, "");
    if status != Some(0) {
        return Err(age_failure(file, status, &err));
    }
    Ok(head)
}

/// `age -d -i IDENTITY FILE | consumer`; each line of the consumer's
/// stdout goes to `on_line` (else it is discarded).
fn decrypt_into(tools: &Tools, identity: &Path, file: &Path, mut consumer: Command, password: &str, mut on_line: Option<&mut dyn FnMut(&str)>) -> Result<(), Error> {
    let program = program_name(&consumer);
    let mut p = Procs::default();
    let mut age = Command::new(tools.get("age"));
    age.args(["--decrypt", "--identity"]).arg(identity).arg(file).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut a = p.spawn(age, "age")?;
    let a_out = a.stdout.take();
    let a_err = drain(a.stderr.take());
    p.push(a);
    consumer.stdin(a_out.map(Stdio::from).unwrap_or_else(Stdio::null)).stdout(if on_line.is_some() { Stdio::piped() } else { Stdio::null() }).stderr(Stdio::piped());
    let mut c = p.spawn(consumer, &program)?;
    let c_out = c.stdout.take();
    let c_err = drain(c.stderr.take());
    p.push(c);
    if let (Some(mut out), Some(f)) = (c_out, on_line.as_mut()) {
        let mut reader = std::io::BufReader::new(&mut out);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).map(|n| n > 0).unwrap_or(false) {
            f(String::from_utf8_lossy(&line).trim_end_matches('\n'));
            line.clear();
        }
    }
    let statuses = p.wait();
    let (a_err, c_err) = (joined(a_err, password), joined(c_err, password));
    // age killed by SIGPIPE: the consumer stopped reading, and its error is the cause.
    let age_broken_pipe = statuses[0].is_none() && statuses[1] != Some(0);
    if statuses[0] != Some(0) && !age_broken_pipe {
        return Err(age_failure(file, statuses[0], &a_err));
    }
    if statuses[1] != Some(0) {
        return Err(BackupError::Tool {
            program,
            status: status_text(statuses[1]),
            detail: first_lines(&c_err, 8),
            help: "nothing of it was kept: pg_restore runs in one transaction, and the file store is restored into place only after the database".into(),
        }
        .into());
    }
    Ok(())
}

fn list_tar(tools: &Tools) -> Command {
    let mut tar = Command::new(tools.get("tar"));
    tar.args(["--list", "--verbose", "--numeric-owner", "--quoting-style=escape", "--file=-"]);
    tar
}

fn age_failure(file: &Path, status: Option<i32>, stderr: &str) -> Error {
    let detail = first_lines(stderr, 6);
    let help = if detail.contains("no identity matched") {
        "the identity is not the private key of the set's recipient (see recipient in manifest.json); nothing was restored"
    } else {
        "the ciphertext does not decrypt with this identity: altered, truncated or not an age file; nothing was restored"
    };
    BackupError::BadSet { set: file.display().to_string(), detail: format!("age could not decrypt it ({}): {detail}", status_text(status)), help: help.into() }.into()
}

/// `psql -c SQL` against the declaration's database; its output.
fn psql(tools: &Tools, dsn: &str, password: &str, target: &str, sql: &str) -> Result<String, Error> {
    let out = Command::new(tools.get("psql"))
        .args(["--no-psqlrc", "--no-password", "--quiet", "--no-align", "--tuples-only", "--set=ON_ERROR_STOP=1", "--dbname"])
        .arg(dsn)
        .arg("--command")
        .arg(sql)
        .env("PGPASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Io { path: tools.get("psql").display().to_string(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(BackupError::Target {
            target: target.to_string(),
            detail: first_lines(&mask(&String::from_utf8_lossy(&out.stderr), password), 6),
            help: "check database.* in the declaration, that the password file holds the restored role's password, and that the server's certificate verifies against database.caFile; nothing was restored".into(),
        }
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---- shared --------------------------------------------------------------------

fn no_sarif(format: Format, command: &str) -> Result<(), Error> {
    if format == Format::Sarif {
        return Err(Error::Usage { detail: format!("`{command}` reports no rule findings; --format sarif is for check and render") });
    }
    Ok(())
}

/// The declaration, validated as `check` validates it (no policy: a backup
/// runs whatever a waiver says).
fn declaration(path: &Path) -> Result<(Deployment, Value), Error> {
    let (text, name) = crate::cli::read_input(path)?;
    let (doc, _) = document::parse(&text, &name)?;
    let d = doc.secure_mattermost;
    if !d.enable {
        return Err(Error::Usage { detail: "services.secureMattermost.enable is false: there is no deployment to back up or restore".into() });
    }
    let eff = crate::effective::build(&d, Catalog::load())?;
    Ok((d, eff.config))
}

/// The file store's directory when it is one (local, nfs); S3 has none.
fn file_store_dir(d: &Deployment) -> Option<PathBuf> {
    (d.file_storage.driver != StorageDriver::S3).then(|| PathBuf::from(&d.file_storage.directory))
}

fn target_name(d: &Deployment) -> String {
    let db = &d.database;
    format!("{}@{}:{}/{}", db.user, db.host, db.port, db.name)
}

/// The password's file: the systemd credential when the service has it
/// (`$CREDENTIALS_DIRECTORY`), else `database.passwordFile`.
fn credential_or_file(d: &Deployment, config: &Value) -> Option<PathBuf> {
    let (name, _) = crate::render::baremetal::backup_units::password_credential(d, config)?;
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
    Some(PathBuf::from(dir).join(name)).filter(|p| p.exists())
}

fn database_password(d: &Deployment, config: &Value, explicit: Option<&Path>) -> Result<String, Error> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => credential_or_file(d, config).unwrap_or_else(|| PathBuf::from(&d.database.password_file)),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let pw = text.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(BackupError::EmptyPassword { file: path.display().to_string() }.into());
    }
    Ok(pw)
}

/// Programs by name: PostgreSQL's from the newest Debian server directory
/// (`/usr/lib/postgresql/N/bin`, which bypasses the wrapper's cluster
/// guess), else from PATH.
struct Tools(BTreeMap<&'static str, PathBuf>);

impl Tools {
    fn find(names: &[&'static str]) -> Result<Tools, Error> {
        let mut found = BTreeMap::new();
        for name in names {
            let path = if name.starts_with("pg_") || *name == "psql" { debian_pg(name) } else { None }.or_else(|| on_path(name)).ok_or_else(|| Error::Io {
                path: name.to_string(),
                detail: match *name {
                    "age" => "not found on PATH (Debian package age)".to_string(),
                    "tar" => "not found on PATH (Debian package tar)".to_string(),
                    _ => "not found in /usr/lib/postgresql/*/bin or on PATH (Debian package postgresql-client)".to_string(),
                },
            })?;
            found.insert(*name, path);
        }
        Ok(Tools(found))
    }

    fn get(&self, name: &str) -> PathBuf {
        self.0.get(name).cloned().unwrap_or_else(|| PathBuf::from(name))
    }

    fn version(&self, name: &str) -> String {
        Command::new(self.get(name))
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }
}

fn debian_pg(name: &str) -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let p = e.path().join("bin").join(name);
            p.is_file().then_some((major, p))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Children of one pipeline: killed and reaped if this is dropped early.
#[derive(Default)]
struct Procs(Vec<Child>);

impl Procs {
    /// Starts `cmd` and drops it at once: a Command keeps the parent's copy
    /// of a pipe end it was given, which would keep the pipe open (a writer
    /// whose reader died would block instead of failing).
    fn spawn(&mut self, mut cmd: Command, name: &str) -> Result<Child, Error> {
        let spawned = cmd.spawn();
        drop(cmd);
        spawned.map_err(|e| {
            self.kill();
            Error::Io { path: name.to_string(), detail: format!("cannot start it: {e}") }
        })
    }

    fn push(&mut self, c: Child) {
        self.0.push(c);
    }

    fn kill(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
    }

    /// Exit codes in order (None: killed by a signal or not waited for).
    fn wait(&mut self) -> Vec<Option<i32>> {
        let out = self.0.iter_mut().map(|c| c.wait().ok().and_then(|s| s.code())).collect();
        self.0.clear();
        out
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.kill();
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn drain(err: Option<ChildStderr>) -> Option<JoinHandle<String>> {
    err.map(|mut e| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = e.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    })
}

fn joined(h: Option<JoinHandle<String>>, password: &str) -> String {
    let text = h.and_then(|h| h.join().ok()).unwrap_or_default();
    mask(&text, password)
}

/// Never echo the password, in any spelling a message could carry it.
fn mask(text: &str, password: &str) -> String {
    if password.is_empty() {
        return text.to_string();
    }
    let mut t = text.replace(password, "<redacted>");
    let encoded = crate::effective::encode(password);
    if encoded != password {
        t = t.replace(&encoded, "<redacted>");
    }
    t
}

fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(n).collect();
    if lines.is_empty() {
        "(no message)".into()
    } else {
        lines.join(" | ")
    }
}

fn status_text(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit {c}"),
        None => "killed by a signal".into(),
    }
}

fn program_name(c: &Command) -> String {
    Path::new(c.get_program()).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> Result<(String, u64), Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex(&h.finalize()), bytes))
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> Result<std::fs::File, Error> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| Error::io(path, e))
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path).map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir(path).map_err(|e| Error::io(path, e))
}

fn write_file_atomically(dir: &Path, name: &str, data: &[u8]) -> Result<(), Error> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = create_private_file(&tmp)?;
    f.write_all(data).and_then(|()| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| Error::io(dir.join(name), e))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
}

/// Removes a half-written set when the backup stops early.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `20261123T023000Z`: a set's name (UTC, sorts by time).
pub fn stamp(secs: u64) -> String {
    let day = Date::from_days((secs / 86_400) as i64).to_string().replace('-', "");
    let s = secs % 86_400;
    format!("{day}T{:02}{:02}{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// The seconds since the epoch a set's name stands for.
pub fn parse_stamp(name: &str) -> Option<u64> {
    let b = name.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !b.iter().enumerate().all(|(i, c)| i == 8 || i == 15 || c.is_ascii_digit()) {
        return None;
    }
    let date = Date::parse(&format!("{}-{}-{}", &name[0..4], &name[4..6], &name[6..8]))?;
    let (h, m, s): (u64, u64, u64) = (name[9..11].parse().ok()?, name[11..13].parse().ok()?, name[13..15].parse().ok()?);
    if h > 23 || m > 59 || s > 59 || date.days() < 0 {
        return None;
    }
    Some(date.days() as u64 * 86_400 + h * 3600 + m * 60 + s)
}

fn rfc3339(secs: u64) -> String {
    let s = secs % 86_400;
    format!("{}T{:02}:{:02}:{:02}Z", Date::from_days((secs / 86_400) as i64), s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_round_trip_and_sort_by_time() {
        for secs in [0u64, 86_399, 1_795_000_000, 4_102_444_799] {
            assert_eq!(parse_stamp(&stamp(secs)), Some(secs), "{}", stamp(secs));
        }
        assert_eq!(stamp(1_795_000_000), "20261118T110640Z"); // date -u -d @1795000000
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert!(stamp(1_000) < stamp(100_000));
        for bad in ["20261119T091320", "2026111909T1320Z", "20261319T091320Z", "20261119T241320Z", "x0261119T091320Z", ".partial-20261119T091320Z"] {
            assert_eq!(parse_stamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_password_is_masked_in_any_spelling() {
        assert_eq!(mask("a p@ss b p%40ss", "p@ss"), "a <redacted> b <redacted>");
        assert_eq!(mask("nothing", ""), "nothing");
    }
}
