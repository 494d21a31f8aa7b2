//! Bare metal: the files a host runs Mattermost from, one module per artifact.

pub mod config_json;
pub mod nginx;
pub mod secret_env;
pub mod systemd;
