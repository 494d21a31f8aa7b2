//! `namespace.yaml`: the release namespace, enforcing the Pod Security
//! `restricted` level (and auditing and warning at it), pinned to `latest`.

use serde_json::{json, Value};

use super::common_labels;
use crate::document::Deployment;

pub fn object(d: &Deployment) -> Value {
    let mut labels = common_labels();
    for mode in ["enforce", "audit", "warn"] {
        labels[format!("pod-security.kubernetes.io/{mode}")] = json!(d.kubernetes.pod_security_level);
        labels[format!("pod-security.kubernetes.io/{mode}-version")] = json!("latest");
    }
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": d.kubernetes.namespace, "labels": labels}})
}
