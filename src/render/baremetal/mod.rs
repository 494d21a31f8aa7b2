//! Bare metal: the files a host runs Mattermost from, one module per artifact.

pub mod backup_units;
pub mod config_json;
pub mod drift_units;
pub mod health_units;
pub mod init_sql;
pub mod nftables;
pub mod nginx;
pub mod pg_hba;
pub mod postgresql_conf;
pub mod sandbox;
pub mod secret_env;
pub mod systemd;
