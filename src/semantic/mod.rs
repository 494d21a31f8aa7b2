//! Values judged the way the pinned Mattermost server (11.4.0, built with Go
//! 1.26 and lib/pq v1.10.9) reads them, rather than the way they look.
//!
//! Everything here is a pure function: no I/O, no environment (callers pass
//! one explicitly where the server would read it), no panics. Each function
//! names the behaviour it mirrors; tests/oracle.rs checks them against
//! `tools/oracle`, a Go program built with the server's own module set.

pub mod dsn;
pub mod net;
