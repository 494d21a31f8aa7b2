//! `monitoring.yaml`: a prometheus-operator `ServiceMonitor` scraping the
//! application's metrics port (reachable only from the monitoring
//! namespace, see network_policy.rs) and a `PrometheusRule` with the alerts
//! an operator of the service needs: a pod down, a rising 5xx rate, database
//! connection errors, and certificates close to expiry.

use serde_json::{json, Value};

use super::*;
use crate::document::Deployment;

/// The metrics port's name on the application Service.
pub fn metrics_port_name(d: &Deployment) -> &'static str {
    match d.kubernetes.deploy_with {
        crate::document::DeployWith::Helm => "mattermost-app-metrics",
        crate::document::DeployWith::Operator => "metrics",
    }
}

fn alert(name: &str, expr: String, for_: &str, severity: &str, summary: &str) -> Value {
    json!({"alert": name, "expr": expr, "for": for_, "labels": {"severity": severity}, "annotations": {"summary": summary}})
}

pub fn objects(d: &Deployment) -> Vec<Value> {
    let ns = &d.kubernetes.namespace;
    let sel = format!("namespace=\"{ns}\"");
    let monitor = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(d, "mattermost"),
        "spec": {
            "selector": {"matchLabels": match d.kubernetes.deploy_with {
                crate::document::DeployWith::Helm => json!({"app.kubernetes.io/name": "mattermost", "app.kubernetes.io/instance": RELEASE}),
                crate::document::DeployWith::Operator => app_selector(d),
            }},
            "namespaceSelector": {"matchNames": [ns]},
            "endpoints": [{"port": metrics_port_name(d), "path": "/metrics", "interval": "30s"}]
        }
    });
    let rules = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(d, "mattermost"),
        "spec": {"groups": [{
            "name": "mattermost",
            "rules": [
                alert(
                    "MattermostPodDown",
                    format!("kube_deployment_status_replicas_available{{{sel},deployment=~\"mattermost.*\"}} < {}", d.replicas),
                    "5m",
                    "critical",
                    "Fewer Mattermost application pods are available than declared"
                ),
                alert(
                    "MattermostHTTP5xxRate",
                    format!("sum(rate(nginx_ingress_controller_requests{{exported_namespace=\"{ns}\",status=~\"5..\"}}[5m])) / sum(rate(nginx_ingress_controller_requests{{exported_namespace=\"{ns}\"}}[5m])) > 0.05"),
                    "10m",
                    "warning",
                    "More than 5% of requests through the ingress fail with a server error"
                ),
                alert(
                    "MattermostDatabaseConnectionErrors",
                    format!("max by (pod) (mattermost_db_master_connections_total{{{sel}}}) == 0 or absent(mattermost_db_master_connections_total{{{sel}}})"),
                    "5m",
                    "critical",
                    "A Mattermost pod has no open connection to its database"
                ),
                alert(
                    "MattermostCertificateExpiry",
                    format!("certmanager_certificate_expiration_timestamp_seconds{{exported_namespace=\"{ns}\"}} - time() < 14 * 24 * 3600"),
                    "1h",
                    "warning",
                    "A certificate of the deployment expires within 14 days"
                )
            ]
        }]}
    });
    vec![monitor, rules]
}
