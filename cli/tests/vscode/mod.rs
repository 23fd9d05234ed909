//! The VS Code extension's sources, copied and installed for the tests that build it (the
//! extension's own test and the end-to-end test in a real VS Code).

use std::path::{Path, PathBuf};

use crate::npm::{clear_except_node_modules, npm};

/// The VS Code extension's folder in the repository.
pub fn extension_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode")
}

/// Lays out a copy of the extension in `work` (under the target folder, so that a test neither
/// races with nor leaves files in a developer's checkout) and installs its packages from the
/// lockfile. The copy keeps its node_modules while package-lock.json is unchanged: `npm ci` is
/// most of the time of a build, and a fresh clone (CI) always runs it.
pub fn extension_copy(work: &Path) {
    let lock = std::fs::read(extension_dir().join("package-lock.json")).unwrap_or_default();
    let stamp = work.join("node_modules/.installed-from-package-lock.json");
    let installed = std::fs::read(&stamp).is_ok_and(|installed| installed == lock);
    clear_except_node_modules(work);
    copy_sources(&extension_dir(), work);
    if !installed {
        npm(work, &["ci", "--no-audit", "--no-fund", "--prefer-offline"]);
        std::fs::write(&stamp, &lock).unwrap_or_else(|error| panic!("{error}"));
    }
}

/// Copies the extension's own files: everything but what npm and the build produce, and the
/// end-to-end test beside it.
fn copy_sources(from: &Path, to: &Path) {
    let entries = std::fs::read_dir(from).unwrap_or_else(|error| panic!("{error}"));
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let skipped = name == "node_modules" || name == "dist" || name.ends_with(".vsix");
        if skipped || (from == extension_dir() && name == "e2e") {
            continue;
        }
        let target = to.join(name.as_ref());
        if path.is_dir() {
            std::fs::create_dir_all(&target).unwrap_or_else(|error| panic!("{error}"));
            copy_sources(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|error| panic!("{error}"));
        }
    }
}
