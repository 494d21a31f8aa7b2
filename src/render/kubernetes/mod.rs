//! Kubernetes: the manifests and chart values, one module per artifact.

pub mod helm;
pub mod operator;
