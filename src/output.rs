//! Writing to stdout and stderr without panicking: a closed pipe
//! (`secure-mattermost rules | head -1`) ends the output quietly, any other
//! write failure is an I/O error (exit 3).

use std::io::Write;

use crate::error::Error;

/// Writes `text` to stdout. A reader that went away is not an error.
pub fn stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}

/// Writes a line to stderr; failures are ignored (there is nowhere left to report them).
pub fn stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
