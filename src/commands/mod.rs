//! The evidence issue's commands: `audit` (configurations made elsewhere),
//! `lint` (secrets in Nix sources), `scan` (SBOM and vulnerabilities) and
//! `verify-evidence` (the signed bundle).

pub mod audit;
pub mod backup;
pub mod firewall;
pub mod health;
pub mod install;
pub mod lint;
pub mod post_render;
pub mod restore;
pub mod scan;
pub mod verify;
pub mod verify_url;
