//! `textDocument/references`, `documentHighlight`, `prepareRename` and `rename`: every place a
//! name refers to the same declaration as the name under the cursor.
//!
//! The name under the cursor is classified once ([`super::semantic::classify`]); its uses are
//! the occurrences the checker resolved to the same [`Definition`], so a local and a field of
//! the same spelling stay apart and a field read through `p.count` is found like `count`.

use std::ops::Range;

use adama_compiler::check::{Definition, Owner};
use adama_compiler::hir::{Decl, DispatchPattern, Expr, MessageMember};
use adama_compiler::queries::file_items;
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

/// Why renaming the name at `offset` to `new_name` would change what the program means, when it
/// would: an `id` that conversions or ingestion copy to or from a record's `id` (the key of its
/// rows), a message's `id unique` (only a field named `id` can be unique), and an enum label whose
/// new name enters or leaves a prefix pattern (`E::Pre*`).
pub fn rename_refusal(
    db: &dyn Db,
    file: SourceFile,
    offset: usize,
    new_name: &str,
) -> Option<String> {
    let (_, definition) = name_at(db, file, offset)?;
    match &definition {
        Definition::Field {
            owner: Owner::Message(message),
            name,
        } if name == "id" && unique_id(db, file, message) => Some(format!(
            "'id' is declared unique, which keys the rows of {message} in views; only a field named 'id' can be unique, so it keeps its name"
        )),
        Definition::Field { name, .. } if name == "id" => {
            let group = super::semantic::coupled(db, file, &definition);
            if group.len() < 2 {
                return None;
            }
            group.iter().find_map(|coupled| match coupled {
                Definition::Field {
                    owner: Owner::Record(record),
                    name,
                } if name == "id" => Some(format!(
                    "'id' is the key of the rows of {record}, and conversions and ingestion copy it by name; it keeps its name"
                )),
                _ => None,
            })
        }
        Definition::EnumLabel { enumeration, label } => enum_prefixes(db, file, enumeration)
            .into_iter()
            .find(|prefix| label.starts_with(prefix.as_str()) != new_name.starts_with(prefix.as_str()))
            .map(|prefix| {
                format!(
                    "the pattern {enumeration}::{prefix}* matches labels by their start; '{new_name}' would change which labels it matches"
                )
            }),
        _ => None,
    }
}

/// Whether a message declares its `id` field `unique`.
fn unique_id(db: &dyn Db, file: SourceFile, message: &str) -> bool {
    file_items(db, file).iter().any(|item| {
        let hir = item.hir(db);
        matches!(&hir.decl, Decl::Message(declared) if declared.name.name == message
            && declared.members.iter().any(|member| matches!(member,
                MessageMember::Field(field) if field.name.name == "id" && field.unique.is_some())))
    })
}

/// The prefixes of the `E::Pre*` patterns of an enumeration, in dispatchers and in code.
fn enum_prefixes(db: &dyn Db, file: SourceFile, enumeration: &str) -> Vec<String> {
    let mut prefixes = Vec::new();
    for item in file_items(db, file) {
        let hir = item.hir(db);
        if let Decl::Dispatch(dispatch) = &hir.decl
            && dispatch.enumeration.name == enumeration
            && let DispatchPattern::Prefix(prefix) = &dispatch.pattern
        {
            prefixes.push(prefix.name.clone());
        }
        for expr in &hir.body.exprs {
            if let Expr::EnumValue {
                enumeration: named,
                label: Some(prefix),
                prefix: true,
            } = &expr.expr
                && named.name == enumeration
            {
                prefixes.push(prefix.name.clone());
            }
        }
    }
    prefixes
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
