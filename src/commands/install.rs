//! `secure-mattermost install --from RENDER_DIR [--root DIR]`: puts every
//! file of a bare-metal render where the host runs it from, with its owner
//! and mode, as the table [`PLACES`] says. A file the table does not know is
//! an error before anything is written, so nothing is silently left behind.
//!
//! Each file is written to a temporary file beside its destination, given its
//! owner and mode, synced and renamed over the destination: a reader sees
//! the old file or the new one, never half. A destination (or a directory on
//! the way to it, below `--root`) that is a symbolic link is refused, before
//! anything is written. Running it again changes nothing and says so.
//! `--root` installs into a staging tree (an image, a chroot, a test): paths
//! are taken below it and owners are looked up in its `etc/passwd` and
//! `etc/group`.
//!
//! With backups on (`baremetal.backups.enable`), install also makes what
//! `mattermost-backup.service` runs as and writes to: the system account
//! [`backup_units::USER`] when the target lacks it (`useradd --system`,
//! below `--root` with `useradd --prefix`; no home, no login shell), and
//! `baremetal.backups.directory`, mode 0700, owned by that account (an
//! existing directory keeps its contents; its owner and mode are repaired).
//! The backup directory is checked with the files, before anything is
//! written; the account is created after every check.
//!
//! Exit codes: 0 installed (or already in place); 2 not a bare-metal render
//! directory, an unknown file, or a render for another install directory;
//! 3 a file or owner that cannot be read or written, or a symlinked target.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::cli::Format;
use crate::error::{exit, Error};
use crate::output;
use crate::render::baremetal::backup_units;
use crate::render::baremetal::systemd::exec_word;

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// A directory `render` wrote for mode = "baremetal".
    #[arg(long, value_name = "RENDER_DIR")]
    pub from: PathBuf,
    /// Install below this directory instead of / (a staging tree); owners come from its etc/passwd and etc/group.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

/// Where a file goes on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    /// `baremetal.installDir`, which the units refer to.
    Install,
    /// `<installDir>/evidence`: the compliance evidence of this build.
    Evidence,
    /// systemd's directory for the administrator's units.
    Units,
    /// Debian's nginx: sites-available, enabled by a link in sites-enabled.
    NginxSite,
    /// The PostgreSQL cluster's directory (Debian: /etc/postgresql/<version>/main),
    /// when the cluster is on this host; the files are skipped, saying so, where it is not.
    Postgresql,
    /// Its `conf.d`, which Debian's postgresql.conf includes last.
    PostgresqlConfD,
}

struct Place {
    /// A file name, or `*.suffix` for every file with that suffix.
    name: &'static str,
    dir: Dir,
    /// The name at the destination, when it differs.
    rename: Option<&'static str>,
    mode: u32,
    owner: &'static str,
    group: &'static str,
}

const fn place(name: &'static str, dir: Dir, mode: u32, owner: &'static str, group: &'static str) -> Place {
    Place { name, dir, rename: None, mode, owner, group }
}

/// Every file a bare-metal render writes. The server reads config.json and
/// the launch spec as `mattermost`; nobody else needs them.
const PLACES: &[Place] = &[
    place("config.json", Dir::Install, 0o640, "root", "mattermost"),
    place("secret-env.json", Dir::Install, 0o640, "root", "mattermost"),
    place("declaration.json", Dir::Install, 0o640, "root", "mattermost"),
    place("nftables.conf", Dir::Install, 0o644, "root", "root"),
    // Applied by the superuser with psql; it holds no password (psql reads the file).
    place("init.sql", Dir::Install, 0o644, "root", "root"),
    place("pg_hba.conf", Dir::Postgresql, 0o640, "root", "postgres"),
    place("postgresql-secure-mattermost.conf", Dir::PostgresqlConfD, 0o640, "root", "postgres"),
    place("*.service", Dir::Units, 0o644, "root", "root"),
    place("*.timer", Dir::Units, 0o644, "root", "root"),
    Place { name: "nginx.conf", dir: Dir::NginxSite, rename: Some("mattermost.conf"), mode: 0o644, owner: "root", group: "root" },
    place("outcomes.json", Dir::Evidence, 0o644, "root", "root"),
    place("assessment-results.oscal.json", Dir::Evidence, 0o644, "root", "root"),
    place("component-definition.oscal.json", Dir::Evidence, 0o644, "root", "root"),
    place("system-security-plan.oscal.json", Dir::Evidence, 0o644, "root", "root"),
    place("poam.oscal.json", Dir::Evidence, 0o644, "root", "root"),
    place("report.md", Dir::Evidence, 0o644, "root", "root"),
    place("report.html", Dir::Evidence, 0o644, "root", "root"),
    place("sbom-secure-mattermost.cdx.json", Dir::Evidence, 0o644, "root", "root"),
    place("sbom-mattermost.cdx.json", Dir::Evidence, 0o644, "root", "root"),
    place("vulnerabilities.json", Dir::Evidence, 0o644, "root", "root"),
    place("evidence-manifest.sha256", Dir::Evidence, 0o644, "root", "root"),
    place("evidence-manifest.sha256.sig", Dir::Evidence, 0o644, "root", "root"),
];

const UNITS: &str = "/etc/systemd/system";
const NGINX_AVAILABLE: &str = "/etc/nginx/sites-available";
const NGINX_ENABLED: &str = "/etc/nginx/sites-enabled";

fn lookup(name: &str) -> Option<&'static Place> {
    PLACES.iter().find(|p| p.name == name).or_else(|| {
        PLACES.iter().find(|p| p.name.strip_prefix('*').is_some_and(|suffix| name.len() > suffix.len() && name.ends_with(suffix)))
    })
}

/// One file's step, planned before anything is written.
struct Step {
    name: String,
    /// Where on the host (as the host sees it, without --root).
    host_path: String,
    bytes: Vec<u8>,
    mode: u32,
    owner: &'static str,
    group: &'static str,
    uid: u32,
    gid: u32,
}

#[derive(Clone, Copy)]
enum Action {
    Installed,
    Updated,
    Unchanged,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Action::Installed => "installed",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
        }
    }
}

fn io(path: &Path, detail: impl Into<String>) -> Error {
    Error::Io { path: path.display().to_string(), detail: detail.into() }
}

fn usage(detail: impl Into<String>) -> Error {
    Error::Usage { detail: detail.into() }
}

pub fn run(args: InstallArgs, format: Format) -> Result<i32, Error> {
    if format == Format::Sarif {
        return Err(usage("`install` reports no findings; --format sarif is for check and render"));
    }
    let from = &args.from;
    let decl_path = from.join("declaration.json");
    if !decl_path.is_file() {
        return Err(usage(format!("{}: no declaration.json: not a directory `render` wrote for mode = \"baremetal\"", from.display())));
    }
    let (text, name) = crate::cli::read_input(&decl_path)?;
    let (doc, _) = crate::document::parse(&text, &name)?;
    let d = &doc.secure_mattermost;
    if d.mode != crate::document::Mode::Baremetal {
        return Err(usage(format!("{name}: mode is not \"baremetal\": install puts bare-metal artifacts on a host")));
    }
    crate::validate::deployment(d)?;
    let install_dir = d.baremetal.install_dir.clone();

    // The unit must refer to the directory this install writes.
    let unit_path = from.join("mattermost.service");
    let unit = std::fs::read_to_string(&unit_path).map_err(|e| Error::io(&unit_path, e))?;
    if !unit.contains(&format!("--spec {} ", exec_word(&format!("{install_dir}/secret-env.json")))) {
        return Err(usage(format!(
            "{}: rendered for another install directory than baremetal.installDir (render --install-dir?); render again without --install-dir to install with this command",
            unit_path.display()
        )));
    }

    // Every file known, read and owned before anything is written.
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if !kind.is_file() || lookup(&name).is_none() {
            return Err(usage(format!(
                "{}: not a file install knows where to put (src/commands/install.rs, PLACES); nothing was installed",
                entry.path().display()
            )));
        }
        names.push(name);
    }
    names.sort();
    let accounts = Accounts::read(&args.root)?;
    // The backup job's directory, when backups are on: a real directory (or
    // none yet), no symbolic link on the way.
    let backup_dir = backup_units::wanted(d).then(|| d.baremetal.backups.directory.clone());
    if let Some(dir) = &backup_dir {
        check_backup_directory(&args.root, dir)?;
    }
    let cluster = postgresql_cluster(&args.root, d.database.postgresql_version);
    let mut steps = Vec::new();
    let mut skipped = Vec::new();
    for name in &names {
        let Some(p) = lookup(name) else { continue };
        let dest_name = p.rename.unwrap_or(name);
        let dir = match (p.dir, &cluster) {
            (Dir::Install, _) => install_dir.clone(),
            (Dir::Evidence, _) => format!("{install_dir}/evidence"),
            (Dir::Units, _) => UNITS.into(),
            (Dir::NginxSite, _) => NGINX_AVAILABLE.into(),
            (Dir::Postgresql, Ok(c)) => c.clone(),
            (Dir::PostgresqlConfD, Ok(c)) => format!("{c}/conf.d"),
            (Dir::Postgresql | Dir::PostgresqlConfD, Err(why)) => {
                skipped.push((name.clone(), why.clone()));
                continue;
            }
        };
        let src = from.join(name);
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        steps.push(Step {
            name: name.clone(),
            host_path: format!("{}/{dest_name}", dir.trim_end_matches('/')),
            bytes,
            mode: p.mode,
            owner: p.owner,
            group: p.group,
            uid: accounts.uid(p.owner)?,
            gid: accounts.gid(p.group)?,
        });
    }
    let site = steps.iter().find(|s| s.name == "nginx.conf").map(|s| s.host_path.clone());
    let link = site.as_ref().map(|target| (format!("{NGINX_ENABLED}/mattermost.conf"), target.clone()));
    for s in &steps {
        no_symlink_on_the_way(&args.root, &s.host_path, true)?;
    }
    if let Some((path, target)) = &link {
        no_symlink_on_the_way(&args.root, path, false)?;
        let p = below(&args.root, path);
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            if !(m.file_type().is_symlink() && std::fs::read_link(&p).is_ok_and(|t| t == Path::new(target))) {
                return Err(io(&p, format!("exists and is not the link to {target} that enables the site; move it away")));
            }
        }
    }

    let mut report = Vec::new();
    let mut text = String::new();
    // Every check passed: the account the backup runs as, if it is missing.
    let backup_owner = match &backup_dir {
        Some(_) => {
            let (created, uid, gid) = backup_account(&args.root, &accounts)?;
            let user = backup_units::USER;
            let word = if created { "created" } else { "unchanged" };
            text.push_str(&format!("{word:<9} account {user} (uid {uid}, gid {gid}: system account, no home, no login shell)\n"));
            report.push(json!({"account": user, "uid": uid, "gid": gid, "action": word}));
            Some((uid, gid))
        }
        None => None,
    };
    for s in &steps {
        let target = below(&args.root, &s.host_path);
        make_dirs(&args.root, &s.host_path)?;
        let action = put(&target, &s.bytes, s.mode, s.uid, s.gid)?;
        text.push_str(&format!("{:<9} {} ({:04o} {}:{}) from {}\n", action.word(), s.host_path, s.mode, s.owner, s.group, s.name));
        report.push(json!({"file": s.name, "path": s.host_path, "mode": format!("{:04o}", s.mode), "owner": s.owner, "group": s.group, "action": action.word()}));
    }
    if let Some((path, target)) = &link {
        make_dirs(&args.root, path)?;
        let action = enable_link(&below(&args.root, path), target)?;
        text.push_str(&format!("{:<9} {path} -> {target} (enables the site)\n", action.word()));
        report.push(json!({"link": path, "target": target, "action": action.word()}));
    }
    if let (Some(dir), Some((uid, gid))) = (&backup_dir, backup_owner) {
        let action = backup_directory(&args.root, dir, uid, gid)?;
        let user = backup_units::USER;
        text.push_str(&format!("{:<9} {dir}/ (0700 {user}:{user}, the backup directory)\n", action.word()));
        report.push(json!({"directory": dir, "mode": "0700", "owner": user, "group": user, "action": action.word()}));
    }
    for (name, why) in &skipped {
        text.push_str(&format!("{:<9} {name}: {why}\n", "skipped"));
        report.push(json!({"file": name, "action": "skipped", "reason": why}));
    }
    let timers: Vec<&str> = names.iter().filter(|n| n.ends_with(".timer")).map(String::as_str).collect();
    let next = format!(
        "next: systemctl daemon-reload && systemctl enable --now mattermost.service {} && nginx -t && systemctl reload nginx",
        timers.join(" ")
    );
    match format {
        Format::Json => output::stdout(
            &(serde_json::to_string_pretty(&json!({"root": args.root.display().to_string(), "installDir": install_dir, "files": report})).unwrap_or_default() + "\n"),
        )?,
        _ => output::stdout(&text)?,
    }
    output::stderr(&next);
    Ok(exit::OK)
}

/// The PostgreSQL cluster directory on this host (as the host sees it), or
/// why the PostgreSQL files are not installed here.
fn postgresql_cluster(root: &Path, version: Option<u32>) -> Result<String, String> {
    let base = below(root, "/etc/postgresql");
    match version {
        Some(v) => {
            let dir = format!("/etc/postgresql/{v}/main");
            if below(root, &dir).is_dir() {
                Ok(dir)
            } else {
                Err(format!("no PostgreSQL {v} cluster here ({dir} is missing): install it on the database host"))
            }
        }
        None => {
            let mut found: Vec<String> = std::fs::read_dir(&base)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().join("main").is_dir())
                .map(|e| format!("/etc/postgresql/{}/main", e.file_name().to_string_lossy()))
                .collect();
            found.sort();
            match found.len() {
                1 => Ok(found.remove(0)),
                0 => Err("no PostgreSQL cluster here (/etc/postgresql/<version>/main): install it on the database host".into()),
                _ => Err(format!("several PostgreSQL clusters here ({}): set database.postgresqlVersion", found.join(", "))),
            }
        }
    }
}

/// `host_path` below `root`.
fn below(root: &Path, host_path: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for c in Path::new(host_path).components() {
        if let Component::Normal(n) = c {
            p.push(n);
        }
    }
    p
}

/// Refuses a symbolic link at `host_path` (when `leaf`) or at any directory
/// on the way to it, below `root`.
fn no_symlink_on_the_way(root: &Path, host_path: &str, leaf: bool) -> Result<(), Error> {
    let mut p = root.to_path_buf();
    let parts: Vec<_> = Path::new(host_path).components().filter_map(|c| if let Component::Normal(n) = c { Some(n) } else { None }).collect();
    for (i, n) in parts.iter().enumerate() {
        p.push(n);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() && (leaf || !last) => {
                return Err(io(&p, "is a symbolic link: refusing to install through it (nothing was installed)"));
            }
            Ok(m) if !last && !m.is_dir() => return Err(io(&p, "is not a directory")),
            Ok(m) if last && leaf && m.is_dir() => return Err(io(&p, "is a directory")),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(())
}

/// `baremetal.backups.directory` below `root`: absolute and normalised,
/// no symbolic link on the way or at its end, a directory if it exists.
fn check_backup_directory(root: &Path, dir: &str) -> Result<(), Error> {
    if dir == "/" || !crate::validate::normalised_path(dir) {
        return Err(usage(format!("baremetal.backups.directory {dir:?}: not a normalised absolute directory of its own; nothing was installed")));
    }
    no_symlink_on_the_way(root, dir, false)?;
    let p = below(root, dir);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.file_type().is_symlink() => Err(io(&p, "is a symbolic link: the backup directory must be a directory of its own (nothing was installed)")),
        Ok(m) if !m.is_dir() => Err(io(&p, "is not a directory: the backup directory must be one (nothing was installed)")),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// The backup service's account: found in the target's etc/passwd and
/// etc/group, or created there with useradd (`--prefix` below a staging
/// root). Returns whether it was created, its uid and gid.
fn backup_account(root: &Path, accounts: &Accounts) -> Result<(bool, u32, u32), Error> {
    let user = backup_units::USER;
    let has_user = accounts.users.iter().any(|(n, _)| n == user);
    let has_group = accounts.groups.iter().any(|(n, _)| n == user);
    if has_user && has_group {
        return Ok((false, accounts.uid(user)?, accounts.gid(user)?));
    }
    if has_user {
        return Err(io(
            &accounts.group,
            format!("user `{user}` exists but group `{user}` does not: create it (groupadd --system {user}) and make it the user's primary group (usermod -g {user} {user})"),
        ));
    }
    let mut useradd = std::process::Command::new("useradd");
    if root.components().any(|c| !matches!(c, Component::RootDir)) {
        let abs = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        useradd.arg("--prefix").arg(abs);
    }
    useradd.args(["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", "Mattermost backups (secure-mattermost)"]);
    if has_group {
        useradd.args(["--gid", user]);
    } else {
        useradd.arg("--user-group");
    }
    useradd.arg(user);
    let how = format!("useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin {user}");
    let out = useradd.output().map_err(|e| io(&accounts.passwd, format!("cannot run useradd to create the account `{user}` ({e}): create it with `{how}`")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(io(&accounts.passwd, format!("useradd could not create the account `{user}`: {why}")));
    }
    let again = Accounts::read(root)?;
    Ok((true, again.uid(user)?, again.gid(user)?))
}

/// `dir` below `root`, mode 0700 and owned by `uid`:`gid`; its parents made
/// as [`make_dirs`] does. An existing directory keeps its contents.
fn backup_directory(root: &Path, dir: &str, uid: u32, gid: u32) -> Result<Action, Error> {
    make_dirs(root, dir)?;
    let p = below(root, dir);
    let action = match std::fs::symlink_metadata(&p) {
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => return Err(io(&p, "is not a directory (or is a symbolic link)")),
        Ok(m) if m.mode() & 0o7777 == 0o700 && m.uid() == uid && m.gid() == gid => return Ok(Action::Unchanged),
        Ok(_) => Action::Updated,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(&p).map_err(|e| Error::io(&p, e))?;
            Action::Installed
        }
        Err(e) => return Err(Error::io(&p, e)),
    };
    std::os::unix::fs::chown(&p, Some(uid), Some(gid)).map_err(|e| Error::io(&p, e))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(&p, e))?;
    sync_dir(p.parent().unwrap_or(Path::new("/")))?;
    Ok(action)
}

/// The directories on the way to `host_path`, made 0755 root:root where missing.
fn make_dirs(root: &Path, host_path: &str) -> Result<(), Error> {
    let mut p = root.to_path_buf();
    let parts: Vec<_> = Path::new(host_path).components().filter_map(|c| if let Component::Normal(n) = c { Some(n) } else { None }).collect();
    for n in &parts[..parts.len().saturating_sub(1)] {
        p.push(n);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(io(&p, "is not a directory (or is a symbolic link)")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&p).map_err(|e| Error::io(&p, e))?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).map_err(|e| Error::io(&p, e))?;
                std::os::unix::fs::chown(&p, Some(0), Some(0)).map_err(|e| Error::io(&p, e))?;
            }
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(())
}

/// Writes `bytes` at `path` with its owner and mode: in a temporary file in
/// the same directory, then renamed over `path`.
fn put(path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Action, Error> {
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(io(path, "is a symbolic link: refusing to write through it")),
        Ok(m) if !m.is_file() => return Err(io(path, "is not a regular file")),
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    if let Some(m) = &existing {
        let same = m.mode() & 0o7777 == mode && m.uid() == uid && m.gid() == gid && std::fs::read(path).is_ok_and(|b| b == bytes);
        if same {
            return Ok(Action::Unchanged);
        }
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let mut tmp = tempfile::Builder::new().prefix(".secure-mattermost-install-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    let f = tmp.as_file_mut();
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    std::os::unix::fs::fchown(&*f, Some(uid), Some(gid)).map_err(|e| Error::io(path, e))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_dir(dir)?;
    Ok(if existing.is_some() { Action::Updated } else { Action::Installed })
}

fn enable_link(path: &Path, target: &str) -> Result<Action, Error> {
    if std::fs::read_link(path).is_ok_and(|t| t == Path::new(target)) {
        return Ok(Action::Unchanged);
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let tmp = dir.join(format!(".secure-mattermost-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)?;
    Ok(Action::Installed)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

/// Account names of the target (below `--root`).
struct Accounts {
    passwd: PathBuf,
    group: PathBuf,
    users: Vec<(String, u32)>,
    groups: Vec<(String, u32)>,
}

impl Accounts {
    fn read(root: &Path) -> Result<Accounts, Error> {
        let table = |p: &Path| -> Result<Vec<(String, u32)>, Error> {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(Error::io(p, e)),
            };
            Ok(text
                .lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let id = f.nth(1)?.parse().ok()?;
                    Some((name.to_string(), id))
                })
                .collect())
        };
        let (passwd, group) = (root.join("etc/passwd"), root.join("etc/group"));
        Ok(Accounts { users: table(&passwd)?, groups: table(&group)?, passwd, group })
    }

    fn find(list: &[(String, u32)], name: &str, file: &Path, what: &str) -> Result<u32, Error> {
        match list.iter().find(|(n, _)| n == name) {
            Some((_, id)) => Ok(*id),
            None if name == "root" => Ok(0),
            None => Err(io(
                file,
                format!("no {what} `{name}`: create the account first (for mattermost: useradd --system --user-group --home-dir /var/lib/mattermost --shell /usr/sbin/nologin mattermost); nothing was installed"),
            )),
        }
    }

    fn uid(&self, name: &str) -> Result<u32, Error> {
        Self::find(&self.users, name, &self.passwd, "user")
    }

    fn gid(&self, name: &str) -> Result<u32, Error> {
        Self::find(&self.groups, name, &self.group, "group")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(lookup("config.json").map(|p| p.mode), Some(0o640));
        assert_eq!(lookup("mattermost-drift.timer").map(|p| p.dir), Some(Dir::Units));
        assert!(lookup(".service").is_none() && lookup("notes.txt").is_none());
        assert_eq!(below(Path::new("/stage"), "/etc/x/y").display().to_string(), "/stage/etc/x/y");
    }
}
