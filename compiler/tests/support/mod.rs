//! What the compiler's integration tests share: the programs of the corpus and the examples.

/// Every `.a` program of `tests/corpus` and the chat and counter examples, as (path, text), in
/// path order.
pub fn programs() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    for directory in [
        root.join("tests/corpus"),
        root.join("examples/chat"),
        root.join("examples/counter"),
    ] {
        let entries = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
        paths.extend(
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|extension| extension == "a")),
        );
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path.display().to_string(), text)
        })
        .collect()
}
