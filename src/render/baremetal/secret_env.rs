//! secret-env.json: what `secure-mattermost launch` puts into the server's
//! environment (secrets from systemd credentials, every rule-checked setting
//! pinned). Built from the options' metadata by `render::env`.

use serde_json::Value;

use crate::document::Deployment;

pub fn render(d: &Deployment, config: &Value) -> String {
    crate::render::env::secret_spec_json(d, config)
}
