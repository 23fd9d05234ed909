//! A file being uploaded, written to a temporary file in the data directory as its chunks
//! arrive (`DATA/uploads/<random>.part`) and hashed on the way, so that an upload costs the
//! node one chunk of memory whatever its size. Once complete it is moved (renamed, never
//! copied) into the store's attachments; a file dropped before that, because the upload failed
//! or its socket closed, is deleted.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use md5::{Digest as _, Md5};
use sha2::Sha384;

use crate::protocol::codes;

/// The folder of the data directory that holds uploads under way.
pub const UPLOADS_DIR: &str = "uploads";

/// A temporary file, deleted when dropped unless it was handed to the store.
#[derive(Debug)]
struct TempPath {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.keep
            && let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "an unfinished upload's file cannot be deleted");
        }
    }
}

/// What is known of an upload's bytes once they are all in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    /// Lower-case hex.
    pub md5: String,
    pub sha384: String,
}

/// An upload receiving its bytes.
pub struct StagedUpload {
    temp: TempPath,
    file: std::fs::File,
    size: u64,
    limit: u64,
    md5: Md5,
    sha384: Sha384,
}

impl std::fmt::Debug for StagedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StagedUpload({}, {} bytes)",
            self.temp.path.display(),
            self.size
        )
    }
}

impl StagedUpload {
    /// A new empty upload in `DATA/uploads`, which may grow to `limit` bytes.
    pub fn create(data: &Path, limit: u64) -> std::io::Result<StagedUpload> {
        let dir = data.join(UPLOADS_DIR);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.part", crate::identity::random_token()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(StagedUpload {
            temp: TempPath { path, keep: false },
            file,
            size: 0,
            limit,
            md5: Md5::new(),
            sha384: Sha384::new(),
        })
    }

    /// Appends a chunk: 404102 when the upload would pass its limit, 404103 when the disk
    /// refuses it. Either way the upload is over (drop it, and its file goes).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), i32> {
        let size = self.size.saturating_add(chunk.len() as u64);
        if size > self.limit {
            return Err(codes::UPLOAD_TOO_LARGE);
        }
        if let Err(error) = self.file.write_all(chunk) {
            tracing::error!(path = %self.temp.path.display(), %error, "an upload cannot be written");
            return Err(codes::UPLOAD_NOT_STORED);
        }
        self.md5.update(chunk);
        self.sha384.update(chunk);
        self.size = size;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the bytes durable (blocking: call it off the async threads) and gives the file,
    /// ready to be moved into the store, with its digests.
    pub fn seal(self) -> std::io::Result<(SealedUpload, Digests)> {
        let StagedUpload {
            temp,
            file,
            size,
            md5,
            sha384,
            ..
        } = self;
        file.sync_all()?;
        drop(file);
        let digests = Digests {
            size,
            md5: hex(&md5.finalize()),
            sha384: hex(&sha384.finalize()),
        };
        Ok((SealedUpload { temp }, digests))
    }
}

/// A complete upload on disk, waiting to be moved into the store; deleted if dropped first.
#[derive(Debug)]
pub struct SealedUpload {
    temp: TempPath,
}

impl SealedUpload {
    pub fn path(&self) -> &Path {
        &self.temp.path
    }

    /// The store took the file (renamed it away): nothing is left to delete.
    pub fn taken(mut self) {
        self.temp.keep = true;
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Deletes what uploads under way when the node last stopped left behind; called at start,
/// before any upload begins. Answers how many files went.
pub fn clear_leftovers(data: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(data.join(UPLOADS_DIR)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| entry.path().extension().and_then(|ext| ext.to_str()) == Some("part"))
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::{StagedUpload, UPLOADS_DIR, clear_leftovers};

    fn files(data: &std::path::Path) -> usize {
        std::fs::read_dir(data.join(UPLOADS_DIR))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }

    #[test]
    fn an_upload_is_hashed_as_it_is_written_and_its_file_goes_unless_taken() {
        let data = tempfile::tempdir().expect("a data directory");
        let mut upload = StagedUpload::create(data.path(), 10).expect("created");
        upload.write(b"hello ").expect("written");
        upload.write(b"you").expect("written");
        assert_eq!(
            upload.write(b"!!"),
            Err(crate::protocol::codes::UPLOAD_TOO_LARGE)
        );
        assert_eq!(upload.size(), 9, "a refused chunk is not counted");
        let (sealed, digests) = upload.seal().expect("sealed");
        assert_eq!(digests.size, 9);
        assert_eq!(digests.md5, "abda3ee1b7f247c57721a93a19aed807");
        assert_eq!(std::fs::read(sealed.path()).expect("read"), b"hello you");
        drop(sealed);
        assert_eq!(files(data.path()), 0, "a dropped upload leaves no file");

        let upload = StagedUpload::create(data.path(), 10).expect("created");
        drop(upload);
        assert_eq!(files(data.path()), 0);

        let (sealed, _) = StagedUpload::create(data.path(), 10)
            .expect("created")
            .seal()
            .expect("sealed");
        let path = sealed.path().to_owned();
        sealed.taken();
        assert!(path.exists(), "a taken file is the store's");
        assert_eq!(clear_leftovers(data.path()), 1);
        assert_eq!(files(data.path()), 0);
    }
}
