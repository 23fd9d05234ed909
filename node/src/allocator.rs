//! The allocator of the node's binaries, and how soon it gives freed memory back.

/// The allocator a node's process uses (`#[global_allocator]` in `adama` and `adama-load`).
/// The node allocates and frees small buffers for every frame of every socket; under load the
/// system allocator spent a sixth of the node's time consolidating and splitting free chunks,
/// and the node's CPU time per acknowledged send fell by about 40 % with this one.
pub use mimalloc::MiMalloc as Allocator;

/// Makes the allocator give freed memory back to the system at once, and keeps the process on
/// small pages. The node keeps the allocator's defaults (freed memory is kept a while for reuse,
/// which a busy node wants), but an editor's companions (`adama lsp`, `adama dap`) live for hours
/// beside other programs: with the default, the language server on a 10,000-line program peaked
/// at 187 MB, and at about 105 MB with immediate purging.
///
/// The allocator asks for transparent huge pages on its arenas, so every first touch of a freed
/// and purged 2 MB region faulted in and zeroed a whole huge page: the language server spent a
/// fifth of its time zeroing them after each keystroke, and held about 40 MB more. Small pages
/// bring it to about 65 MB.
#[allow(unsafe_code)]
pub fn return_freed_memory_at_once() {
    // The position of `mi_option_purge_delay` in mimalloc's `mi_option_e` (the same in versions 2
    // and 3; libmimalloc-sys 0.1.49, pinned in Cargo.lock, builds version 3).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; the position is an
    // option of the linked version, and 0 (purge without delay) is a valid value for it.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) }
    no_huge_pages();
}

/// Turns transparent huge pages off for the whole process, including the regions the allocator
/// already reserved (the kernel reads the flag at each fault). This is what mimalloc does itself
/// at start-up when `MIMALLOC_ALLOW_THP=0`, but its options are read before `main`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn no_huge_pages() {
    // SAFETY: `PR_SET_THP_DISABLE` takes one integer argument and changes only a flag of the
    // process; the unused arguments must be zero. A failure (an old kernel) leaves huge pages on,
    // which costs memory, not correctness.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn no_huge_pages() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The language server's memory depends on it: the process no longer takes huge pages.
    #[test]
    fn the_editor_side_setting_turns_huge_pages_off_for_the_process() {
        super::return_freed_memory_at_once();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        // Kernels before 6.x do not report the flag; there is nothing to check on them.
        if let Some(line) = status.lines().find(|line| line.starts_with("THP_enabled:")) {
            assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
        }
    }
}
