//! Every declared name of every corpus program and example, renamed through the server at each
//! of its occurrences: the edits are the same from every occurrence, go-to-definition answers
//! there, and the renamed program still checks clean.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adama_compiler::check::Definition;
use adama_compiler::queries::{check_item, diagnostics, file_items, lowered};
use adama_compiler::{Database, LineIndex, Severity, SourceFile};
use common::Harness as Server;
use serde_json::{Value, json};

fn programs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join("tests/corpus"))
        .unwrap_or_else(|error| panic!("the corpus: {error}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with("_success.a"))
        })
        .collect();
    for example in std::fs::read_dir(root.join("examples"))
        .unwrap_or_else(|error| panic!("the examples: {error}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
    {
        if let Ok(entries) = std::fs::read_dir(&example) {
            found.extend(
                entries
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|path| path.extension().is_some_and(|extension| extension == "a")),
            );
        }
    }
    found.sort();
    found
}

fn errors(text: &str) -> Vec<String> {
    let db = Database::default();
    let file = SourceFile::new(&db, "renamed.a".to_owned(), text.to_owned());
    diagnostics(&db, file)
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| {
            format!(
                "{}..{}: {}",
                diagnostic.range.start, diagnostic.range.end, diagnostic.message
            )
        })
        .collect()
}

/// Every declared definition of a program with the byte ranges of its occurrences.
fn declared(text: &str) -> BTreeMap<Definition, Vec<std::ops::Range<usize>>> {
    let db = Database::default();
    let file = SourceFile::new(&db, "doc.a".to_owned(), text.to_owned());
    let lowered = lowered(&db, file);
    let mut occurrences: BTreeMap<Definition, Vec<std::ops::Range<usize>>> = BTreeMap::new();
    let mut declared: Vec<Definition> = Vec::new();
    for (item, lowered_item) in file_items(&db, file).iter().zip(&lowered.items) {
        for resolved in check_item(&db, *item).names.iter() {
            let mut span = lowered_item.span(resolved.node);
            if text
                .get(span.clone())
                .is_some_and(|name| name.starts_with('#'))
            {
                span.start += 1;
            }
            // Names the program writes only: implied ones (the `self` of a dispatcher) have none.
            if text.get(span.clone()).is_none_or(str::is_empty) {
                continue;
            }
            if resolved.declaration {
                declared.push(resolved.definition.clone());
            }
            occurrences
                .entry(resolved.definition.clone())
                .or_default()
                .push(span);
        }
    }
    occurrences.retain(|definition, _| declared.contains(definition));
    occurrences
}

fn position(index: &LineIndex, text: &str, offset: usize) -> Value {
    let position = index.position_utf16(text, offset);
    json!({"line": position.line, "character": position.character})
}

/// The edits of a rename response, as (start, end) byte offsets and new text, sorted.
fn edits(
    index: &LineIndex,
    text: &str,
    response: &Value,
    uri: &str,
) -> Vec<(usize, usize, String)> {
    let mut found: Vec<(usize, usize, String)> = response["changes"][uri]
        .as_array()
        .map(|edits| {
            edits
                .iter()
                .map(|edit| {
                    let offset = |point: &Value| {
                        let line = point["line"].as_u64().unwrap_or(0) as usize;
                        let character = point["character"].as_u64().unwrap_or(0) as usize;
                        let start = index.line_range(text, line).start;
                        let mut units = 0;
                        let mut offset = start;
                        for character_here in text[start..].chars() {
                            if units >= character {
                                break;
                            }
                            units += character_here.len_utf16();
                            offset += character_here.len_utf8();
                        }
                        offset
                    };
                    (
                        offset(&edit["range"]["start"]),
                        offset(&edit["range"]["end"]),
                        edit["newText"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn apply(text: &str, edits: &[(usize, usize, String)]) -> String {
    let mut result = text.to_owned();
    for (start, end, new_text) in edits.iter().rev() {
        result.replace_range(*start..*end, new_text);
    }
    result
}

fn new_name(old: &str) -> String {
    if old.starts_with(|character: char| character.is_ascii_uppercase()) {
        format!("Renamed{old}")
    } else {
        format!("renamed_{old}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_name_renames_at_every_occurrence_and_still_checks() {
    let mut server = Server::start().await;
    let mut failures: Vec<String> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut renamed = 0usize;
    let mut positions = 0usize;
    for (number, path) in programs().iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if !errors(&text).is_empty() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let uri = format!("file:///program{number}.a");
        server
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "adama", "version": 1, "text": text}}),
            )
            .await;
        let index = LineIndex::new(&text);
        for (definition, occurrences) in declared(&text) {
            let mut expected: Option<Vec<(usize, usize, String)>> = None;
            for occurrence in &occurrences {
                positions += 1;
                let old = &text[occurrence.clone()];
                let at = json!({"textDocument": {"uri": uri}, "position": position(&index, &text, occurrence.start)});
                let target = server.request("textDocument/definition", at.clone()).await;
                if target.is_null() {
                    failures.push(format!(
                        "{name}: no definition for {definition:?} at {occurrence:?}"
                    ));
                }
                let mut rename = at.clone();
                rename["newName"] = json!(new_name(old));
                let response = match server.try_request("textDocument/rename", rename).await {
                    Ok(response) => response,
                    Err(reason) => {
                        refused.push(format!("{name}: {definition:?}"));
                        assert!(!reason.is_empty(), "a refusal says why");
                        continue;
                    }
                };
                let found = edits(&index, &text, &response, &uri);
                match &expected {
                    None => expected = Some(found),
                    Some(first) if *first != found => failures.push(format!(
                        "{name}: renaming {definition:?} at {occurrence:?} edits {found:?}, elsewhere {first:?}"
                    )),
                    Some(_) => {}
                }
            }
            let Some(expected) = expected else { continue };
            let covered: Vec<(usize, usize)> = expected
                .iter()
                .map(|(start, end, _)| (*start, *end))
                .collect();
            for occurrence in &occurrences {
                if !covered.contains(&(occurrence.start, occurrence.end)) {
                    failures.push(format!(
                        "{name}: the rename of {definition:?} misses {occurrence:?}"
                    ));
                }
            }
            renamed += 1;
            let result = apply(&text, &expected);
            let remaining = errors(&result);
            if !remaining.is_empty() {
                failures.push(format!(
                    "{name}: renaming {definition:?} leaves errors: {}",
                    remaining.join("; ")
                ));
            }
        }
        server
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
    }
    assert!(
        renamed > 1000 && positions > renamed,
        "{renamed} names, {positions} positions"
    );
    // Renames the server refuses, one `file: definition` a line: a message `id` that a conversion
    // or ingestion ties to a record's `id`, and labels a prefix pattern (`E::Pre*`) matches, whose
    // new names here would leave the pattern. Every other name renames, and the program checks.
    refused.sort();
    refused.dedup();
    let expected_refusals: Vec<&str> = include_str!("rename_refused.txt").lines().collect();
    assert_eq!(refused, expected_refusals, "the renames the server refuses");
    assert!(
        failures.is_empty(),
        "{} of {renamed} renames ({positions} positions) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn fields_enum_labels_and_policies_rename_at_their_uses() {
    let mut server = Server::start().await;
    let text = "enum Level { Low, High }\nrecord Player {\n  public int count;\n  public Level level;\n  policy mine { return true; }\n  use_policy<mine> int secret;\n}\ntable<Player> players;\npublic formula total = (iterate players where count > 0).size();\nprocedure bump(Player p) {\n  p.count++;\n  p.level = Level::High;\n}\n";
    let uri = "file:///fields.a";
    server
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "adama", "version": 1, "text": text}}),
        )
        .await;
    let index = LineIndex::new(text);
    // Definition on `p.count` lands on the field's declaration.
    let use_of_count = text.find("p.count").map(|offset| offset + 2).unwrap_or(0);
    let at =
        json!({"textDocument": {"uri": uri}, "position": position(&index, text, use_of_count)});
    let target = server.request("textDocument/definition", at.clone()).await;
    assert_eq!(
        target["range"]["start"],
        position(&index, text, text.find("count;").unwrap_or(0))
    );
    for (name, new) in [("count", "score"), ("High", "Top"), ("mine", "own")] {
        let offset = text.rfind(name).unwrap_or(0);
        let mut rename =
            json!({"textDocument": {"uri": uri}, "position": position(&index, text, offset)});
        rename["newName"] = json!(new);
        let response = server.request("textDocument/rename", rename).await;
        let renamed = apply(text, &edits(&index, text, &response, uri));
        assert_eq!(
            renamed.matches(name).count(),
            0,
            "every `{name}` renamed:\n{renamed}"
        );
        assert!(
            errors(&renamed).is_empty(),
            "{name}: {:?}",
            errors(&renamed)
        );
    }
}

#[tokio::test]
async fn a_label_keeps_the_prefix_its_pattern_matches_and_a_coupled_id_keeps_its_name() {
    let mut server = Server::start().await;
    let text = "enum Piece { PawnWhite, KingWhite }\ndispatch Piece::Pawn* worth() -> int {\n  return 1;\n}\ndispatch Piece::King* worth() -> int {\n  return 9;\n}\nrecord Square {\n  public int id;\n}\ntable<Square> squares;\nmessage Play {\n  int id;\n}\npublic formula plays = @convert<Play>(iterate squares);\npublic int total;\n@construct {\n  total = Piece::PawnWhite.worth();\n}\n";
    let uri = "file:///refusals.a";
    server
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "adama", "version": 1, "text": text}}),
        )
        .await;
    let index = LineIndex::new(text);
    let rename = |offset: usize, new: &str| {
        let mut rename =
            json!({"textDocument": {"uri": uri}, "position": position(&index, text, offset)});
        rename["newName"] = json!(new);
        rename
    };
    let label = text.rfind("PawnWhite").unwrap_or(0);
    // Keeping the prefix keeps the dispatcher: the rename goes through and the program checks.
    let kept = server
        .request("textDocument/rename", rename(label, "PawnGrey"))
        .await;
    let renamed = apply(text, &edits(&index, text, &kept, uri));
    assert!(renamed.contains("Piece::PawnGrey.worth()"), "{renamed}");
    assert!(errors(&renamed).is_empty(), "{:?}", errors(&renamed));
    // Leaving it would move the label to another dispatcher: refused, with the reason.
    let refused = server
        .try_request("textDocument/rename", rename(label, "Queen"))
        .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|reason| reason.contains("Piece::Pawn*")),
        "{refused:?}"
    );
    // The message's `id` is copied from the record's key by the conversion.
    let id = text.find("int id;\n}\npublic").unwrap_or(0) + 4;
    let refused = server
        .try_request("textDocument/rename", rename(id, "number"))
        .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|reason| reason.contains("key of the rows of Square")),
        "{refused:?}"
    );
}
