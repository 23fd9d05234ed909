//! Messages that do not fit their channel are refused, never run. For every valid program of the
//! corpus, every channel gets generated JSON of every shape (values that fit the message type,
//! values that nearly fit, and values of any other shape, at every depth). A send is refused
//! with 145627 exactly when the JSON does not fit the message type by the rule of
//! `docs/runtime.md` ("Messages from clients"), which this file states again on its own, and a
//! refused send leaves the stored document as it was.

use std::path::Path;
use std::sync::Arc;

use adama_compiler::ir::{MessageId, Program};
use adama_compiler::ty::Ty;
use adama_runtime::Document;
use adama_runtime::compile;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value as Json, json};

/// The refusal of a message that does not fit its type.
const MISFIT: i32 = 145_627;
/// A send by a principal that is not connected, refused before its message is read.
const NOT_CONNECTED: i32 = 143_373;
/// Sends per channel.
const CASES: u32 = 48;
/// How deep generated values follow nested message types.
const DEPTH: u32 = 3;

/// Texts of dates, times and datetimes: the first `REAL` of each name a real value.
const REAL: usize = 2;
const DATES: [&str; 4] = ["2024-05-01", "1-01-01", "2023-02-29", "2024-13-01"];
const TIMES: [&str; 4] = ["13:45", "00:00", "24:10", "7:61"];
const DATETIMES: [&str; 4] = [
    "2024-05-01T10:15:30.5Z",
    "2024-01-02T03:04:05.123456789Z[UTC]",
    "2024-02-30T10:00Z",
    "2024-05-01",
];

fn harness(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    // Every connection is accepted, so that every channel can be reached (a document runs all
    // its `@connected` handlers and accepts when any does).
    let open = format!("{text}\n@connected {{ return true; }}\n");
    let program = compile("corpus.a", &open)
        .or_else(|_| compile("corpus.a", &text))
        .map_err(|_| "does not compile".to_owned())?;
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run(&program))?;
    worker
        .join()
        .map_err(|_| "the runtime panicked".to_owned())??;
    Ok(())
}

fn run(program: &Arc<Program>) -> Result<(), String> {
    let mut channels: Vec<(String, Option<MessageId>, bool)> = program
        .handlers
        .iter()
        .map(|(name, handler)| (name.clone(), handler.message, handler.array))
        .chain(
            program
                .async_channels
                .iter()
                .map(|(name, channel)| (name.clone(), channel.message, channel.array)),
        )
        .collect();
    if channels.is_empty() {
        return Ok(());
    }
    channels.sort();
    let mut document = Document::new(Arc::clone(program), "0", "0").map_err(|f| f.to_string())?;
    // Handlers that loop as many times as a message says stop early: what is tested here is
    // whether they start.
    document.limits_mut().budget = 10_000;
    let ann = json!({"agent": "ann", "authority": "acme"});
    let setup = [
        json!({"command": "construct", "who": ann, "arg": {}, "entropy": 0, "timestamp": 0}),
        json!({"command": "connect", "who": ann, "timestamp": 1}),
    ];
    for command in &setup {
        if document.execute(command).is_err() {
            // A program whose constructor or connection refuses this script has no channel
            // the script can reach; the other programs cover the rule.
            return Ok(());
        }
    }
    let document = std::cell::RefCell::new(document);
    // Sends that reached the reading of their message.
    let reached = std::cell::Cell::new(0u32);
    for (channel, message, array) in channels {
        let top = match message.map(|message| &program.messages[message]) {
            Some(layout) => {
                let ty = Ty::Message(layout.name.as_str().into());
                if array { Ty::array(ty) } else { ty }
            }
            None => Ty::Dynamic,
        };
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&shape(program, &top, DEPTH), |message| {
            let mut document = document.borrow_mut();
            let before = document.dump();
            let command = json!({"command": "send", "who": ann, "channel": channel,
                "message": message, "timestamp": 2});
            let fits = fits(program, &top, &message, true);
            match document.execute(&command) {
                Err(error) if error.code == MISFIT => {
                    prop_assert!(
                        !fits,
                        "refused a message that fits: {message} ({})",
                        error.message
                    );
                    prop_assert_eq!(
                        document.dump(),
                        before,
                        "a refused send changed the document"
                    );
                    prop_assert!(
                        error.message.contains(&channel),
                        "the refusal does not name the channel"
                    );
                }
                Err(error) if error.code == NOT_CONNECTED => return Ok(()),
                _ => prop_assert!(fits, "ran a message that does not fit: {message}"),
            }
            reached.set(reached.get() + 1);
            Ok(())
        });
        outcome.map_err(|failure| format!("channel '{channel}': {failure}"))?;
    }
    if reached.get() == 0 {
        return Err("no send reached a channel: the test checked nothing".to_owned());
    }
    Ok(())
}

/// JSON for a type: a value that fits, or one of any shape (which may fit by chance).
fn shape(program: &Program, ty: &Ty, depth: u32) -> BoxedStrategy<Json> {
    prop_oneof![3 => fitting(program, ty, depth), 1 => any_shape()].boxed()
}

/// JSON of every shape, none of them nested deeply.
fn any_shape() -> BoxedStrategy<Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i32>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        (-1e6f64..1e6).prop_map(Json::from),
        "[a-z]{0,5}".prop_map(Json::from),
        "-?[0-9]{1,12}".prop_map(Json::from),
        "-?[0-9]{1,3}\\.[0-9]{1,2}".prop_map(Json::from),
        Just(json!("true")),
        Just(json!([])),
        prop::collection::vec(any::<i8>(), 1..3).prop_map(|items| json!(items)),
        Just(json!({})),
        Just(json!({"agent": "bo", "authority": "acme"})),
        Just(json!({"r": 1.5, "i": -2.0})),
    ]
    .boxed()
}

fn pick(texts: &'static [&'static str]) -> BoxedStrategy<Json> {
    prop::sample::select(texts).prop_map(Json::from).boxed()
}

/// JSON that fits a type, except where the choice of texts includes ones that do not.
fn fitting(program: &Program, ty: &Ty, depth: u32) -> BoxedStrategy<Json> {
    match ty {
        Ty::Int | Ty::Enum(_) => prop_oneof![
            any::<i32>().prop_map(Json::from),
            (-5i32..5).prop_map(|n| Json::from(n.to_string())),
        ]
        .boxed(),
        Ty::Long => prop_oneof![
            any::<i64>().prop_map(Json::from),
            any::<i64>().prop_map(|n| Json::from(n.to_string())),
        ]
        .boxed(),
        Ty::Double | Ty::TimeSpan => prop_oneof![
            any::<f64>()
                .prop_filter("finite", |n| n.is_finite())
                .prop_map(Json::from),
            any::<i32>().prop_map(Json::from),
            Just(json!("2.5")),
        ]
        .boxed(),
        Ty::Bool => prop_oneof![any::<bool>().prop_map(Json::from), Just(json!("false"))].boxed(),
        Ty::String | Ty::Text | Ty::Label => prop_oneof![
            "\\PC{0,8}".prop_map(Json::from),
            any::<i16>().prop_map(Json::from),
        ]
        .boxed(),
        Ty::Date => pick(&DATES),
        Ty::Time => pick(&TIMES),
        Ty::DateTime => pick(&DATETIMES),
        Ty::Principal | Ty::SecurePrincipal => {
            Just(json!({"agent": "bo", "authority": "acme"})).boxed()
        }
        Ty::Complex => Just(json!({"r": 0.5, "i": 2})).boxed(),
        Ty::Asset => Just(json!({"id": "a1", "size": "3", "name": "x.png"})).boxed(),
        Ty::Maybe(inner) => prop_oneof![Just(Json::Null), shape(program, inner, depth)].boxed(),
        Ty::List(element) | Ty::Array(element) | Ty::Table(element) if depth > 0 => {
            prop::collection::vec(shape(program, element, depth - 1), 0..3)
                .prop_map(Json::Array)
                .boxed()
        }
        Ty::Map(key, value) if depth > 0 => {
            let key = match &**key {
                Ty::Int | Ty::Long | Ty::Enum(_) => prop_oneof![
                    4 => (-9i32..99).prop_map(|n| n.to_string()),
                    1 => Just("k".to_owned()),
                ]
                .boxed(),
                _ => "[a-z0-9]{1,3}".boxed(),
            };
            prop::collection::vec((key, shape(program, value, depth - 1)), 0..3)
                .prop_map(|entries| Json::Object(entries.into_iter().collect()))
                .boxed()
        }
        Ty::Message(name) | Ty::Holder(name) if depth > 0 => {
            let Some(index) = program.message_named(name) else {
                return any_shape();
            };
            let fields: Vec<BoxedStrategy<Option<(String, Json)>>> = program.messages[index]
                .fields
                .iter()
                .map(|field| {
                    let name = field.name.clone();
                    prop::option::weighted(0.8, shape(program, &field.ty, depth - 1))
                        .prop_map(move |value| value.map(|value| (name.clone(), value)))
                        .boxed()
                })
                .chain(std::iter::once(
                    prop::option::of(any_shape())
                        .prop_map(|value| value.map(|value| ("unknown_field".to_owned(), value)))
                        .boxed(),
                ))
                .collect();
            fields
                .prop_map(|entries| {
                    Json::Object(entries.into_iter().flatten().collect::<Map<_, _>>())
                })
                .boxed()
        }
        _ => any_shape(),
    }
}

/// Whether JSON fits a type (`docs/runtime.md`, "Messages from clients"). `top` marks the
/// message itself, which must be present; elsewhere `null` means "absent".
fn fits(program: &Program, ty: &Ty, json: &Json, top: bool) -> bool {
    if matches!(ty, Ty::Dynamic | Ty::Json) {
        return true;
    }
    if json.is_null() {
        return !top;
    }
    let whole = |json: &Json, bits: u32| match json {
        Json::Number(number) => number
            .as_i64()
            .is_some_and(|n| bits == 64 || i32::try_from(n).is_ok()),
        Json::String(text) => {
            if bits == 64 {
                text.parse::<i64>().is_ok()
            } else {
                text.parse::<i32>().is_ok()
            }
        }
        _ => false,
    };
    match ty {
        Ty::Int | Ty::Enum(_) => whole(json, 32),
        Ty::Long => whole(json, 64),
        Ty::Double | Ty::TimeSpan => match json {
            Json::Number(_) => true,
            Json::String(text) => text.parse::<f64>().is_ok_and(f64::is_finite),
            _ => false,
        },
        Ty::Bool => matches!(json, Json::Bool(_)) || json == "true" || json == "false",
        Ty::String | Ty::Text | Ty::Label => {
            matches!(json, Json::String(_) | Json::Number(_) | Json::Bool(_))
        }
        Ty::Date => json
            .as_str()
            .is_some_and(|text| DATES[..REAL].contains(&text)),
        Ty::Time => json
            .as_str()
            .is_some_and(|text| TIMES[..REAL].contains(&text)),
        Ty::DateTime => json
            .as_str()
            .is_some_and(|text| DATETIMES[..REAL].contains(&text)),
        Ty::Principal | Ty::SecurePrincipal => json.as_object().is_some_and(|object| {
            ["agent", "authority"]
                .iter()
                .all(|key| object.get(*key).is_none_or(Json::is_string))
        }),
        Ty::Complex => json.as_object().is_some_and(|object| {
            ["r", "i"]
                .iter()
                .all(|key| object.get(*key).is_none_or(Json::is_number))
        }),
        Ty::Asset => json.is_object(),
        Ty::Maybe(inner) => fits(program, inner, json, false),
        Ty::List(element) | Ty::Array(element) => json
            .as_array()
            .is_some_and(|items| items.iter().all(|item| fits(program, element, item, false))),
        Ty::Table(element) => match json {
            Json::Array(items) => items.iter().all(|item| fits(program, element, item, false)),
            Json::Object(rows) => rows.values().all(|row| fits(program, element, row, false)),
            _ => false,
        },
        Ty::Map(key, value) => json.as_object().is_some_and(|entries| {
            entries.iter().all(|(name, entry)| {
                let key_fits = match &**key {
                    Ty::Int | Ty::Enum(_) => name.parse::<i32>().is_ok(),
                    Ty::Long => name.parse::<i64>().is_ok(),
                    _ => true,
                };
                key_fits && fits(program, value, entry, false)
            })
        }),
        Ty::Message(name) | Ty::Holder(name) => match program.message_named(name) {
            Some(index) => json.as_object().is_some_and(|object| {
                program.messages[index].fields.iter().all(|field| {
                    object
                        .get(&field.name)
                        .is_none_or(|value| fits(program, &field.ty, value, false))
                })
            }),
            None => true,
        },
        _ => true,
    }
}

datatest_stable::harness! {
    { test = harness, root = "corpus", pattern = r"_success\.a$" },
}
