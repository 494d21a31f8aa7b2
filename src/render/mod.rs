//! Artifacts for each mode. Every renderer takes the validated deployment
//! and the effective configuration; none re-decides policy.

pub mod baremetal;
pub mod env;
pub mod kubernetes;
pub mod yaml;

pub use baremetal::{config_json, nginx, systemd};
pub use kubernetes::{helm, operator};

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
