//! Every catalog rule has a fixture (tests/fixtures/rules/<id>.json) with a
//! bad patch that makes exactly that rule fail (or, for rules that need a
//! site value, turn advisory) and a good patch under which it holds.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn every_rule_has_a_fixture_and_each_fixture_isolates_its_rule() {
    let catalog = load("catalog/controls.json");
    let rules = catalog["rules"].as_array().expect("rules");
    let mut problems = Vec::new();
    for rule in rules {
        let id = rule["id"].as_str().expect("id");
        let path = root().join(format!("tests/fixtures/rules/{id}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{id}: no fixture at {}", path.display()));
            continue;
        };
        let fx: Value = serde_json::from_str(&text).expect("fixture JSON");
        let base_doc = base(fx["base"].as_str().expect("base"));

        // Good: the rule holds (pass or not applicable would hide a broken fixture: require pass/waived-free).
        let (r, out) = check_json(&patched(base_doc.clone(), &fx["good"]));
        match out {
            Some(o) if r.code == 0 => {
                let got = outcome_of(&o, id);
                if got != "pass" {
                    problems.push(format!("{id}: good fixture gives {got}, expected pass"));
                }
            }
            _ => problems.push(format!("{id}: good fixture exit {} stderr {}", r.code, r.stderr)),
        }

        // Bad: exactly this rule fails (or is advisory / blocked as a conflict).
        let want = fx["badOutcome"].as_str().expect("badOutcome");
        if rule["structural"] == true && want != "structural" {
            problems.push(format!("{id}: marked structural, so its fixture's badOutcome must be \"structural\""));
        }
        let (r, out) = check_json(&patched(base_doc, &fx["bad"]));
        match (want, out) {
            ("structural", _) => {
                // Only the declaration's structure can stop it: the bad patch is refused as input.
                if rule["structural"] != true {
                    problems.push(format!("{id}: a structural fixture for a rule not marked \"structural\" in the catalog"));
                }
                if r.code != 2 || !r.stderr.contains("sm::input::") {
                    problems.push(format!("{id}: expected the structure to refuse the bad patch (exit 2), got {} {}", r.code, r.stderr));
                }
            }
            ("advisory", Some(o)) => {
                if r.code != 0 || outcome_of(&o, id) != "advisory" || !failing_rules(&o).is_empty() {
                    problems.push(format!("{id}: expected advisory only, got exit {} outcome {}", r.code, outcome_of(&o, id)));
                }
            }
            (want, Some(o)) => {
                let failing = failing_rules(&o);
                if r.code != 1 || failing != vec![id.to_string()] || outcome_of(&o, id) != want {
                    problems.push(format!("{id}: expected exactly [{id}] to be {want} (exit 1), got exit {} failing {failing:?}", r.code));
                }
            }
            (_, None) => problems.push(format!("{id}: bad fixture gave no outcomes: exit {} {}", r.code, r.stderr)),
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn control_ids_are_sp800_53_rev5_identifiers() {
    let list = serde_json::from_str::<Value>(
        &std::fs::read_to_string(root().join("../shared/reference/sp800-53r5-controls.json"))
            .expect("../shared/reference/sp800-53r5-controls.json (shared/ sits beside the repo)"),
    )
    .expect("json");
    let known: std::collections::HashSet<&str> = list["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter(|c| c["withdrawn"] == false)
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(known.len() > 1000);
    let catalog = load("catalog/controls.json");
    for rule in catalog["rules"].as_array().expect("rules") {
        let controls = rule["controls"].as_array().expect("controls");
        assert!(!controls.is_empty(), "{} has no controls", rule["id"]);
        for c in controls {
            let c = c.as_str().expect("str");
            assert!(known.contains(c), "{}: {c} is not a current SP 800-53 rev5 control id", rule["id"]);
        }
    }
}
