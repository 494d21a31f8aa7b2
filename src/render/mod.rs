//! Artifacts for each mode. Every renderer takes the validated deployment
//! and the effective configuration; none re-decides policy.

pub mod baremetal;
pub mod env;
pub mod kubernetes;
pub mod yaml;

pub use baremetal::{config_json, nginx, systemd};
pub use kubernetes::{helm, operator};

use std::path::Path;

use crate::document::{Deployment, Mode};
use crate::error::Error;

pub struct Binaries {
    pub mattermost: String,
    pub helper: String,
    /// Where the artifacts live on the target host (`baremetal.installDir`,
    /// or `render --install-dir`): the units refer to the files there.
    pub artifact_dir: String,
}

/// (file name, contents) of every deployable artifact for the mode.
/// Renderers that paste values into another program's syntax check them
/// again (the chart's raw-pasted values, nginx tokens, systemd words) and
/// refuse with exit 2 rather than write something that reads differently.
pub fn artifacts(d: &Deployment, config: &serde_json::Value, bins: &Binaries) -> Result<Vec<(String, String)>, Error> {
    Ok(match d.mode {
        Mode::Baremetal => {
            let mut files: Vec<(String, String)> = vec![
                ("config.json".into(), config_json::render(config)),
                ("secret-env.json".into(), baremetal::secret_env::render(d, config)),
                ("mattermost.service".into(), systemd::render(d, config, bins)?),
                ("mattermost-health.service".into(), baremetal::health_units::service(config, bins)?),
                ("mattermost-health.timer".into(), baremetal::health_units::timer()),
                ("mattermost-drift.service".into(), baremetal::drift_units::service(d, bins)?),
                ("mattermost-drift.timer".into(), baremetal::drift_units::timer(d)?),
                ("declaration.json".into(), baremetal::drift_units::declaration(d)?),
                ("nginx.conf".into(), nginx::render(d)?),
                ("nftables.conf".into(), baremetal::nftables::render(d, config)?),
                ("postgresql-secure-mattermost.conf".into(), baremetal::postgresql_conf::render(d)?),
                ("pg_hba.conf".into(), baremetal::pg_hba::render(d)?),
                ("init.sql".into(), baremetal::init_sql::render(d)?),
            ];
            // Only with baremetal.backups.enable: the backup service and its timer.
            files.extend(baremetal::backup_units::render(d, config, bins)?);
            files
        }
        Mode::Kubernetes => {
            let mut files = vec![
                ("values.yaml".into(), helm::render(d, config)?),
                ("mattermost.yaml".into(), operator::render(d, config)),
            ];
            for (name, objects) in kubernetes::manifests::artifacts(d) {
                files.push((name.into(), kubernetes::documents(&kubernetes::manifests::header(name), &objects)));
            }
            files
        }
    })
}

/// Write into a fresh temporary directory beside `out`, then rename it into
/// place: a failure leaves either the old directory or none, never half.
pub fn write_atomically(out: &Path, files: &[(String, String)]) -> Result<(), Error> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".secure-mattermost-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;
    for (name, text) in files {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
    }
    set_mode(tmp.path(), 0o755)?;
    let old = if out.exists() {
        let old = tempfile::Builder::new()
            .prefix(".secure-mattermost-old-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        let old_path = old.keep();
        std::fs::remove_dir(&old_path).map_err(|e| Error::io(&old_path, e))?;
        std::fs::rename(out, &old_path).map_err(|e| Error::io(out, e))?;
        Some(old_path)
    } else {
        None
    };
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, out) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old, out);
        }
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(Error::io(out, e));
    }
    if let Some(old) = old {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(p, e))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<(), Error> {
    Ok(())
}
