//! Replacing an output directory so that a crash at any moment leaves either
//! the previous directory or the complete new one, never a mix.
//!
//! The new tree is built in a hidden sibling (`.NAME.tmp-XXXX`, same
//! filesystem, so the final step is a rename and never a copy), flushed with
//! one `syncfs(2)` instead of an `fsync` per file, and then swapped in with
//! `renameat2(RENAME_EXCHANGE)`: one atomic step even when the old directory
//! is not empty (plain `rename(2)` cannot replace a non-empty directory).
//! The parent is fsynced so the swap itself is durable, and the previous tree,
//! now under the hidden name, is removed.
//!
//! Concurrent runs on the same parent take an exclusive `flock` on the parent
//! directory (no lock file is left behind). Holding it, a run removes the
//! hidden siblings of the same output that an earlier, killed run left, so a
//! later run never trips over them.
//!
//! On a filesystem without `RENAME_EXCHANGE` the swap falls back to two
//! renames (old aside, new in). A crash between them leaves no directory at
//! the output path but the previous one beside it as `.NAME.old-XXXX`; the next
//! run puts it back before doing anything else.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Mode of the output directory; files get 0644 (less the umask).
const DIR_MODE: u32 = 0o755;

/// Replaces the directory `out` with one holding exactly `files`
/// (name, contents). Names are plain file names chosen by the renderers.
pub fn replace(out: &Path, files: &[(String, String)]) -> Result<(), Error> {
    let staged = stage(out)?;
    for (file, text) in files {
        staged.write(file, text)?;
    }
    staged.commit()
}

/// A new tree for `out` being written in its hidden sibling: files are
/// added as they are ready, and [`Staged::commit`] swaps the tree in.
/// Dropped without a commit, the sibling is removed and `out` is untouched.
pub struct Staged {
    parent_dir: File,
    parent: PathBuf,
    name: OsString,
    tmp: PathBuf,
    out: PathBuf,
    committed: bool,
}

/// Starts replacing `out`: takes the parent's lock, clears what killed runs
/// left, and creates the hidden sibling the new tree is written in.
pub fn stage(out: &Path) -> Result<Staged, Error> {
    let name = out
        .file_name()
        .filter(|n| *n != OsStr::new(".") && *n != OsStr::new(".."))
        .ok_or_else(|| Error::io(out, std::io::Error::new(std::io::ErrorKind::InvalidInput, "the output must name a directory, not `.`, `..` or `/`")))?
        .to_os_string();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if let Ok(m) = std::fs::metadata(&parent) {
        if !m.is_dir() {
            return Err(Error::io(&parent, std::io::Error::new(std::io::ErrorKind::NotADirectory, "the output's parent is not a directory")));
        }
    }
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let parent_dir = File::open(&parent).map_err(|e| Error::io(&parent, e))?;
    parent_dir.lock().map_err(|e| Error::io(&parent, e))?;

    recover(&parent, &name, out)?;
    match std::fs::symlink_metadata(out) {
        Ok(m) if !m.is_dir() => {
            return Err(Error::io(out, std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists and is not a directory; it was left as it is")))
        }
        _ => {}
    }

    let tmp = sibling(&parent, &name, "tmp");
    std::fs::DirBuilder::new().mode(0o700).create(&tmp).map_err(|e| Error::io(&parent, e))?;
    Ok(Staged { parent_dir, parent, name, tmp, out: out.to_path_buf(), committed: false })
}

impl Staged {
    /// Writes one file of the new tree.
    pub fn write(&self, file: &str, text: &str) -> Result<(), Error> {
        let p = self.tmp.join(file);
        let mut f = File::create(&p).map_err(|e| Error::io(&p, e))?;
        f.write_all(text.as_bytes()).map_err(|e| Error::io(&p, e))
    }

    /// Sets the tree's mode, flushes it to disk and swaps it in.
    pub fn commit(mut self) -> Result<(), Error> {
        seal(&self.tmp)?;
        let swapped = swap_in(&self.parent_dir, &self.parent, &self.name, &self.tmp, &self.out);
        // On success `swap_in` has removed the previous tree; on failure
        // `Drop` removes the sibling, whatever it holds by then.
        self.committed = swapped.is_ok();
        swapped
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Sets the directory's mode and flushes it all to disk.
fn seal(tmp: &Path) -> Result<(), Error> {
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(DIR_MODE)).map_err(|e| Error::io(tmp, e))?;
    let dir = File::open(tmp).map_err(|e| Error::io(tmp, e))?;
    // One flush of the filesystem holding the new tree: every file's data
    // and the directory entries, before anything points at it.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(Error::io(tmp, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Puts `tmp` at `out`: exchanged with the previous directory, or renamed
/// when there is none. The previous tree is removed afterwards.
fn swap_in(parent_dir: &File, parent: &Path, name: &OsStr, tmp: &Path, out: &Path) -> Result<(), Error> {
    let exists = out.symlink_metadata().is_ok();
    if !exists {
        std::fs::rename(tmp, out).map_err(|e| Error::io(out, e))?;
        return sync_dir(parent_dir, parent);
    }
    match exchange(tmp, out) {
        Ok(()) => {
            sync_dir(parent_dir, parent)?;
            // `tmp` now holds the previous tree.
            let _ = std::fs::remove_dir_all(tmp);
            Ok(())
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP)) => {
            let old = sibling(parent, name, "old");
            std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
            if let Err(e) = std::fs::rename(tmp, out) {
                let _ = std::fs::rename(&old, out);
                return Err(Error::io(out, e));
            }
            sync_dir(parent_dir, parent)?;
            let _ = std::fs::remove_dir_all(&old);
            Ok(())
        }
        Err(e) => Err(Error::io(out, e)),
    }
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let a = c_path(a)?;
    let b = c_path(b)?;
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn c_path(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn sync_dir(dir: &File, path: &Path) -> Result<(), Error> {
    dir.sync_all().map_err(|e| Error::io(path, e))
}

/// What a killed run left beside `out`: the previous tree set aside by the
/// two-rename fallback goes back when `out` is missing; every other hidden
/// sibling of this output is removed.
fn recover(parent: &Path, name: &OsStr, out: &Path) -> Result<(), Error> {
    let entries = match std::fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) => return Err(Error::io(parent, e)),
    };
    let tmp_prefix = prefix(name, "tmp");
    let old_prefix = prefix(name, "old");
    let mut leftovers: Vec<(bool, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let n = entry.file_name();
        let b = n.as_bytes();
        if b.starts_with(old_prefix.as_bytes()) {
            leftovers.push((true, entry.path()));
        } else if b.starts_with(tmp_prefix.as_bytes()) {
            leftovers.push((false, entry.path()));
        }
    }
    if out.symlink_metadata().is_err() {
        if let Some((_, old)) = leftovers.iter().find(|(is_old, _)| *is_old) {
            std::fs::rename(old, out).map_err(|e| Error::io(out, e))?;
        }
    }
    for (_, p) in leftovers {
        if p.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p)).map_err(|e| Error::io(&p, e))?;
        }
    }
    Ok(())
}

fn prefix(name: &OsStr, kind: &str) -> OsString {
    let mut p = OsString::from(".");
    p.push(name);
    p.push(format!(".{kind}-"));
    p
}

fn sibling(parent: &Path, name: &OsStr, kind: &str) -> PathBuf {
    let mut bytes = [0u8; 8];
    let random = File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    let tag: String = match random {
        Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => format!("{}-{:x}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)),
    };
    let mut n = prefix(name, kind);
    n.push(tag);
    parent.join(n)
}
