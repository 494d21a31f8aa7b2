//! `secure-mattermost post-render --input DECL.json`: Helm's post-renderer
//! for the official chart. Helm gives the rendered manifests on stdin and
//! nothing else, so the declaration comes as an argument
//! (`--post-renderer-args`); it is checked as `check` checks it, and only a
//! passing Kubernetes declaration deployed with the chart is applied. The
//! hardened manifests go to stdout; any refusal writes nothing there
//! (exit 2; exit 1 when the declaration fails the policy).
//!
//! ```sh
//! helm install mattermost CHART -f values.yaml --post-renderer secure-mattermost \
//!   --post-renderer-args post-render --post-renderer-args --input --post-renderer-args DECL.json
//! ```

use std::io::Read;

use crate::document::{DeployWith, Deployment, Mode};
use crate::error::{exit, Error};
use crate::output;
use crate::render::kubernetes::post_render::{self, PostRenderError};

/// Reads the chart's output from stdin and writes it hardened to stdout.
pub fn run(d: &Deployment) -> Result<i32, Error> {
    if !matches!(d.mode, Mode::Kubernetes) || !matches!(d.kubernetes.deploy_with, DeployWith::Helm) {
        return Err(Error::Usage {
            detail: "post-render is Helm's post-renderer for the official chart: the declaration must have mode = \"kubernetes\" and kubernetes.deployWith = \"helm\"".into(),
        });
    }
    let text = read_stdin()?;
    let manifests = post_render::apply(d, &text)?;
    output::stdout(&manifests)?;
    Ok(exit::OK)
}

fn read_stdin() -> Result<String, Error> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(post_render::MAX_INPUT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("<stdin>", e))?;
    if bytes.len() > post_render::MAX_INPUT {
        return Err(PostRenderError::TooLarge { limit: post_render::MAX_INPUT }.into());
    }
    String::from_utf8(bytes).map_err(|e| PostRenderError::NotUtf8 { offset: e.utf8_error().valid_up_to() }.into())
}
