//! Limits shared by every input path (`--input` JSON and `--config` Nix), so
//! the same declaration is refused the same way whichever way it arrives.

/// Deepest nesting of the evaluated document, counted as serde_json counts its
/// recursion limit: each object or array level, the outer document being 1.
/// Deeper input is refused with exit 2 before anything recurses into it.
pub const MAX_NESTING: usize = 128;

/// Largest declaration file read, in bytes: a `.nix` file (`--config`, and
/// each file it imports) or an evaluated JSON document (`--input`). Larger
/// input is refused with exit 2 without being read further, so `--input
/// /dev/zero` cannot exhaust memory.
pub const MAX_DECLARATION_BYTES: u64 = 16 * 1024 * 1024;
