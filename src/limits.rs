//! Limits shared by every input path (`--input` JSON and `--config` Nix), so
//! the same declaration is refused the same way whichever way it arrives.

/// Deepest nesting of the evaluated document, counted as serde_json counts its
/// recursion limit: each object or array level, the outer document being 1.
/// Deeper input is refused with exit 2 before anything recurses into it.
pub const MAX_NESTING: usize = 128;
