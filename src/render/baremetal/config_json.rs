//! Bare metal: the complete config.json (release defaults + hardening +
//! options + settings). It holds no secret: the DSN has no password and
//! secret keys are blank; secrets arrive as MM_* environment at start.

pub fn render(config: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(config).unwrap_or_default();
    s.push('\n');
    s
}
