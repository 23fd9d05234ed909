//! Values keep their type and their value: every type, nested in every container a document can
//! store (maybes, maps, records, and lists in formulas), survives dump → insert → dump unchanged,
//! and a view writes each type as the runtime specification says (§1.2 and §4.3).

use adama_runtime::Document;
use adama_runtime::Principal;
use adama_runtime::compile;
use proptest::prelude::*;
use serde_json::{Map, Value as Json, json};

/// A type a document field may have.
#[derive(Debug, Clone)]
enum Kind {
    Scalar(Scalar),
    Maybe(Box<Kind>),
    Map(Key, Box<Kind>),
    Record(Box<Kind>),
}

#[derive(Debug, Clone, Copy)]
enum Scalar {
    Int,
    Long,
    Double,
    Bool,
    Str,
    Principal,
    Date,
    Time,
    DateTime,
    TimeSpan,
    Complex,
    Enum,
    Dynamic,
    Asset,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Int,
    Long,
    Str,
}

const SCALARS: [Scalar; 14] = [
    Scalar::Int,
    Scalar::Long,
    Scalar::Double,
    Scalar::Bool,
    Scalar::Str,
    Scalar::Principal,
    Scalar::Date,
    Scalar::Time,
    Scalar::DateTime,
    Scalar::TimeSpan,
    Scalar::Complex,
    Scalar::Enum,
    Scalar::Dynamic,
    Scalar::Asset,
];

fn kind() -> impl Strategy<Value = Kind> {
    let leaf = prop::sample::select(&SCALARS[..]).prop_map(Kind::Scalar);
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            // A maybe holds a scalar or a record.
            inner
                .clone()
                .prop_filter("maybe of a scalar or a record", |kind| matches!(
                    kind,
                    Kind::Scalar(_) | Kind::Record(_)
                ))
                .prop_map(|kind| Kind::Maybe(Box::new(kind))),
            // A map holds scalars, records or maps.
            (
                prop::sample::select(&[Key::Int, Key::Long, Key::Str][..]),
                inner
                    .clone()
                    .prop_filter("map of a non-maybe", |kind| !matches!(kind, Kind::Maybe(_)))
                    // Records directly in a map in a map are not stored as records yet (see
                    // docs/runtime.md, "Not built yet").
                    .prop_filter("no map of maps of records", |kind| !matches!(
                        kind,
                        Kind::Map(_, inner) if matches!(**inner, Kind::Record(_))
                    ))
            )
                .prop_map(|(key, kind)| Kind::Map(key, Box::new(kind))),
            inner.prop_map(|kind| Kind::Record(Box::new(kind))),
        ]
    })
}

/// The type's text, declaring the records it needs.
fn type_text(kind: &Kind, records: &mut Vec<String>) -> String {
    match kind {
        Kind::Scalar(scalar) => match scalar {
            Scalar::Int => "int",
            Scalar::Long => "long",
            Scalar::Double => "double",
            Scalar::Bool => "bool",
            Scalar::Str => "string",
            Scalar::Principal => "principal",
            Scalar::Date => "date",
            Scalar::Time => "time",
            Scalar::DateTime => "datetime",
            Scalar::TimeSpan => "timespan",
            Scalar::Complex => "complex",
            Scalar::Enum => "Suit",
            Scalar::Dynamic => "dynamic",
            Scalar::Asset => "asset",
        }
        .to_owned(),
        Kind::Maybe(inner) => format!("maybe<{}>", type_text(inner, records)),
        Kind::Map(key, value) => {
            let key = match key {
                Key::Int => "int",
                Key::Long => "long",
                Key::Str => "string",
            };
            format!("map<{key}, {}>", type_text(value, records))
        }
        Kind::Record(field) => {
            let field = type_text(field, records);
            let name = format!("R{}", records.len());
            records.push(format!("record {name} {{ public {field} v; }}"));
            name
        }
    }
}

fn program_text(kind: &Kind) -> String {
    let mut records = Vec::new();
    let ty = type_text(kind, &mut records);
    let list = if matches!(kind, Kind::Scalar(_)) {
        "public formula listed = [f, f];\n"
    } else {
        ""
    };
    format!(
        "enum Suit {{ Hearts, Spades, Clubs }}\n{}\npublic {ty} f;\n{list}@connected {{ return true; }}\n",
        records.join("\n")
    )
}

/// A finite double of any magnitude, including the ones whose shortest text is long.
fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
        (-1000i32..1000).prop_map(|n| f64::from(n) / 10.0),
        Just("3.14".parse::<f64>().expect("a double") + 1.0 - 1.0),
        Just(0.1 + 0.2),
        Just(1e7),
        Just(1e-5),
    ]
}

/// A datetime in its stored text, written here from its parts by the rule of runtime spec §1.2:
/// seconds only when seconds or the fraction are non-zero, the fraction in 3, 6 or 9 digits.
fn datetime() -> impl Strategy<Value = String> {
    (
        1900i32..2200,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        prop_oneof![Just(0u32), 0u32..60],
        prop_oneof![
            Just(0u32),
            (1u32..1000).prop_map(|ms| ms * 1_000_000),
            (1u32..1_000_000).prop_map(|us| us * 1000),
            1u32..1_000_000_000,
        ],
        prop::sample::select(&["Z", "Z[UTC]", "+02:00", "-05:30"][..]),
    )
        .prop_map(|(year, month, day, hour, minute, second, nanos, zone)| {
            let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}");
            if second != 0 || nanos != 0 {
                text.push_str(&format!(":{second:02}"));
                if nanos != 0 {
                    let fraction = format!("{nanos:09}");
                    let digits = if nanos % 1_000_000 == 0 {
                        3
                    } else if nanos % 1000 == 0 {
                        6
                    } else {
                        9
                    };
                    text.push('.');
                    text.push_str(&fraction[..digits]);
                }
            }
            text.push_str(zone);
            text
        })
}

fn dynamic() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Json::from),
        any::<i32>().prop_map(Json::from),
        double().prop_map(Json::from),
        "\\PC{0,6}".prop_map(Json::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Json::Array),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..3)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
}

/// A value of a scalar in its stored JSON (runtime spec §1.2).
fn scalar(scalar: Scalar) -> BoxedStrategy<Json> {
    match scalar {
        Scalar::Int => any::<i32>().prop_map(Json::from).boxed(),
        Scalar::Long => any::<i64>().prop_map(|n| Json::from(n.to_string())).boxed(),
        Scalar::Double | Scalar::TimeSpan => double().prop_map(Json::from).boxed(),
        Scalar::Bool => any::<bool>().prop_map(Json::from).boxed(),
        Scalar::Str => "\\PC{0,12}".prop_map(Json::from).boxed(),
        Scalar::Principal => ("[a-z]{1,5}", "[a-z]{1,5}")
            .prop_map(|(agent, authority)| json!({"agent": agent, "authority": authority}))
            .boxed(),
        Scalar::Date => (1i32..10000, 1u32..13, 1u32..29)
            .prop_map(|(year, month, day)| Json::from(format!("{year}-{month:02}-{day:02}")))
            .boxed(),
        Scalar::Time => (0u32..24, 0u32..60)
            .prop_map(|(hour, minute)| Json::from(format!("{hour:02}:{minute:02}")))
            .boxed(),
        Scalar::DateTime => datetime().prop_map(Json::from).boxed(),
        Scalar::Complex => (double(), double())
            .prop_map(|(r, i)| json!({"r": r, "i": i}))
            .boxed(),
        Scalar::Enum => (0i32..3).prop_map(Json::from).boxed(),
        Scalar::Dynamic => dynamic().boxed(),
        Scalar::Asset => ("[a-z0-9]{1,6}", any::<u32>(), "[a-z.]{0,8}")
            .prop_map(|(id, size, name)| {
                json!({"id": id, "size": size.to_string(), "name": name, "type": "image/png",
                    "md5": "m", "sha384": "s", "@gc": "@yes"})
            })
            .boxed(),
    }
}

/// A value of a type in its stored JSON: maps in key order, records with their `id` first.
fn value(kind: &Kind) -> BoxedStrategy<Json> {
    match kind {
        Kind::Scalar(kind) => scalar(*kind),
        Kind::Maybe(inner) => prop_oneof![Just(Json::Null), value(inner)].boxed(),
        Kind::Record(field) => value(field)
            .prop_map(|field| json!({"id": 0, "v": field}))
            .boxed(),
        Kind::Map(key, element) => {
            let entries = prop::collection::vec(value(element), 0..4);
            match key {
                Key::Int => (prop::collection::btree_set(any::<i32>(), 0..4), entries)
                    .prop_map(|(keys, values)| object(keys.iter().map(i32::to_string), values))
                    .boxed(),
                Key::Long => (prop::collection::btree_set(any::<i64>(), 0..4), entries)
                    .prop_map(|(keys, values)| object(keys.iter().map(i64::to_string), values))
                    .boxed(),
                Key::Str => (prop::collection::btree_set("[a-z]{1,4}", 0..4), entries)
                    .prop_map(|(keys, values)| object(keys.into_iter(), values))
                    .boxed(),
            }
        }
    }
}

fn object(keys: impl Iterator<Item = String>, values: Vec<Json>) -> Json {
    Json::Object(keys.zip(values).collect::<Map<_, _>>())
}

/// What a viewer's first delta writes for a stored value (runtime spec §1.2 and §4.3): nothing
/// for an empty maybe or an object with nothing visible in it.
fn view(kind: &Kind, stored: &Json) -> Option<Json> {
    match kind {
        Kind::Scalar(Scalar::Principal) => Some(json!({"@t": 1,
            "agent": stored["agent"], "authority": stored["authority"]})),
        Kind::Scalar(Scalar::Asset) => Some(json!({"id": stored["id"], "size": stored["size"],
            "type": stored["type"], "md5": stored["md5"], "sha384": stored["sha384"]})),
        Kind::Scalar(_) => Some(stored.clone()),
        Kind::Maybe(inner) => match stored {
            Json::Null => None,
            present => view(inner, present),
        },
        Kind::Record(field) => view(field, &stored["v"]).map(|field| json!({"v": field})),
        Kind::Map(_, element) => {
            let entries: Map<String, Json> = stored
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(key, entry)| view(element, entry).map(|entry| (key.clone(), entry)))
                .collect();
            (!entries.is_empty()).then_some(Json::Object(entries))
        }
    }
}

fn case() -> impl Strategy<Value = (Kind, Json)> {
    kind().prop_flat_map(|kind| value(&kind).prop_map(move |value| (kind.clone(), value)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_value_survives_storage_and_is_viewed_as_specified((kind, stored) in case()) {
        let source = program_text(&kind);
        let program = compile("values.a", &source).map_err(|diagnostics| {
            TestCaseError::fail(format!(
                "{source} does not compile: {:?}",
                diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
            ))
        })?;
        let mut document = Document::new(program.clone(), "space", "key").expect("a document");
        document.insert(&json!({"f": stored}));
        let dump = document.dump();
        prop_assert_eq!(&dump["f"], &stored, "{} read and written back", source);

        // Through text, as a host stores it.
        let text = dump.to_string();
        let parsed: Json = serde_json::from_str(&text).expect("the dump is JSON");
        let mut rebuilt = Document::new(program, "space", "key").expect("a document");
        rebuilt.insert(&parsed);
        prop_assert_eq!(rebuilt.dump().to_string(), text, "dump → insert → dump");

        let viewer = rebuilt.open_view(Principal::new("ann", "acme"), json!({}));
        let delta = rebuilt.view_delta(viewer).expect("a view");
        let data = &delta["data"];
        let expected = view(&kind, &stored);
        prop_assert_eq!(data.get("f"), expected.as_ref(), "{} viewed", source);
        if matches!(kind, Kind::Scalar(_)) {
            let element = expected.expect("a scalar is always written");
            prop_assert_eq!(&data["listed"], &json!({"0": element, "1": element, "@s": 2}));
        }
    }
}

/// Runs a program's constructor and gives its stored document and its first view.
fn constructed(source: &str) -> (Json, Json) {
    let program = compile("values.a", source).unwrap_or_else(|diagnostics| {
        panic!(
            "does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let mut document = Document::new(program, "space", "key").expect("a document");
    document
        .execute(
            &json!({"command": "construct", "who": {"agent": "?", "authority": "?"},
            "arg": {}, "timestamp": 0, "entropy": 0}),
        )
        .expect("construct");
    let viewer = document.open_view(Principal::new("ann", "acme"), json!({}));
    let delta = document.view_delta(viewer).expect("a view");
    (document.dump(), delta["data"].clone())
}

#[test]
fn longs_written_by_code_stay_longs_in_every_container() {
    let (dump, data) = constructed(
        r#"
        public map<int, long> counts;
        public maybe<long> once;
        public map<string, map<int, long>> grid;
        message Row { long n; long[] more; maybe<long> extra; }
        public formula row = @convert<Row>({n: 1, more: [2L, 3L], extra: 4L});
        public formula listed = [5L, 6L];
        @construct {
          counts[1] = 5;
          counts[2] += 3;
          counts[3]++;
          once = 7;
          grid["a"][1] = 8L;
        }
        "#,
    );
    assert_eq!(dump["counts"], json!({"1": "5", "2": "3", "3": "1"}));
    assert_eq!(dump["once"], json!("7"));
    assert_eq!(data["counts"], json!({"1": "5", "2": "3", "3": "1"}));
    assert_eq!(data["once"], json!("7"));
    assert_eq!(
        data["row"],
        json!({"n": "1", "more": {"0": "2", "1": "3", "@s": 2}, "extra": "4"})
    );
    assert_eq!(data["listed"], json!({"0": "5", "1": "6", "@s": 2}));
}

#[test]
fn a_double_written_by_code_keeps_its_last_bit() {
    let (dump, data) = constructed("public double d = 3.14; @construct { d++; d--; }");
    assert_eq!(dump["d"].to_string(), "3.1400000000000006");
    assert_eq!(data["d"].to_string(), "3.1400000000000006");
}

#[test]
fn a_datetime_literal_keeps_its_nanoseconds() {
    let (dump, _) =
        constructed(r#"public datetime when = @datetime "2024-01-02T03:04:05.123456789Z[UTC]";"#);
    assert_eq!(dump["when"], json!("2024-01-02T03:04:05.123456789Z[UTC]"));
}
