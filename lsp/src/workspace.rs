//! The Adama files of the workspace folders, so that diagnostics appear for every file of a
//! project when the editor opens it, not only for the files the user opens.

use std::path::{Path, PathBuf};

/// Folders never searched: build output, dependencies and hidden folders.
const SKIPPED: &[&str] = &["target", "node_modules"];

/// At most this many files are loaded from a workspace.
pub const MAX_FILES: usize = 10_000;

/// Every `.a` file under `root`, in path order, without following symbolic links.
pub fn adama_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.') && !SKIPPED.contains(&name.as_ref()) {
                    pending.push(path);
                }
            } else if kind.is_file() && path.extension().is_some_and(|extension| extension == "a") {
                files.push(path);
                if files.len() >= MAX_FILES {
                    files.sort();
                    return files;
                }
            }
        }
    }
    files.sort();
    files
}
