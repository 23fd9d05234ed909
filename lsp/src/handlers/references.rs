//! `textDocument/references`, `documentHighlight`, `prepareRename` and `rename`: every place a
//! name refers to the same declaration as the name under the cursor.
//!
//! The name under the cursor is classified once ([`super::semantic::classify`]); its uses are
//! the occurrences the checker resolved to the same [`Definition`], so a local and a field of
//! the same spelling stay apart and a field read through `p.count` is found like `count`.

use std::ops::Range;

use adama_compiler::check::Definition;
use adama_compiler::{Db, SourceFile};

use super::semantic::{classify, declaration, occurrences};

/// The declared name under the cursor that can be renamed: its range as written and its
/// definition.
pub fn name_at(db: &dyn Db, file: SourceFile, offset: usize) -> Option<(Range<usize>, Definition)> {
    let classified = classify(db, file, offset)?;
    declaration(db, file, &classified.definition)?;
    Some((classified.range, classified.definition))
}

/// The edits that rename the name at `offset` to `new_name`: every occurrence of it and of the
/// fields coupled with it by name; a shorthand field `{x}` keeps its field name (`{x: y}`).
pub fn rename_edits(
    db: &dyn Db,
    file: SourceFile,
    offset: usize,
    new_name: &str,
) -> Vec<(Range<usize>, String)> {
    let Some((_, definition)) = name_at(db, file, offset) else {
        return Vec::new();
    };
    let shorthand = super::semantic::shorthand_fields(db, file);
    let text = &adama_compiler::queries::parsed(db, file).text;
    let group = super::semantic::coupled(db, file, &definition);
    let mut edits: Vec<(Range<usize>, String)> =
        super::semantic::coupled_occurrences(db, file, &definition)
            .into_iter()
            .map(|(range, _)| {
                let replacement = match text.get(range.clone()) {
                    Some(old) if shorthand.contains(&range) => format!("{old}: {new_name}"),
                    _ => new_name.to_owned(),
                };
                (range, replacement)
            })
            .collect();
    // A shorthand `{x}` naming a renamed field keeps reading x: `{y: x}`.
    for range in super::semantic::shorthand_occurrences(db, file, &group) {
        if edits.iter().any(|(edited, _)| *edited == range) {
            continue;
        }
        if let Some(old) = text.get(range.clone()) {
            let replacement = format!("{new_name}: {old}");
            edits.push((range, replacement));
        }
    }
    edits.sort_by_key(|(range, _)| range.start);
    edits
}

/// Every range naming the same declaration as the name at `offset`, the declaration included,
/// in source order.
pub fn references(db: &dyn Db, file: SourceFile, offset: usize) -> Vec<Range<usize>> {
    let Some(classified) = classify(db, file, offset) else {
        return Vec::new();
    };
    if !classified.definition.is_declared() {
        return Vec::new();
    }
    occurrences(db, file, &classified.definition)
        .into_iter()
        .map(|(range, _)| range)
        .collect()
}
