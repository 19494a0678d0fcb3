//! Fatal errors: what stops a job (I/O, bad arguments, invalid specs). Data-quality
//! findings on records are not errors; they are [`crate::finding::Finding`] values.

use std::io;
use std::path::PathBuf;

use crate::spec::SpecErrors;

/// Result with the crate's fatal [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure that stops a command. Each variant names where it happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// One or more spec files are invalid; every mistake is listed.
    #[error("{0}")]
    Spec(SpecErrors),
    /// An encoding label that encoding_rs does not know.
    #[error("unknown encoding label {label:?} (use a WHATWG label such as windows-1252, utf-8, utf-16le)")]
    UnknownEncoding {
        /// The label as given.
        label: String,
    },
    /// A command-line value that is well-formed but unusable.
    #[error("invalid argument {flag}: {reason}")]
    Argument {
        /// The flag, e.g. `--sending-facility`.
        flag: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// A layout name that is not in `specs/layouts/`.
    #[error("unknown layout {name:?}; known layouts: {known}")]
    UnknownLayout {
        /// The name asked for.
        name: String,
        /// The names that exist, comma separated.
        known: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

/// Adds the path to an `io::Result`.
pub trait IoContext<T> {
    /// Maps the I/O error to [`Error::Io`] naming `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::io(path, source))
    }
}
