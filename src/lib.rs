//! secure-mattermost: policy engine and renderers for hardened Mattermost
//! deployments declared with the `services.secureMattermost` Nix module.

pub mod atomic_dir;
pub mod catalog;
pub mod cli;
pub mod dates;
pub mod defaults;
pub mod docs;
pub mod document;
pub mod effective;
pub mod error;
pub mod evidence;
pub mod commands;
pub mod justification;
pub mod launch;
pub mod limits;
pub mod options;
pub mod oscal;
pub mod output;
pub mod parallel;
pub mod paths;
pub mod nixeval;
pub mod policy;
pub mod render;
pub mod report;
pub mod sarif;
pub mod secrets;
pub mod semantic;
pub mod validate;
