//! The evaluator's view of the catalog's secret and file-path rules: the
//! helper's one implementation (`crate::secrets`), so `--config` and
//! `--input` judge every value alike. The evaluator applies it while it
//! evaluates (to point at the line), and the helper applies it again to the
//! whole evaluated document.

pub(crate) use crate::secrets::{posix_match, Secrets};

use super::error::Result;

/// The shared rules, in the evaluator's error type (loading cannot fail at
/// run time: the catalog is compiled in and checked by tests).
pub(crate) fn get() -> Result<&'static Secrets> {
    Ok(Secrets::get())
}
