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
