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
    /// The registry database refused an operation.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer cairdx whose schema this one does not know.
    #[error(
        "{path}: registry schema version {found} is newer than this cairdx supports ({supported})"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: u32,
        /// The newest version this build can migrate to.
        supported: u32,
    },
    /// A patient insert named a registry id that is already taken.
    #[error("registry id {registry_id} already exists")]
    DuplicateRegistryId {
        /// The registry id.
        registry_id: i64,
    },
    /// A dose names a registry id that no patient has.
    #[error("no patient with registry id {registry_id}")]
    UnknownPatient {
        /// The registry id.
        registry_id: i64,
    },
    /// A CSV file that the csv crate cannot read (the error carries the position).
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The csv crate's error, with line and byte position.
        source: csv::Error,
    },
    /// A snapshot header that cannot be used: a required column is missing or doubled.
    #[error("{path}: column {column:?}: {reason}")]
    SnapshotHeader {
        /// The snapshot file.
        path: PathBuf,
        /// The column name concerned.
        column: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A Parquet snapshot that polars cannot read or write.
    #[cfg(feature = "parquet")]
    #[error("{path}: {source}")]
    Parquet {
        /// The snapshot file.
        path: PathBuf,
        /// polars' error.
        source: polars::error::PolarsError,
    },
    /// A snapshot row with an unusable value. The value itself is not repeated: it may be PHI.
    #[error("{path}:{line}: column {column}: {reason}")]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line of the record (the header is line 1).
        line: u64,
        /// The column whose value is bad.
        column: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// A file name from a folder listing or a job that could escape the job's folder.
    #[error("refused file name {name:?}: {reason}")]
    UnsafeName {
        /// The name, with control characters escaped by `Debug`.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
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

/// Adds the database path to a `rusqlite::Result`.
pub trait SqlContext<T> {
    /// Maps the SQLite error to [`Error::Sqlite`] naming the database `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Sqlite { path: path.into(), source })
    }
}

/// Adds the file path to a `csv::Result`.
pub trait CsvContext<T> {
    /// Maps the csv error to [`Error::Csv`] naming `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> CsvContext<T> for csv::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Csv { path: path.into(), source })
    }
}
