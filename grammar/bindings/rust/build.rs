//! Compiles the committed, generated parser (and the hand-written external scanner) with `cc`,
//! so building the grammar never needs the tree-sitter CLI or node.

fn main() {
    let src_dir = std::path::Path::new("src");

    let mut c_config = cc::Build::new();
    c_config.std("c11").include(src_dir);
    // The generated parser trips a few warnings that say nothing about our code.
    c_config.flag_if_supported("-Wno-unused-parameter");
    c_config.flag_if_supported("-Wno-unused-but-set-variable");
    c_config.flag_if_supported("-Wno-trigraphs");

    let parser_path = src_dir.join("parser.c");
    c_config.file(&parser_path);
    println!(
        "cargo:rerun-if-changed={}",
        parser_path.to_str().unwrap_or("src/parser.c")
    );

    let scanner_path = src_dir.join("scanner.c");
    if scanner_path.exists() {
        c_config.file(&scanner_path);
        println!(
            "cargo:rerun-if-changed={}",
            scanner_path.to_str().unwrap_or("src/scanner.c")
        );
    }

    c_config.compile("tree-sitter-adama");
}
