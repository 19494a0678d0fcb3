//! Publishing output files: nothing half-written is ever visible. Every output is written
//! to `<name>.part` beside its final name and renamed into place only when complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// An output file being written under a temporary `.part` name.
///
/// Dropping it without [`AtomicFile::commit`] removes the partial file, so a failed job
/// leaves no output behind; a killed job leaves only a `.part` that the next run replaces.
pub struct AtomicFile {
    part: PathBuf,
    target: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates `<target>.part` (mode 0600 on Unix: outputs can hold patient data).
    pub fn create(target: impl Into<PathBuf>) -> Result<AtomicFile> {
        let target = target.into();
        let part = part_path(&target);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&part).at(&part)?;
        Ok(AtomicFile { part, target, writer: Some(BufWriter::with_capacity(1 << 20, file)) })
    }

    /// The final path this file will have.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let writer = self.writer.take().expect("commit called once");
        let file = writer.into_inner().map_err(|e| e.into_error()).at(&self.part)?;
        file.sync_all().at(&self.part)?;
        drop(file);
        fs::rename(&self.part, &self.target).at(&self.target)?;
        Ok(std::mem::take(&mut self.target))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            // Best effort: the job already failed; a leftover .part is replaced next run.
            let _ = fs::remove_file(&self.part);
        }
    }
}

/// `<target>.part`, the name an output has while it is written.
pub fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    target.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_publishes_and_drop_discards() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept.txt");
        let mut f = AtomicFile::create(&kept).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!kept.exists(), "not visible before commit");
        f.commit().unwrap();
        assert_eq!(fs::read(&kept).unwrap(), b"hello");

        let dropped = dir.path().join("dropped.txt");
        let mut f = AtomicFile::create(&dropped).unwrap();
        f.write_all(b"partial").unwrap();
        drop(f);
        assert!(!dropped.exists());
        assert!(!part_path(&dropped).exists());
    }
}
