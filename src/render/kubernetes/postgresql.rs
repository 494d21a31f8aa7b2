//! `postgresql.yaml`: a Zalando postgres-operator `postgresql` cluster for
//! the database: TLS from the internal CA, scram-only `hostssl` access (every
//! other network path rejected), connection and DDL logging, an application
//! role that is neither superuser nor able to create roles or databases,
//! sized volumes, and WAL-G base backups with WAL archiving to the backup
//! bucket. The operator keeps the role's password in its own Secret
//! (`credentials_secret`), which the application reads at start.

use serde_json::{json, Value};

use super::*;
use crate::document::Deployment;

/// The Secret postgres-operator creates for a role of a cluster, and its key.
pub fn credentials_secret(d: &Deployment) -> String {
    format!("{}.{}.credentials.postgresql.acid.zalan.do", d.database.user, d.database.host)
}
pub const PASSWORD_KEY: &str = "password";

/// Where the application pod mounts the database certificate's CA.
pub const CA_DIR: &str = "/mattermost/database-ca";

/// Host-based access: local socket and loopback for the operator's own
/// tooling, replication over TLS, everything else only over TLS with scram.
const PG_HBA: &[&str] = &[
    "local all all trust",
    "hostssl all +zalandos 127.0.0.1/32 pam",
    "hostssl all +zalandos ::1/128 pam",
    "local replication standby trust",
    "hostssl replication standby all scram-sha-256",
    "hostnossl all all all reject",
    "hostssl all +zalandos all pam",
    "hostssl all all all scram-sha-256",
];

fn backup_env(d: &Deployment) -> Vec<Value> {
    let k = &d.kubernetes;
    let s3 = &d.file_storage.s3.kubernetes_secret;
    let mut env = vec![
        json!({"name": "USE_WALG_BACKUP", "value": "true"}),
        json!({"name": "USE_WALG_RESTORE", "value": "true"}),
        json!({"name": "WAL_S3_BUCKET", "value": k.backups.bucket}),
        json!({"name": "BACKUP_SCHEDULE", "value": k.postgresql.backup_schedule}),
        json!({"name": "BACKUP_NUM_TO_RETAIN", "value": k.backups.retention_days.to_string()}),
        json!({"name": "AWS_REGION", "value": d.file_storage.s3.region}),
        json!({"name": "AWS_S3_FORCE_PATH_STYLE", "value": "true"}),
        json!({"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": s3.name, "key": s3.access_key_id_key}}}),
        json!({"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": s3.name, "key": s3.secret_access_key_key}}}),
    ];
    if k.minio.enable {
        env.push(json!({"name": "AWS_ENDPOINT", "value": format!("https://{}", minio::service_host(d))}));
        env.push(json!({"name": "WALG_S3_CA_CERT_FILE", "value": "/tls/ca.crt"}));
    } else if let Some(e) = crate::effective::s3_endpoint(d) {
        env.push(json!({"name": "AWS_ENDPOINT", "value": format!("https://{e}")}));
    }
    env
}

pub fn object(d: &Deployment) -> Value {
    let k = &d.kubernetes;
    let mut volume = json!({"size": k.postgresql.volume_size});
    if let Some(sc) = &k.storage_class_name {
        volume["storageClass"] = json!(sc);
    }
    let mut o = json!({
        "apiVersion": "acid.zalan.do/v1",
        "kind": "postgresql",
        "metadata": metadata(d, &d.database.host),
        "spec": {
            "teamId": k.postgresql.team_id,
            "numberOfInstances": k.postgresql.instances,
            "postgresql": {
                "version": k.postgresql.version.to_string(),
                "parameters": {
                    "ssl": "on",
                    "ssl_min_protocol_version": "TLSv1.2",
                    "password_encryption": "scram-sha-256",
                    "log_connections": "on",
                    "log_disconnections": "on",
                    "log_statement": "ddl",
                    "log_line_prefix": "%m [%p] %q%u@%d %r "
                }
            },
            "patroni": {"pg_hba": PG_HBA},
            "tls": {"secretName": certificates::database_tls_secret(d), "caFile": "ca.crt"},
            "volume": volume,
            "users": super::object([(d.database.user.clone(), json!(["nosuperuser", "nocreatedb", "nocreaterole", "noreplication", "nobypassrls", "login"]))]),
            "databases": super::object([(d.database.name.clone(), json!(d.database.user))]),
            "spiloRunAsUser": 101,
            "spiloRunAsGroup": 103,
            "spiloFSGroup": 103,
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"}
            },
            "env": backup_env(d)
        }
    });
    if let Some(digest) = &k.postgresql.image_digest {
        o["spec"]["dockerImage"] = json!(image_ref(d, &k.postgresql.image, None, Some(digest)));
    }
    o
}

/// The application's database environment when the operator runs the
/// database: the password from the operator's Secret, then the connection
/// string composed from the declared host, port, name and `sslMode`, with
/// the password spliced in by Kubernetes' `$(VAR)` expansion. The operator
/// generates alphanumeric passwords, which need no percent-encoding.
pub fn app_env(d: &Deployment) -> Vec<Value> {
    let dsn = crate::effective::data_source(d, Some("PASSWORD_PLACEHOLDER")).replace("PASSWORD_PLACEHOLDER", "$(MM_DB_PASSWORD)");
    vec![
        json!({"name": "MM_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": credentials_secret(d), "key": PASSWORD_KEY}}}),
        json!({"name": "MM_SQLSETTINGS_DATASOURCE", "value": dsn}),
    ]
}

/// The volume and mount of the database certificate's CA in the application pod.
pub fn app_ca_volume(d: &Deployment) -> (Value, Value) {
    (
        json!({"name": "database-ca", "secret": {"secretName": certificates::database_tls_secret(d), "items": [{"key": "ca.crt", "path": "ca.crt"}], "defaultMode": 0o444}}),
        json!({"name": "database-ca", "mountPath": CA_DIR, "readOnly": true}),
    )
}
