//! Generated docs stay in step with the catalog.

mod common;
use common::*;

#[test]
fn controls_markdown_is_generated_from_the_catalog() {
    let r = run(&["rules", "--markdown"]);
    assert_eq!(r.code, 0);
    let committed = std::fs::read_to_string(root().join("docs/controls.md")).unwrap();
    assert_eq!(committed, r.stdout, "docs/controls.md is stale: secure-mattermost rules --markdown > docs/controls.md");
    let catalog = load("catalog/controls.json");
    for rule in catalog["rules"].as_array().unwrap() {
        assert!(committed.contains(&format!("`{}`", rule["id"].as_str().unwrap())));
    }
}

#[test]
fn readme_states_the_catalog_size() {
    let n = load("catalog/controls.json")["rules"].as_array().unwrap().len();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains(&format!("catalog of {n} rules")), "README.md does not say the catalog has {n} rules");
}

/// docs/chart-facts.md and the code's table of the chart's raw-pasted values
/// (`render::helm::RAW_PASTED`) record the same facts: one row per values key,
/// naming the same option.
#[test]
fn chart_facts_doc_and_code_agree() {
    let doc = std::fs::read_to_string(root().join("docs/chart-facts.md")).unwrap();
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| `") && l.matches('|').count() >= 6).collect();
    for p in secure_mattermost::render::helm::RAW_PASTED {
        let key = format!("| `{}` |", p.values_key);
        let row = rows.iter().find(|r| r.starts_with(&key)).unwrap_or_else(|| panic!("docs/chart-facts.md has no row for {}", p.values_key));
        if !p.option.is_empty() {
            assert!(row.contains(&format!("`{}`", p.option)), "docs/chart-facts.md row for {} does not name option {}", p.values_key, p.option);
        }
    }
    for r in &rows {
        let key = r.trim_start_matches("| `").split('`').next().unwrap_or_default();
        let insertion = r.split('|').nth(3).unwrap_or_default().trim();
        if insertion.starts_with("raw") {
            assert!(
                secure_mattermost::render::helm::RAW_PASTED.iter().any(|p| p.values_key == key),
                "docs/chart-facts.md lists {key}, which RAW_PASTED does not"
            );
        }
    }
}
