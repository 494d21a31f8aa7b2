//! Bare metal: `mattermost-backup.service` and `mattermost-backup.timer`,
//! the scheduled, encrypted backup (`secure-mattermost backup`, see
//! src/commands/backup.rs and docs/baremetal.md).
//!
//! The service runs as its own user, `mattermost-backup`, which owns the
//! backup directory: the Mattermost server (user `mattermost`) can neither
//! read nor delete the backups, and the backup job can write nowhere else.
//! It reads the file store that `mattermost` owns (files 0600 under the
//! server's UMask=0077) through one capability, CAP_DAC_READ_SEARCH (read
//! and search only, never write), and the database password as a systemd
//! credential. Every value written here is a validated path of the
//! characters systemd reads literally, or a calendar event of the
//! `systemdCalendar` grammar.

use crate::document::Deployment;
use crate::error::Error;
use crate::render::{env, Binaries};
use crate::validate;

use super::systemd::{exec_word, installed, unit_path};

/// The evaluated declaration, as installed beside the other artifacts in
/// `baremetal.installDir` (rendered by `drift_units`; the backup reads its
/// options from it).
pub const DECLARATION: &str = "declaration.json";
/// The service's user and group (created by the install step).
pub const USER: &str = "mattermost-backup";
/// Spread of the start after the calendar event (many hosts, one backup store).
const RANDOMIZED_DELAY: &str = "10min";

/// Characters systemd reads literally in a path of these units (the
/// catalog's path characters: no specifier `%`, quote, escape or space).
fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._+,:=@~-".contains(c)
}

/// Paths written into the units as they are: normalised, absolute, bare.
const UNIT_PATH: validate::Kind = validate::Kind {
    what: "a normalised absolute path of letters, digits and / . _ + , : = @ ~ - (it is written into mattermost-backup.service)",
    test: |s| s.chars().all(bare) && validate::normalised_path(s),
};

/// Whether this declaration gets the backup units (bare metal, backups on).
pub fn wanted(d: &Deployment) -> bool {
    d.mode == crate::document::Mode::Baremetal && d.baremetal.backups.enable
}

/// The credential that carries the database password (the same name
/// `mattermost.service` loads it under), and its source file.
pub fn password_credential(d: &Deployment, config: &serde_json::Value) -> Option<(String, String)> {
    env::secret_spec(d, config)
        .secrets
        .into_iter()
        .find(|s| s.env == "MM_SQLSETTINGS_DATASOURCE")
        .map(|s| (s.credential, s.file))
}

pub fn service(d: &Deployment, config: &serde_json::Value, bins: &Binaries) -> Result<String, Error> {
    if !unit_path(&bins.helper) {
        return Err(Error::InvalidOption {
            file: "command line".into(),
            option: "--helper-bin".into(),
            detail: "must be an absolute path, not ending in '/', valid UTF-8, without control characters, Unicode non-characters, quotes, backslashes or '$' (it is written into the systemd unit; the value is not shown)".into(),
        });
    }
    let b = &d.baremetal.backups;
    validate::check("baremetal.backups.directory", &b.directory, &UNIT_PATH)?;
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    let decl = installed(bins, DECLARATION)?;
    let mut credential = String::new();
    if let Some((name, file)) = password_credential(d, config) {
        validate::check("database.passwordFile", &file, &UNIT_PATH)?;
        if !validate::credential_name(&name) {
            return Err(validate::refusal("database.passwordFile", &validate::CREDENTIAL_NAME));
        }
        credential = format!("LoadCredential={name}:{file}\n");
    }
    Ok(format!(
        "# Rendered by secure-mattermost for {domain}; do not edit.\n\
# Encrypted backup of the database and the file store (secure-mattermost backup).\n\
[Unit]\n\
Description=Encrypted backup of Mattermost's database and file store (secure-mattermost)\n\
After=network-online.target postgresql.service\n\
Wants=network-online.target\n\
\n\
[Service]\n\
Type=oneshot\n\
User={USER}\n\
Group={USER}\n\
{credential}\
ExecStart={helper} backup --input {decl}\n\
# The backup directory is the only place it writes (created by the install\n\
# step, owned by {USER}, mode 0700); without it the helper says so.\n\
ReadWritePaths=-{dir}\n\
PrivateIPC=yes\n\
PrivateMounts=yes\n\
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n\
# Reads the file store the server's user owns: read and search, never write.\n\
{sandbox}\
Nice=10\n\
IOSchedulingClass=idle\n",
        domain = d.domain,
        sandbox = super::sandbox::common("CAP_DAC_READ_SEARCH") + super::sandbox::HELPER_EXTRA,
        helper = exec_word(&bins.helper),
        decl = exec_word(&decl),
        dir = b.directory,
    ))
}

pub fn timer(d: &Deployment) -> Result<String, Error> {
    let b = &d.baremetal.backups;
    validate::check("baremetal.backups.schedule", &b.schedule, &validate::SYSTEMD_CALENDAR)?;
    validate::check("domain", &d.domain, &validate::DOMAIN)?;
    Ok(format!(
        "# Rendered by secure-mattermost for {domain}; do not edit.\n\
[Unit]\n\
Description=Schedule of the encrypted Mattermost backup (secure-mattermost)\n\
\n\
[Timer]\n\
OnCalendar={schedule}\n\
# A run missed while the host was off starts at the next boot.\n\
Persistent=true\n\
RandomizedDelaySec={RANDOMIZED_DELAY}\n\
Unit=mattermost-backup.service\n\
\n\
[Install]\n\
WantedBy=timers.target\n",
        domain = d.domain,
        schedule = b.schedule,
    ))
}

/// The two units, when the declaration has backups on (bare metal).
pub fn render(d: &Deployment, config: &serde_json::Value, bins: &Binaries) -> Result<Vec<(String, String)>, Error> {
    if !wanted(d) {
        return Ok(vec![]);
    }
    Ok(vec![("mattermost-backup.service".into(), service(d, config, bins)?), ("mattermost-backup.timer".into(), timer(d)?)])
}
