//! The shipped examples render, and the artifacts carry the catalog's
//! hardened values (config.json on bare metal, pinned environment on Kubernetes).

mod common;
use common::*;

fn render(example: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run(&["render", "--config", &format!("examples/{example}.nix"), "--out", out.to_str().unwrap(), "--today", TODAY]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir, out)
}

fn hardened() -> Vec<(String, serde_json::Value)> {
    let catalog = load("catalog/controls.json");
    let mut out = vec![];
    for rule in catalog["rules"].as_array().unwrap() {
        if let Some(h) = rule["harden"].as_object() {
            out.extend(h.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    assert!(out.len() > 60);
    out
}

#[test]
fn baremetal_config_json_carries_every_hardened_value() {
    let (_d, out) = render("baremetal");
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    // Values the example itself tightens through `settings` are its own.
    let own = load("examples/baremetal.json")["secureMattermost"]["settings"].clone();
    for (key, want) in hardened() {
        if !key.split('.').fold(&own, |v, k| &v[k]).is_null() {
            continue;
        }
        let got = key.split('.').fold(&config, |v, k| &v[k]);
        assert_eq!(got, &want, "config.json {key}");
    }
    assert_eq!(config["ServiceSettings"]["SiteURL"], "https://chat.example.com");
    assert_eq!(config["SqlSettings"]["DataSource"], "postgres://mmuser@db.example.internal:5432/mattermost?sslmode=verify-full&connect_timeout=10&sslrootcert=/etc/ssl/certs/site-ca.pem");
}

#[test]
fn kubernetes_values_pin_every_hardened_value() {
    let (_d, out) = render("kubernetes");
    let values = std::fs::read_to_string(out.join("values.yaml")).unwrap();
    // The chart sets these itself (the pod's listener; S3 TLS whenever an endpoint is given).
    let skip = ["ServiceSettings.ListenAddress", "FileSettings.AmazonS3SSL"];
    assert!(values.contains("url: \"minio.mattermost.svc.cluster.local:443\""), "the in-cluster MinIO tenant by default");
    for (key, want) in hardened() {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let name = format!("MM_{}", key.replace('.', "_").to_uppercase());
        let value = match &want {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a.iter().map(|x| x.as_str().unwrap_or_default()).collect::<Vec<_>>().join(" "),
            other => other.to_string(),
        };
        let entry = format!("- name: \"{name}\"\n    value: {}", serde_json::to_string(&value).unwrap());
        assert!(values.contains(&entry), "values.yaml lacks {entry}");
    }
}

#[test]
fn card_example_renders_from_nix_without_nix_and_matches_the_real_nix_document() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("from-nix"), dir.path().join("from-json"));
    // No nix-instantiate anywhere on PATH: the built-in evaluator alone.
    let out = bin()
        .env("PATH", "/nonexistent")
        .args(["render", "--config", "examples/kubernetes.nix", "--out", a.to_str().unwrap(), "--today", TODAY])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // examples/kubernetes.json was written by real Nix (scripts/gen-example-json.sh).
    let r = run(&["render", "--input", "examples/kubernetes.json", "--out", b.to_str().unwrap(), "--today", TODAY]);
    assert_eq!(r.code, 0);
    for f in ["outcomes.json", "values.yaml", "mattermost.yaml", "assessment-results.oscal.json"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
}

/// High availability on bare metal: clustering with encrypted gossip (no SSH
/// tunnels), shared file storage required, the gossip ports open only
/// between the declared cluster nodes, and every one of those settings pinned
/// so the System Console cannot turn encryption off.
#[test]
fn baremetal_ha_cluster_encrypts_gossip_and_needs_shared_storage() {
    use serde_json::json;
    let render_doc = |doc: &serde_json::Value| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let r = run_stdin(&["render", "--input", "-", "--out", out.to_str().unwrap(), "--today", TODAY], &doc.to_string());
        (dir, out, r)
    };
    let nodes = json!({"replicas": 2, "baremetal": {"networks": {"clusterNodes": ["10.0.2.11/32", "10.0.2.12/32"]}}});

    // Local disk on two nodes: refused before anything is written.
    let (_d, out, r) = render_doc(&patched(base("baremetal"), &nodes));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("replicas") && r.stderr.contains("fileStorage"), "{}", r.stderr);
    assert!(!out.exists());

    // Shared NFS storage: clustered, gossip encrypted, pinned, firewalled.
    let ha = patched(patched(base("baremetal"), &nodes), &json!({"fileStorage": {"driver": "nfs", "directory": "/srv/mattermost-nfs/data"}}));
    let (_d, out, r) = render_doc(&ha);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["ClusterSettings"]["Enable"], json!(true));
    assert_eq!(config["ClusterSettings"]["EnableGossipEncryption"], json!(true));
    assert_eq!(config["FileSettings"]["Directory"], json!("/srv/mattermost-nfs/data"));
    let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("secret-env.json")).unwrap()).unwrap();
    let pinned = |env: &str| spec["pinned"].as_array().unwrap().iter().find(|p| p["env"] == env).map(|p| p["value"].clone());
    assert_eq!(pinned("MM_CLUSTERSETTINGS_ENABLE"), Some(json!("true")));
    assert_eq!(pinned("MM_CLUSTERSETTINGS_ENABLEGOSSIPENCRYPTION"), Some(json!("true")));
    let nft = std::fs::read_to_string(out.join("nftables.conf")).unwrap();
    assert!(nft.contains("10.0.2.11") && nft.contains("10.0.2.12"), "cluster nodes missing from the firewall:\n{nft}");
    assert!(nft.contains("8074"), "no gossip rule:\n{nft}");

    // Gossip in clear fails the check, and so does clustering without a
    // licence that honours it.
    let clear = patched(ha.clone(), &json!({"settings": {"ClusterSettings": {"EnableGossipEncryption": false}}}));
    let (r, outcomes) = check_json(&clear);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(failing_rules(&outcomes.unwrap()).contains(&"cluster-gossip-encryption".to_string()));
    let unlicensed = patched(ha, &json!({"license": {"edition": "team"}}));
    let (r, outcomes) = check_json(&unlicensed);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(failing_rules(&outcomes.unwrap()).contains(&"licence-clustering".to_string()), "{}", r.stdout);
}
