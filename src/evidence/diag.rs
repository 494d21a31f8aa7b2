//! Refusals of the evidence commands as diagnostics, carried in the
//! crate's `Error` (exit 2 for bad input or usage, 3 for I/O).

use crate::error::Error;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(sm::evidence))]
pub struct EvidenceError {
    pub message: String,
    #[help]
    pub help: Option<String>,
}

/// Bad input, usage or an unreachable tool (exit 2).
pub fn bad_input(message: impl Into<String>, help: Option<&str>) -> Error {
    Error::Eval(Box::new(EvidenceError { message: message.into(), help: help.map(str::to_string) }))
}

/// A file or directory that cannot be read or written (exit 3).
pub fn io(path: &std::path::Path, detail: impl std::fmt::Display) -> Error {
    Error::Io { path: path.display().to_string(), detail: detail.to_string() }
}

/// Finds a tool: the explicit path, else PATH, else ~/go/bin (where
/// `go install` puts it).
pub fn find_tool(explicit: Option<&std::path::Path>, name: &str) -> Option<std::path::PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(std::path::PathBuf::from(home).join("go/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}
