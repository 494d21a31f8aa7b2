//! `post-render`: the chart's output as Helm gives it on stdin. The first
//! byte picks the declaration (post-render-declarations.json over
//! examples/kubernetes.json), the rest is the manifests' text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use secure_mattermost::document::{self, Document};
use secure_mattermost::error::Error;
use secure_mattermost::render::kubernetes::post_render;
use secure_mattermost_fuzz as common;

fn declarations() -> &'static Vec<Document> {
    static DECLS: OnceLock<Vec<Document>> = OnceLock::new();
    DECLS.get_or_init(|| {
        let n = serde_json::from_str::<Vec<serde_json::Value>>(common::POST_RENDER_DECLARATIONS).expect("declarations").len();
        (0..n as u8)
            .map(|i| document::from_value(common::post_render_declaration(i), "post-render-declarations.json").expect("a valid declaration").0)
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    common::init();
    let Some((&selector, rest)) = data.split_first() else { return };
    let decls = declarations();
    let d = &decls[selector as usize % decls.len()].secure_mattermost;
    // As the command reads stdin: at most MAX_INPUT bytes of UTF-8.
    if rest.len() > post_render::MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match post_render::apply(d, text) {
        Ok(out) => {
            // What it writes is YAML that reads back as Kubernetes objects.
            for de in serde_yaml_ng::Deserializer::from_str(&out) {
                let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(de).expect("post-render wrote invalid YAML");
                assert!(v.is_null() || v.get("kind").is_some(), "post-render wrote a document that is not an object");
            }
        }
        Err(e) => common::refused(Error::from(e), "post_render::apply"),
    }
});
