//! `textDocument/documentSymbol`: the outline, one symbol per top-level declaration.

use adama_compiler::hir::Decl;
use adama_compiler::queries::{file_items, lowered};
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{
    DocumentSymbol, Location, OneOf, SymbolKind, Uri, WorkspaceSymbol,
};

use crate::convert::range_of;

/// The outline of a file.
pub fn document_symbols(db: &dyn Db, file: SourceFile, rope: &Rope) -> Vec<DocumentSymbol> {
    let lowered = lowered(db, file);
    file_items(db, file)
        .iter()
        .zip(&lowered.items)
        .map(|(item, lowered_item)| {
            let decl = &item.hir(db).decl;
            let range = range_of(rope, lowered_item.span(item.hir(db).node));
            let (name, selection_range) = match decl.name() {
                Some(name) if !name.name.is_empty() => (
                    name.name.clone(),
                    range_of(rope, lowered_item.span(name.node)),
                ),
                _ => (decl.kind().to_owned(), range),
            };
            #[allow(deprecated)]
            DocumentSymbol {
                name,
                detail: Some(decl.kind().to_owned()),
                kind: symbol_kind(decl),
                tags: None,
                deprecated: None,
                range,
                selection_range,
                children: None,
            }
        })
        .collect()
}

/// The top-level declarations of open files whose names contain `query` (ignoring case).
pub fn workspace_symbols(
    db: &dyn Db,
    files: &[(Uri, SourceFile, Rope)],
    query: &str,
) -> Vec<WorkspaceSymbol> {
    let query = query.to_lowercase();
    let mut symbols = Vec::new();
    for (uri, file, rope) in files {
        for symbol in document_symbols(db, *file, rope) {
            if symbol.name.to_lowercase().contains(&query) {
                symbols.push(WorkspaceSymbol {
                    name: symbol.name,
                    kind: symbol.kind,
                    tags: None,
                    container_name: symbol.detail,
                    location: OneOf::Left(Location::new(uri.clone(), symbol.range)),
                    data: None,
                });
            }
        }
    }
    symbols
}

fn symbol_kind(decl: &Decl) -> SymbolKind {
    match decl {
        Decl::Field(_) | Decl::View(_) => SymbolKind::FIELD,
        Decl::Formula(_) | Decl::Bubble(_) | Decl::Metric { .. } => SymbolKind::PROPERTY,
        Decl::Record(_) => SymbolKind::STRUCT,
        Decl::Message(_) => SymbolKind::INTERFACE,
        Decl::Enum(_) => SymbolKind::ENUM,
        Decl::Function(_) | Decl::Procedure(_) | Decl::Dispatch(_) => SymbolKind::FUNCTION,
        Decl::Channel(_) | Decl::AsyncChannel(_) | Decl::Rpc(_) | Decl::Web(_) => SymbolKind::EVENT,
        Decl::State { .. } => SymbolKind::ENUM_MEMBER,
        Decl::Service { .. } | Decl::Link { .. } => SymbolKind::MODULE,
        Decl::Test { .. } => SymbolKind::METHOD,
        _ => SymbolKind::OBJECT,
    }
}
