//! The bytes of uploaded files, kept as files beside the database
//! (`DATA/assets/<document>/<asset id>`, the document's folder named by a digest of its name),
//! so that a file of any size is moved in by a rename and read back without passing through a
//! database transaction. The store's `asset_meta` table says which files exist: a file is
//! written (and made durable) before its entry, so an entry never names a missing file.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The folder of the data directory that holds uploaded files.
pub const ASSETS_DIR: &str = "assets";

#[derive(Debug, Clone)]
pub struct AssetFiles {
    root: PathBuf,
}

impl AssetFiles {
    pub fn new(data: &Path) -> AssetFiles {
        AssetFiles {
            root: data.join(ASSETS_DIR),
        }
    }

    /// A document's folder: names of documents may hold any character a key may, so the
    /// folder is named by a digest of it.
    fn folder(&self, document: &str) -> PathBuf {
        let digest = Sha256::digest(document.as_bytes());
        let name: String = digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.root.join(name)
    }

    /// The file of an asset; `None` for an id that is no asset id (ids are letters, digits,
    /// `-` and `_`), which keeps a crafted id from naming any other path.
    pub fn path(&self, document: &str, id: &str) -> Option<PathBuf> {
        let valid = !id.is_empty()
            && id.len() <= 128
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        valid.then(|| self.folder(document).join(id))
    }

    fn target(&self, document: &str, id: &str) -> std::io::Result<PathBuf> {
        let path = self.path(document, id).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("'{id}' is no asset id"),
            )
        })?;
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        Ok(path)
    }

    /// Writes an asset from bytes in memory, durably.
    pub fn write(&self, document: &str, id: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.target(document, id)?;
        let staged = path.with_extension("tmp");
        let mut file = std::fs::File::create(&staged)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        self.place(&staged, &path)
    }

    /// Moves a complete, durable file into place as an asset (a rename: `staged` must be on
    /// the same file system, in the data directory).
    pub fn adopt(&self, document: &str, id: &str, staged: &Path) -> std::io::Result<()> {
        let path = self.target(document, id)?;
        self.place(staged, &path)
    }

    fn place(&self, staged: &Path, path: &Path) -> std::io::Result<()> {
        match std::fs::rename(staged, path) {
            Ok(()) => {}
            // A staged file on another file system is copied (streamed, not read whole).
            Err(error) if error.kind() == std::io::ErrorKind::CrossesDevices => {
                let copied = path.with_extension("tmp");
                std::fs::copy(staged, &copied)?;
                std::fs::File::open(&copied)?.sync_all()?;
                std::fs::rename(&copied, path)?;
                std::fs::remove_file(staged)?;
            }
            Err(error) => return Err(error),
        }
        // The rename is durable once its folder is.
        if let Some(folder) = path.parent() {
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(())
    }

    /// An asset's bytes; `None` when there is no such file.
    pub fn read(&self, document: &str, id: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(document, id) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub fn remove(&self, document: &str, id: &str) -> std::io::Result<()> {
        let Some(path) = self.path(document, id) else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Removes the files of a document that `keep` does not name (every file of a deleted
    /// document, or those of a document deleted and given new files in the same commit), and
    /// its folder once empty.
    pub fn prune(&self, document: &str, keep: &HashSet<String>) -> std::io::Result<()> {
        let folder = self.folder(document);
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let mut left = false;
        for entry in entries {
            let entry = entry?;
            let kept = entry
                .file_name()
                .to_str()
                .is_some_and(|name| keep.contains(name));
            if kept {
                left = true;
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        if !left {
            match std::fs::remove_dir(&folder) {
                // A file written meanwhile keeps the folder.
                Err(error)
                    if !matches!(
                        error.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::DirectoryNotEmpty
                    ) =>
                {
                    return Err(error);
                }
                _ => {}
            }
        }
        Ok(())
    }
}
