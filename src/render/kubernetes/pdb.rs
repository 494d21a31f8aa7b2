//! `pdb.yaml` (only with `replicas > 1`): at most one application pod is
//! voluntarily evicted at a time. Anti-affinity spreading the pods over
//! nodes is added to the Deployment itself (post_render.rs for the chart,
//! the resource's scheduling for the operator).

use serde_json::{json, Value};

use super::*;
use crate::document::Deployment;

pub fn object(d: &Deployment) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(d, "mattermost"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": app_selector(d)}}
    })
}

/// Preferred spreading of the application pods over nodes.
pub fn anti_affinity(d: &Deployment) -> Value {
    json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {"labelSelector": {"matchLabels": app_selector(d)}, "topologyKey": "kubernetes.io/hostname"}
    }]}})
}
