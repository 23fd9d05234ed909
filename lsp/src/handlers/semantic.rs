//! The one place where a position becomes a meaning.
//!
//! [`classify`] finds the name under the cursor among the checker's resolutions (each item's
//! `CheckedItem::names`) and returns the [`Definition`] it refers to. Definition, type
//! definition, references, highlight, rename, hover and completion all start from it, and find
//! declarations and uses by comparing definitions, never by spelling or by syntax kind.

use std::ops::Range;

use adama_compiler::check::{Definition, Resolved};
use adama_compiler::queries::{check_item, file_items, lowered, parsed};
use adama_compiler::{Db, SourceFile};

/// The name under a position and what it refers to.
#[derive(Debug, Clone)]
pub struct Classified {
    pub definition: Definition,
    /// The name as written (without the `#` of a state label).
    pub range: Range<usize>,
}

/// The resolved name whose range holds `offset` (a name's end counts, so a cursor just after a
/// name still finds it).
pub fn classify(db: &dyn Db, file: SourceFile, offset: usize) -> Option<Classified> {
    let index = adama_compiler::navigation::item_index_at(db, file, offset)?;
    let item = *file_items(db, file).get(index)?;
    let lowered_item = lowered(db, file).items.get(index)?;
    let text = &parsed(db, file).text;
    check_item(db, item)
        .names
        .iter()
        .filter_map(|resolved| {
            let range = name_range(text, lowered_item.span(resolved.node));
            (range.start <= offset && offset <= range.end).then_some((resolved, range))
        })
        .min_by_key(|(_, range)| range.end - range.start)
        .map(|(resolved, range)| Classified {
            definition: resolved.definition.clone(),
            range,
        })
}

/// The definitions that must keep the name of `definition`: itself, and the fields that code
/// couples with it by name (an ingestion or a conversion between two types), transitively.
pub fn coupled(db: &dyn Db, file: SourceFile, definition: &Definition) -> Vec<Definition> {
    let mut group = vec![definition.clone()];
    if !matches!(
        definition,
        Definition::Field { .. } | Definition::Local { .. }
    ) {
        return group;
    }
    let links: Vec<(Definition, Definition)> = file_items(db, file)
        .iter()
        .flat_map(|item| check_item(db, *item).links.iter().cloned())
        .collect();
    let mut grew = true;
    while grew {
        grew = false;
        for (a, b) in &links {
            for (known, other) in [(a, b), (b, a)] {
                if group.contains(known) && !group.contains(other) {
                    group.push(other.clone());
                    grew = true;
                }
            }
        }
    }
    group
}

/// Every occurrence of `definition` in the file, in source order: (range, is the declaration).
pub fn occurrences(
    db: &dyn Db,
    file: SourceFile,
    definition: &Definition,
) -> Vec<(Range<usize>, bool)> {
    occurrences_of(db, file, std::slice::from_ref(definition))
}

/// Every occurrence of `definition` and of the definitions coupled with it.
pub fn coupled_occurrences(
    db: &dyn Db,
    file: SourceFile,
    definition: &Definition,
) -> Vec<(Range<usize>, bool)> {
    occurrences_of(db, file, &coupled(db, file, definition))
}

/// The spans of the shorthand fields of object literals (`{x}` for `{x: x}`).
pub fn shorthand_fields(db: &dyn Db, file: SourceFile) -> Vec<Range<usize>> {
    let lowered = lowered(db, file);
    let mut found = Vec::new();
    for (item, lowered_item) in file_items(db, file).iter().zip(&lowered.items) {
        for expr in &item.hir(db).body.exprs {
            if let adama_compiler::hir::Expr::Object(fields) = &expr.expr {
                found.extend(
                    fields
                        .iter()
                        .filter(|field| field.value.is_none())
                        .map(|field| lowered_item.span(field.name.node)),
                );
            }
        }
    }
    found
}

/// The shorthand literal fields (`{x}`) that name one of `definitions` as a field.
pub fn shorthand_occurrences(
    db: &dyn Db,
    file: SourceFile,
    definitions: &[Definition],
) -> Vec<Range<usize>> {
    let lowered = lowered(db, file);
    let mut found = Vec::new();
    for (item, lowered_item) in file_items(db, file).iter().zip(&lowered.items) {
        found.extend(
            check_item(db, *item)
                .shorthand_fields
                .iter()
                .filter(|(_, definition)| definitions.contains(definition))
                .map(|(node, _)| lowered_item.span(*node)),
        );
    }
    found
}

fn occurrences_of(
    db: &dyn Db,
    file: SourceFile,
    definitions: &[Definition],
) -> Vec<(Range<usize>, bool)> {
    occurrences_in_items(db, file, definitions, |_| true)
}

/// The occurrences of `definitions` in the items whose text `searched` accepts.
fn occurrences_in_items(
    db: &dyn Db,
    file: SourceFile,
    definitions: &[Definition],
    searched: impl Fn(&str) -> bool,
) -> Vec<(Range<usize>, bool)> {
    let lowered = lowered(db, file);
    let text = &parsed(db, file).text;
    let mut found: Vec<(Range<usize>, bool)> = Vec::new();
    let local_item = match definitions {
        [Definition::Local { item, .. }] => Some(item),
        _ => None,
    };
    for (item, lowered_item) in file_items(db, file).iter().zip(&lowered.items) {
        // A local lives in one item: the others need not be checked to find its uses.
        if local_item.is_some_and(|key| *item.key(db) != **key) {
            continue;
        }
        let item_text = text
            .get(lowered_item.span(lowered_item.item.node))
            .unwrap_or("");
        if !searched(item_text) {
            continue;
        }
        found.extend(
            check_item(db, *item)
                .names
                .iter()
                .filter(|resolved: &&Resolved| definitions.contains(&resolved.definition))
                .map(|resolved| {
                    (
                        name_range(text, lowered_item.span(resolved.node)),
                        resolved.declaration,
                    )
                }),
        );
    }
    found.sort_by_key(|(range, _)| (range.start, range.end));
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

/// Where `definition` is declared: the first declaring occurrence.
pub fn declaration(db: &dyn Db, file: SourceFile, definition: &Definition) -> Option<Range<usize>> {
    if let Definition::Local { item: key, node } = definition {
        let index = file_items(db, file)
            .iter()
            .position(|item| *item.key(db) == **key)?;
        let lowered_item = lowered(db, file).items.get(index)?;
        return Some(name_range(&parsed(db, file).text, lowered_item.span(*node)));
    }
    if !definition.is_declared() {
        return None;
    }
    // Every occurrence of a declared name spells it as a word of its own, so only the items
    // whose text holds that word are checked: a hover while another item is broken checks a
    // few items, not all.
    let spelled = spelling(definition);
    occurrences_in_items(db, file, std::slice::from_ref(definition), |item_text| {
        spelled.is_none_or(|name| holds_word(item_text, name))
    })
    .into_iter()
    .find_map(|(range, declaration)| declaration.then_some(range))
}

/// Whether `word` occurs in `text` with no letter, digit or `_` right before or after it.
fn holds_word(text: &str, word: &str) -> bool {
    let part_of_name = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

/// The name every occurrence of a declared definition is written with (a state label's after
/// its `#`).
fn spelling(definition: &Definition) -> Option<&str> {
    match definition {
        Definition::Record(name)
        | Definition::Message(name)
        | Definition::Enum(name)
        | Definition::Channel(name)
        | Definition::State(name)
        | Definition::Filter(name)
        | Definition::View(name)
        | Definition::Template(name)
        | Definition::Service(name)
        | Definition::Assoc(name)
        | Definition::Cron(name)
        | Definition::Test(name)
        | Definition::Metric(name)
        | Definition::EnumLabel { label: name, .. }
        | Definition::Field { name, .. }
        | Definition::Method { name, .. }
        | Definition::Function { name, .. }
        | Definition::Dispatcher { name, .. }
        | Definition::Policy { name, .. }
        | Definition::ServiceMethod { name, .. }
        | Definition::Replication { name, .. } => Some(name),
        Definition::Local { .. }
        | Definition::Element(_)
        | Definition::Receiver
        | Definition::Library(_) => None,
    }
}

/// A name's range without the `#` a state label is written with.
fn name_range(text: &str, span: Range<usize>) -> Range<usize> {
    match text.get(span.clone()) {
        Some(written) if written.starts_with('#') => span.start + 1..span.end,
        _ => span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adama_compiler::Database;

    /// Every corpus program and example, as (path, text).
    fn programs() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let entries = |folder: std::path::PathBuf| {
            std::fs::read_dir(folder)
                .into_iter()
                .flatten()
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        };
        let examples = entries(root.join("examples")).flat_map(entries);
        let mut paths: Vec<std::path::PathBuf> = entries(root.join("tests/corpus"))
            .chain(examples)
            .filter(|path| path.extension().is_some_and(|extension| extension == "a"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(&path).ok()?;
                Some((path.display().to_string(), text))
            })
            .collect()
    }

    #[test]
    fn a_word_is_found_only_between_characters_that_cannot_continue_a_name() {
        assert!(holds_word("table<R1> t1;", "R1"));
        assert!(holds_word("#R1", "R1"));
        assert!(!holds_word("table<R12> t1;", "R1"));
        assert!(!holds_word("xR1", "R1"));
        assert!(!holds_word("R1_b", "R1"));
        assert!(holds_word("R12 R1", "R1"));
        assert!(holds_word("é R1é R1", "R1"));
    }

    #[test]
    fn declarations_found_in_the_items_that_spell_a_name_are_those_found_in_all_items() {
        let mut compared = 0;
        for (path, text) in programs() {
            let db = Database::default();
            let file = SourceFile::new(&db, path.clone(), text);
            let mut definitions: Vec<Definition> = file_items(&db, file)
                .iter()
                .flat_map(|item| check_item(&db, *item).names.iter())
                .map(|resolved| resolved.definition.clone())
                .filter(|definition| {
                    definition.is_declared() && !matches!(definition, Definition::Local { .. })
                })
                .collect();
            definitions.sort();
            definitions.dedup();
            for definition in definitions {
                let everywhere = occurrences(&db, file, &definition)
                    .into_iter()
                    .find_map(|(range, declaration)| declaration.then_some(range));
                assert_eq!(
                    declaration(&db, file, &definition),
                    everywhere,
                    "{path}: {definition:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 1000, "{compared} definitions compared");
    }
}
