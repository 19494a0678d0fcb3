//! Where a job's files live: a local folder or an SFTP folder, behind one interface.
//!
//! INTERFACE SKELETON: the trait is the contract between `jobs` (the run) and the
//! transports (`local`, `sftp`). Names are relative to the job's source folder, one level
//! deep at most (`archive/<name>`); [`check_name`] refuses anything else.

use std::path::Path;
use std::time::SystemTime;

use crate::error::{Error, Result};

/// One file in a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name, no directory part.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, as the server reports it (SFTP: whole seconds).
    pub modified: SystemTime,
}

/// A job's source (and output) folder.
pub trait Transport {
    /// Regular files directly in `dir` ("" for the source folder itself), sorted by name.
    fn list(&mut self, dir: &str) -> Result<Vec<RemoteFile>>;
    /// Copies `name` to the local file `to` (which the caller stages and cleans up).
    fn download(&mut self, name: &str, to: &Path) -> Result<()>;
    /// Publishes the local file `from` as `name`: written as `name.part`, then renamed, so
    /// that `name` is never seen half-written; created with owner-only permissions. An
    /// existing `name` is an error (OpenSSH refuses to rename onto one).
    fn publish(&mut self, from: &Path, name: &str) -> Result<()>;
    /// Renames `from` to `to` within the folder (archiving: `archive/<name>`).
    fn rename(&mut self, from: &str, to: &str) -> Result<()>;
    /// Removes a file (a stale `.part` left by a killed run).
    fn remove(&mut self, name: &str) -> Result<()>;
    /// Creates the sub-folder `dir` if it is missing.
    fn ensure_dir(&mut self, dir: &str) -> Result<()>;
    /// Whether `name` exists.
    fn exists(&mut self, name: &str) -> Result<bool>;
}

/// Refuses a name that is not one plain file name, or one sub-folder and a file name
/// (`archive/<name>`): no absolute paths, no `..`, no control characters, nothing empty.
pub fn check_name(name: &str) -> Result<()> {
    let refuse = |reason| Err(Error::UnsafeName { name: name.to_owned(), reason });
    if name.chars().any(char::is_control) {
        return refuse("control character");
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 2 {
        return refuse("more than one folder level");
    }
    for part in parts {
        match part {
            "" => return refuse("empty path component"),
            "." | ".." => return refuse("relative path component"),
            _ if part.contains('\\') => return refuse("backslash"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_that_could_escape_the_folder_are_refused() {
        for ok in ["A_CLIENT.txt", "archive/A_CLIENT.txt", "x.part", ".done"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in
            ["", "/etc/passwd", "../x", "a/../b", "a/b/c", "a\nb", "a\u{7f}", "a//b", "..", "a\\b"]
        {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
