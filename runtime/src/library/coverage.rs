//! Whole-library checks: every namespace function the checker accepts is found here (except the
//! ones the interpreter owns), and no function panics, whatever it is given.

use super::collections::CONTENT_METHODS;
use super::lookup;
use super::testing::TestHost;
use crate::value::{
    Asset, Date, DateTime, MapKey, Message, Principal, RecordRef, Shape, TimeOfDay, Value,
};
use adama_compiler::check::library::{NAMESPACES, namespace_functions};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Calls that touch document storage, connections or view state: the interpreter's.
fn interpreter_owned(namespace: &str, function: &str) -> bool {
    matches!(namespace, "ViewState" | "Template")
        || (namespace == "Document"
            && matches!(function, "destroy" | "rewind" | "disconnect" | "patch"))
}

#[test]
fn every_namespace_function_the_checker_knows_is_here() {
    let missing: Vec<String> = NAMESPACES
        .iter()
        .flat_map(|namespace| {
            namespace_functions(namespace)
                .iter()
                .filter(|function| !interpreter_owned(namespace, function))
                .map(move |function| format!("{namespace}.{function}"))
        })
        .filter(|name| lookup(name).is_none())
        .collect();
    assert!(missing.is_empty(), "missing library functions: {missing:?}");
}

#[test]
fn interpreter_owned_calls_are_left_to_the_interpreter() {
    for name in [
        "Document.destroy",
        "Document.patch",
        "ViewState.merge",
        "Template.html",
        "record.delete",
        "table.size",
        "enum.to_int",
        "maybe.delete",
        "channel.fetch",
        "future.await",
    ] {
        assert!(lookup(name).is_none(), "{name} should be the interpreter's");
    }
}

const CATEGORIES: &[&str] = &[
    "bool",
    "int",
    "long",
    "double",
    "complex",
    "string",
    "principal",
    "dynamic",
    "json",
    "asset",
    "date",
    "datetime",
    "time",
    "timespan",
    "label",
    "maybe",
    "list",
    "map",
    "message",
    "pair",
];

/// Every name the library answers to.
fn all_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for namespace in NAMESPACES {
        for function in namespace_functions(namespace) {
            names.insert(format!("{namespace}.{function}"));
        }
    }
    let extra = ["has", "getOrDefaultTo", "isTrue", "forceId", "of", "parse"];
    for category in CATEGORIES {
        for method in CONTENT_METHODS.iter().chain(&extra) {
            names.insert(format!("{category}.{method}"));
        }
    }
    names.retain(|name| lookup(name).is_some());
    names
}

fn awkward_values() -> Vec<Value> {
    let pair_shape = Arc::new(Shape {
        name: None,
        fields: vec![Arc::from("key"), Arc::from("value")],
    });
    let mut map = BTreeMap::new();
    map.insert(MapKey::Str(Arc::from("k")), Value::string("v"));
    map.insert(MapKey::Int(i64::MAX), Value::Int(1));
    let json = serde_json::json!({"a": [1, 2.5, "x", null, {"b": true}], "n": -1});
    vec![
        Value::Void,
        Value::Bool(true),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(i32::MIN),
        Value::Int(i32::MAX),
        Value::Long(i64::MIN),
        Value::Long(i64::MAX),
        Value::Double(f64::NAN),
        Value::Double(f64::INFINITY),
        Value::Double(-1e308),
        Value::Double(0.5),
        Value::Complex(-4.0, f64::NAN),
        Value::string(""),
        Value::string("😀a,b,,%k%é"),
        Value::string("<a href='x'>&#x110000;</a"),
        Value::principal(Principal::new("", "doc/space/key")),
        Value::Enum(3),
        Value::Label(Arc::from("state")),
        Value::Date(Date::default()),
        Value::Date(Date {
            year: 2024,
            month: 2,
            day: 29,
        }),
        Value::Date(Date {
            year: i32::MAX,
            month: 13,
            day: 40,
        }),
        Value::Time(TimeOfDay {
            hour: 25,
            minute: 70,
        }),
        Value::DateTime(Arc::new(DateTime {
            epoch_ms: 8_640_000_000_000_000_000,
            nanos: 999_999,
            offset_seconds: -18 * 3600,
            zone: Some(Arc::from("UTC")),
        })),
        Value::DateTime(Arc::new(DateTime::default())),
        Value::TimeSpan(1e300),
        Value::Dynamic(Arc::new(json)),
        Value::Asset(Arc::new(Asset::default())),
        Value::empty_maybe(),
        Value::some(Value::Int(7)),
        Value::some(Value::string("x")),
        Value::list(vec![
            Value::Int(3),
            Value::empty_maybe(),
            Value::Double(1.5),
        ]),
        Value::list(vec![Value::string("b"), Value::list(vec![Value::Int(1)])]),
        Value::Map(Arc::new(map)),
        Value::Message(Arc::new(Message {
            shape: pair_shape,
            values: vec![Value::Int(1)],
        })),
        Value::Record(RecordRef(0)),
    ]
}

#[test]
fn no_function_panics_on_awkward_arguments() {
    let values = awkward_values();
    let names = all_names();
    assert!(names.len() > 300, "only {} names resolve", names.len());
    let mut host = TestHost::default();
    for name in &names {
        let Some(function) = lookup(name) else {
            continue;
        };
        for arity in 0..=4 {
            // Password hashing is slow by design; a few shapes of arguments cover it.
            let rotations = if name.contains("password") {
                4
            } else {
                values.len()
            };
            for rotation in 0..rotations {
                let arguments: Vec<Value> = (0..arity)
                    .map(|position| values[(rotation + position * 7) % values.len()].clone())
                    .collect();
                // Success or a fault are both fine; a panic fails the test with the name.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    function(&mut host, &arguments)
                }));
                assert!(outcome.is_ok(), "{name} panicked on {arguments:?}");
            }
        }
    }
}
