//! The built-in evaluator: reads a deployment declaration written in Nix and
//! produces the document `modules/standalone.nix` would (`.evaluated`),
//! without Nix installed.
//!
//! It implements the subset of Nix declarations use (attribute sets, `let`,
//! `rec`, `inherit`, `with`, strings, functions, `imports`, …) and the parts
//! of nixpkgs' module system the module's option types need. Options, types
//! and defaults come from `modules/options-schema.json`, generated from the
//! module by real Nix (`scripts/gen-options-schema.sh`). Anything outside the
//! subset is refused with a diagnostic, never answered differently.

mod ast;
mod document;
mod error;
mod eval;
mod literals;
mod lower;
mod merge;
mod modules;
mod prescan;
mod prims;
mod schema;
mod secrets;
mod source;
mod value;

use std::path::Path;

pub use error::{ErrorKind, Location, NixEvalError, Snippet};

/// Evaluates the declaration in `path` (a module, possibly importing others)
/// to the evaluated document, as `(import modules/standalone.nix { … }).evaluated`.
pub fn evaluate_file(path: &Path) -> Result<serde_json::Value, NixEvalError> {
    let path = std::path::absolute(path).map_err(|e| NixEvalError::io(path, &e))?;
    let path = lower::canonicalize_lexically(&path);
    // Deeply nested declarations recurse deeply: give them room, and keep
    // even an unexpected panic from reaching the caller.
    let worker = std::thread::Builder::new()
        .name("nixeval".into())
        .stack_size(256 * 1024 * 1024)
        .spawn(move || evaluate(&path));
    match worker {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|_| Err(NixEvalError::internal())),
        // Not a file's fault: the OS refused a thread.
        Err(_) => Err(NixEvalError::internal()),
    }
}

fn evaluate(path: &Path) -> Result<serde_json::Value, NixEvalError> {
    // The schema first: `render` and `check` load the catalog and its
    // secret patterns on another thread meanwhile.
    let schema = schema::Schema::get().map_err(|e| e.into_public(&source::SourceMap::default()))?;
    let secrets =
        secrets::get().map_err(|e| e.into_public(&source::SourceMap::default()))?;
    let mut eval = eval::Eval::new(secrets, schema);
    let result = eval
        .top_level_system(path)
        .and_then(|sys| eval.document(&sys));
    result.map_err(|e| e.into_public(&eval.sources))
}
