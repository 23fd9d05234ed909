//! Runtime rules where the reference's behaviour is the specification (and the three places where
//! it is deliberately not): one corpus program per rule, run here with exact expectations.

use adama_runtime::Document;
use adama_runtime::JavaRandom;
use adama_runtime::Principal;
use adama_runtime::compile;
use adama_runtime::run_tests;
use serde_json::{Value as Json, json};

/// A corpus program: its file name and its text.
macro_rules! corpus {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/corpus/",
                $name
            )),
        )
    };
}

/// The program's document after `construct` (with the given request context), and a viewer's
/// first view of it.
fn run((name, source): (&str, &str), context: Json) -> (Json, Json) {
    let program = compile(name, source).unwrap_or_else(|diagnostics| {
        panic!(
            "{name}: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    for result in run_tests(&program) {
        assert_eq!(result.error, None, "{name}: test {}", result.name);
        assert_eq!(
            result.passed, result.total,
            "{name}: test {} failed an assertion",
            result.name
        );
    }
    let mut document = Document::new(program, "space", "key").expect("a document");
    let mut command = json!({"command": "construct", "who": {"agent": "?", "authority": "?"},
        "arg": {}, "timestamp": 0, "entropy": 0});
    if let (Json::Object(command), Json::Object(context)) = (&mut command, context) {
        command.extend(context);
    }
    document.execute(&command).expect("construct");
    let viewer = document.open_view(Principal::new("ann", "acme"), json!({}));
    let data = document.view_delta(viewer).expect("a view")["data"].clone();
    (document.dump(), data)
}

#[test]
fn context_is_the_commands_origin_and_ip() {
    let (dump, _) = run(
        corpus!("Runtime_ContextOriginIp_success.a"),
        json!({"origin": "https://example.com", "ip": "10.0.0.1"}),
    );
    assert_eq!(dump["from_origin"], json!("https://example.com"));
    assert_eq!(dump["from_ip"], json!("10.0.0.1"));
    let (dump, _) = run(corpus!("Runtime_ContextOriginIp_success.a"), json!({}));
    assert_eq!(dump["from_origin"], json!(""));
}

#[test]
fn document_patch_writes_the_fields_in_the_transaction() {
    let (name, source) = corpus!("Runtime_DocumentPatch_success.a");
    let program = compile(name, source).expect("compiles");
    let mut document = Document::new(program, "space", "key").expect("a document");
    let record = document
        .execute(
            &json!({"command": "construct", "who": {"agent": "?", "authority": "?"},
            "arg": {}, "timestamp": 0}),
        )
        .expect("construct");
    assert_eq!(record.redo["a"], json!(7));
    assert_eq!(record.redo["b"], json!("hi"));
    assert_eq!(record.redo["counts"], json!({"x": 1}));
    assert_eq!(record.undo["a"], json!(0));
}

#[test]
fn shuffle_is_the_references_swap_loop() {
    let (_, data) = run(corpus!("Runtime_ShuffleSwapLoop_success.a"), json!({}));
    // Every position from the last down to the first swaps with one drawn from all six.
    let mut expected: Vec<i32> = (1..=6).collect();
    let mut random = JavaRandom::new(0);
    for index in (0..expected.len()).rev() {
        let other = random.next_int_bounded(6) as usize;
        expected.swap(index, other);
    }
    let shown: Vec<Json> = (0..6)
        .map(|index| data["order"][index.to_string()].clone())
        .collect();
    assert_eq!(
        shown,
        expected.iter().map(|rank| json!(rank)).collect::<Vec<_>>()
    );
    assert_eq!(expected, vec![4, 3, 1, 2, 5, 6]);
}

#[test]
fn traverse_lists_targets_by_ascending_id() {
    let (_, data) = run(corpus!("Runtime_TraverseAscending_success.a"), json!({}));
    assert_eq!(data["out"], json!({"0": "b", "1": "c", "@s": 2}));
}

#[test]
fn unique_last_follows_the_hash_map_order_of_its_keys() {
    let (_, data) = run(corpus!("Runtime_UniqueLastHashOrder_success.a"), json!({}));
    // Keys 1, 3 and 20 fall in buckets 1, 3 and 4 of a 16-bucket map.
    assert_eq!(data["last_by_k"], json!({"0": 4, "1": 2, "2": 3, "@s": 3}));
    assert_eq!(data["first_by_k"], json!({"0": 1, "1": 2, "2": 4, "@s": 3}));
}

#[test]
fn csv_has_a_header_and_crlf_before_each_row() {
    let (_, data) = run(corpus!("Runtime_CsvFormat_success.a"), json!({}));
    assert_eq!(data["f2"], json!("n,s,who\r\n1,a,?@?\r\n2,\"b,c\",?@?"));
    assert_eq!(data["f0"], json!("n,s,who"));
}

#[test]
fn outside_is_the_negation_of_inside() {
    let (dump, _) = run(corpus!("Runtime_OutsideNegatesInside_success.a"), json!({}));
    assert_eq!(dump["five_inside"], json!(true));
    assert_eq!(dump["five_outside"], json!(false));
    assert_eq!(dump["six_outside"], json!(true));
}

#[test]
fn maybe_bool_exclusive_or_is_real() {
    let (dump, _) = run(corpus!("Runtime_MaybeBoolXor_success.a"), json!({}));
    assert_eq!(dump["true_false"], json!(true));
    assert_eq!(dump["true_true"], json!(false));
    assert_eq!(dump["empty_false"], json!(false));
    assert_eq!(dump["empty_true"], json!(true));
}

#[test]
fn complex_division_is_the_true_quotient() {
    let (dump, _) = run(corpus!("Runtime_ComplexDivision_success.a"), json!({}));
    let quotient = &dump["quotient"];
    assert!((quotient["r"].as_f64().expect("a number") - 0.1).abs() < 1e-12);
    assert!((quotient["i"].as_f64().expect("a number") - 0.7).abs() < 1e-12);
    assert_eq!(dump["empty_left"], json!(true));
    assert_eq!(dump["by_zero"], json!(true));
}

#[test]
fn longs_stay_longs_in_containers() {
    let (dump, data) = run(corpus!("Values_LongsInContainers_success.a"), json!({}));
    assert_eq!(dump["counts"], json!({"1": "5", "2": "3", "3": "1"}));
    assert_eq!(dump["once"], json!("7"));
    assert_eq!(data["listed"], json!({"0": "5", "1": "6", "@s": 2}));
    assert_eq!(
        data["row"],
        json!({"n": "1", "more": {"0": "2", "1": "3", "@s": 2}})
    );
}

#[test]
fn doubles_and_datetimes_keep_their_value() {
    let (dump, _) = run(corpus!("Values_DoubleLastBit_success.a"), json!({}));
    assert_eq!(dump["d"].to_string(), "3.1400000000000006");
    let (dump, _) = run(corpus!("Values_DatetimeNanos_success.a"), json!({}));
    assert_eq!(dump["when"], json!("2024-01-02T03:04:05.123456789Z[UTC]"));
    assert_eq!(dump["micros"], json!("2024-01-02T03:04:05.123456Z"));
    assert_eq!(dump["millis"], json!("2024-01-02T03:04:05.500Z"));
}

#[test]
fn map_inserts_chain_and_an_entry_deletes_its_key() {
    let (dump, _) = run(
        corpus!("Runtime_MapInsertChainAndDelete_success.a"),
        json!({}),
    );
    assert_eq!(dump["n"], json!(2));
    assert_eq!(dump["after"], json!(1));
    assert_eq!(dump["seats"], json!({"2": 2}));
}

#[test]
fn a_nested_map_write_creates_the_inner_map() {
    let (dump, _) = run(corpus!("Runtime_NestedMapWrite_success.a"), json!({}));
    assert_eq!(dump["grid"], json!({"r": {"c": 7, "d": 8}}));
}

#[test]
fn stepping_a_temporary_writes_nothing_more() {
    let (dump, _) = run(corpus!("Runtime_StepOfTemporary_success.a"), json!({}));
    assert_eq!(dump["rows"], json!({"1": {"id": 1, "n": 2}}));
}

#[test]
fn members_of_maybe_json_read_through_the_maybe() {
    let (_, data) = run(corpus!("Runtime_MaybeJsonMember_success.a"), json!({}));
    assert_eq!(data["k"], json!(5));
    assert_eq!(data["missing"], Json::Null);
}

#[test]
fn ingested_runs_after_every_ingestion() {
    let (dump, _) = run(corpus!("Runtime_IngestedEveryTime_success.a"), json!({}));
    assert_eq!(dump["accs"]["1"]["times"], json!(2));
    assert_eq!(dump["single"]["times"], json!(2));
}

#[test]
fn native_tables_are_passed_by_reference() {
    let (dump, _) = run(
        corpus!("Runtime_NativeTableByReference_success.a"),
        json!({}),
    );
    assert_eq!(dump["n"], json!(2));
}

#[test]
fn plus_with_a_maybe_string_concatenates() {
    let (dump, _) = run(corpus!("Runtime_MaybeStringConcat_success.a"), json!({}));
    assert_eq!(dump["seven"], json!("7"));
    assert_eq!(dump["joined"], json!("x2.5"));
}

#[test]
fn chained_comparisons_are_range_tests() {
    let (_, data) = run(corpus!("Runtime_ChainedComparison_success.a"), json!({}));
    assert_eq!(data["inside_range"], json!(true));
    assert_eq!(data["above_range"], json!(false));
    assert_eq!(data["closed"], json!(true));
}

#[test]
fn a_failing_formula_leaves_the_rest_of_the_view() {
    // The failure is the nesting limit: give the interpreter the stack a host gives it.
    let data = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(|| {
            run(
                corpus!("Runtime_FailingFormulaKeepsView_success.a"),
                json!({}),
            )
            .1
        })
        .expect("a thread")
        .join()
        .expect("no panic");
    assert_eq!(data, json!({"shown": 3, "doubled": 6}));
}

#[test]
fn a_map_entry_binding_writes_the_entry() {
    let (dump, _) = run(corpus!("Runtime_MapBindingAliases_success.a"), json!({}));
    assert_eq!(dump["scores"], json!({"a": 5}));
}

#[test]
fn futures_take_the_queued_messages_again_when_a_state_reruns() {
    let (name, source) = corpus!("Runtime_FuturesRebindQueued_success.a");
    let program = compile(name, source).expect("compiles");
    let results = run_tests(&program);
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(result.error, None, "{}", result.name);
        assert_eq!((result.passed, result.total), (1, 1), "{}", result.name);
    }
}

#[test]
fn overloads_are_chosen_by_the_closest_fit() {
    let (dump, view) = run(corpus!("d7_OverloadLowestScore_success.a"), json!({}));
    assert_eq!(dump["viaDispatch"], json!(1.0));
    assert_eq!(dump["viaDispatchDouble"], json!(20.0));
    assert_eq!(dump["viaFunction"], json!(1.0));
    assert_eq!(dump["viaFunctionDouble"], json!(10.0));
    assert_eq!(dump["longFirst"], json!(3));
    assert_eq!(view["viaMethod"], json!(5.0));
}

#[test]
fn a_catch_all_dispatcher_is_the_fallback() {
    let (dump, view) = run(
        corpus!("c2_CatchAllDispatcherFallback_success.a"),
        json!({}),
    );
    assert_eq!(view["queen"], json!(9));
    assert_eq!(view["pawn"], json!(1));
    assert_eq!(view["side"], json!(1));
    assert_eq!(dump["trail"], json!("Q*;exact;all;|Q*;QueenS*;all;|all;"));
}

#[test]
fn lists_of_messages_with_a_unique_id_are_viewed_like_rows() {
    let (_, view) = run(corpus!("d18_UniqueIdMessageList_success.a"), json!({}));
    assert_eq!(
        view["shown"],
        json!({"7": {"id": 7, "tag": "a"}, "3": {"id": 3, "tag": "b"}, "@o": [7, 3]})
    );
    assert_eq!(
        view["arrayed"],
        json!({"0": {"id": 7, "tag": "a"}, "@s": 1})
    );
}

#[test]
fn updated_and_bump_fields_stamp_each_changed_record() {
    let (name, source) = corpus!("d8_UpdatedAndBumpFields_success.a");
    let (dump, view) = run((name, source), json!({}));
    assert_eq!(
        dump["tasks"]["1"]["touched"],
        json!("1970-01-01T00:00Z[UTC]")
    );
    assert_eq!(dump["tasks"]["1"]["version"], json!(1));
    assert_eq!(view["all"]["2"]["version"], json!(1));

    let program = compile(name, source).expect("compiles");
    let mut document = Document::new(program, "space", "key").expect("a document");
    let who = json!({"agent": "ann", "authority": "acme"});
    for command in [
        json!({"command": "construct", "who": who, "arg": {}, "timestamp": 0}),
        json!({"command": "connect", "who": who, "timestamp": 1}),
    ] {
        document.execute(&command).expect("runs");
    }
    let record = document
        .execute(&json!({"command": "send", "who": who, "channel": "rename",
            "message": {"id": 2, "title": "c"}, "timestamp": 1500}))
        .expect("rename");
    assert_eq!(
        record.redo["tasks"],
        json!({"2": {"title": "c", "touched": "1970-01-01T00:00:01.500Z[UTC]", "version": 2}})
    );
    assert_eq!(document.dump()["tasks"]["1"]["version"], json!(1));
}

#[test]
fn writes_through_a_map_inside_a_map_create_the_inner_record() {
    let (name, source) = corpus!("maps_RecordsInNestedMaps_success.a");
    let (dump, view) = run((name, source), json!({}));
    assert_eq!(dump["grid"]["a"]["1"]["hits"], json!(2));
    assert_eq!(dump["grid"]["a"]["2"]["tag"], json!("two"));
    assert_eq!(dump["grid"]["b"]["7"]["hits"], json!(3));
    assert_eq!(view["grid"]["b"]["7"], json!({"hits": 3, "tag": ""}));

    let program = compile(name, source).expect("compiles");
    let mut rebuilt = Document::new(program, "space", "key").expect("a document");
    rebuilt.insert(&dump);
    assert_eq!(rebuilt.dump(), dump);
    let who = json!({"agent": "ann", "authority": "acme"});
    rebuilt
        .execute(&json!({"command": "connect", "who": who, "timestamp": 1}))
        .expect("connect");
    let mut redos = Vec::new();
    for (row, column) in [("b", 7), ("c", 1)] {
        let record = rebuilt
            .execute(&json!({"command": "send", "who": who, "channel": "hit",
                "message": {"row": row, "column": column}, "timestamp": 2}))
            .expect("hit");
        redos.push((record.redo["grid"].clone(), record.undo["grid"].clone()));
    }
    // The patches name the changed record, and the created inner map with its record.
    assert_eq!(redos[0].0, json!({"b": {"7": {"hits": 4}}}));
    assert_eq!(redos[0].1, json!({"b": {"7": {"hits": 3}}}));
    assert_eq!(
        redos[1].0,
        json!({"c": {"1": {"id": 0, "hits": 1, "tag": ""}}})
    );
    assert_eq!(redos[1].1, json!({"c": null}));
    let after = rebuilt.dump();
    assert_eq!(after["grid"]["b"]["7"]["hits"], json!(4));
    assert_eq!(after["grid"]["c"]["1"]["hits"], json!(1));
    assert_eq!(after["grid"]["a"], dump["grid"]["a"]);
}

/// A document of a corpus program, constructed, with `ann` and `bob` connected and viewing.
fn two_viewers((name, source): (&str, &str)) -> (Document, Vec<adama_runtime::ViewId>) {
    let program = compile(name, source).expect("compiles");
    let mut document = Document::new(program, "space", "key").expect("a document");
    document
        .execute(
            &json!({"command": "construct", "who": {"agent": "?", "authority": "?"},
            "arg": {}, "timestamp": 0}),
        )
        .expect("construct");
    let mut views = Vec::new();
    for agent in ["ann", "bob"] {
        document
            .execute(
                &json!({"command": "connect", "who": {"agent": agent, "authority": "acme"},
                "timestamp": 1}),
            )
            .expect("connect");
        views.push(document.open_view(Principal::new(agent, "acme"), json!({})));
    }
    (document, views)
}

fn edit(document: &mut Document, agent: &str, seq: i32, change: Json) -> Json {
    document
        .execute(
            &json!({"command": "send", "who": {"agent": agent, "authority": "acme"},
            "channel": "edit", "message": {"seq": seq, "change": change}, "timestamp": 2}),
        )
        .expect("edit")
        .redo
}

#[test]
fn concurrent_text_edits_are_all_kept_and_everyone_sees_one_text() {
    let (mut document, views) = two_viewers(corpus!("f1_CollaborativeText_success.a"));
    for view in &views {
        let first = document.view_delta(*view).expect("a view")["data"].clone();
        assert_eq!(first["body"], json!({"$g": 1, "$i": "hello", "$s": 0}));
    }
    // Both editors saw sequence 0; ann's change is taken first, bob's is moved over it.
    let redo = edit(&mut document, "ann", 0, json!([[0, "A"], 5]));
    assert_eq!(redo["body"], json!({"changes": {"0": "[[0,\"A\"],5]"}}));
    let redo = edit(&mut document, "bob", 0, json!([5, [0, "B"]]));
    assert_eq!(redo["body"], json!({"changes": {"1": "[6,[0,\"B\"]]"}}));
    assert_eq!(redo["shown"], json!("AhelloB"));
    for view in &views {
        let delta = document.view_delta(*view).expect("a view")["data"].clone();
        assert_eq!(
            delta["body"],
            json!({"0": "[[0,\"A\"],5]", "1": "[6,[0,\"B\"]]", "$s": 2})
        );
    }
    // A change that does not span the text it was made against is refused.
    edit(&mut document, "bob", 2, json!([3]));
    let dump = document.dump();
    assert_eq!(dump["lastTaken"], json!(false));
    assert_eq!(
        dump["body"],
        json!({"changes": {"0": "[[0,\"A\"],5]", "1": "[6,[0,\"B\"]]"},
            "fragments": {"1": "hello"}, "order": {"0": "1"}, "seq": 0})
    );
    assert_eq!(dump["__auto_gen"], json!(1));
    // A late viewer gets the text as it is now; the stored form rebuilds it.
    let program = compile("f1.a", corpus!("f1_CollaborativeText_success.a").1).expect("compiles");
    let mut rebuilt = Document::new(program, "space", "key").expect("a document");
    rebuilt.insert(&dump);
    assert_eq!(rebuilt.dump(), dump);
    let late = rebuilt.open_view(Principal::new("cat", "acme"), json!({}));
    assert_eq!(
        rebuilt.view_delta(late).expect("a view")["data"]["body"],
        json!({"$g": 1, "$i": "AhelloB", "$s": 2})
    );
    // Assigning the text whole starts a new generation, sent whole.
    document
        .execute(
            &json!({"command": "send", "who": {"agent": "ann", "authority": "acme"},
            "channel": "reset", "message": {"text": "fresh"}, "timestamp": 3}),
        )
        .expect("reset");
    let delta = document.view_delta(views[1]).expect("a view")["data"].clone();
    assert_eq!(delta["body"], json!({"$g": 2, "$i": "fresh", "$s": 0}));
}

#[test]
fn an_unassigned_text_is_empty() {
    let (_, view) = run(corpus!("Text_Basic_success.a"), json!({}));
    assert_eq!(view["notes"], json!({"$g": 0, "$i": "", "$s": 0}));
    let (dump, _) = run(corpus!("Text_Basic_success.a"), json!({}));
    assert_eq!(
        dump["notes"],
        json!({"changes": {}, "fragments": {}, "order": {}, "seq": 0})
    );
}

#[test]
fn a_replication_persists_its_state_machine() {
    let (name, source) = corpus!("f2_ReplicationStates_success.a");
    let (dump, view) = run((name, source), json!({}));
    assert_eq!(dump["summary"], json!({"state": 100}));
    assert_eq!(view["status"], json!("Nothing;null;null;0"));
    assert!(view.get("summary").is_none(), "{view}");

    let program = compile(name, source).expect("compiles");
    let mut document = Document::new(program.clone(), "space", "key").expect("a document");
    let who = json!({"agent": "ann", "authority": "acme"});
    document
        .execute(&json!({"command": "construct", "who": who, "arg": {}, "timestamp": 0}))
        .expect("construct");
    let replicate = |document: &mut Document, timestamp: i64| {
        document.execute(&json!({"command": "replicate", "timestamp": timestamp}))
    };
    // A value not pushed yet is requested, then the call fails (there is no service host).
    let requested = replicate(&mut document, 10).expect("requested").redo["summary"].clone();
    assert_eq!(requested["state"], json!(110));
    assert_eq!(requested["key"], json!("space/key"));
    assert_eq!(requested["time"], json!("10"));
    let hash = requested["hash"].as_str().expect("a hash").to_owned();
    assert_eq!(hash.len(), 64);
    let failed = replicate(&mut document, 20).expect("failed").redo["summary"].clone();
    assert_eq!(failed, json!({"state": 150, "time": "20", "failures": 1}));
    // The retry waits for its back-off.
    assert_eq!(
        replicate(&mut document, 500).expect_err("waits").code,
        131_205
    );
    // The persisted state survives a rebuild, and the rebuilt document goes on the same way.
    let dump = document.dump();
    let mut rebuilt = Document::new(program, "space", "key").expect("a document");
    rebuilt.insert(&dump);
    assert_eq!(rebuilt.dump(), dump);
    let next = replicate(&mut document, 1_020).expect("retried");
    let again = replicate(&mut rebuilt, 1_020).expect("retried");
    assert_eq!(next.redo, again.redo);
    assert_eq!(next.redo["summary"], json!({"time": "1020", "failures": 2}));
    let viewer = rebuilt.open_view(Principal::new("ann", "acme"), json!({}));
    assert_eq!(
        rebuilt.view_delta(viewer).expect("a view")["data"]["status"],
        json!(format!("PutFailed;space/key;{hash};1020"))
    );
}

#[test]
fn a_string_ingested_into_a_text_field_starts_its_generation() {
    let (dump, view) = run(
        (
            "ingested_text.a",
            "record R { public int id; public text t; }\ntable<R> rs;\n\
             public formula all = iterate rs;\n@construct { rs <- {t:\"hi\"}; rs <- {t:\"yo\"}; }",
        ),
        json!({}),
    );
    assert_eq!(
        dump["rs"]["2"]["t"],
        json!({"changes": {}, "fragments": {"2": "yo"}, "order": {"0": "2"}, "seq": 0})
    );
    assert_eq!(dump["__auto_gen"], json!(2));
    assert_eq!(view["all"]["1"]["t"], json!({"$g": 1, "$i": "hi", "$s": 0}));
}

#[test]
fn a_patch_builds_records_inside_maps() {
    let (dump, data) = run(corpus!("d2_PatchCreatesMapRecords_success.a"), json!({}));
    assert_eq!(dump["seats"], json!({"k": {"id": 0, "f": 1, "who": ""}}));
    assert_eq!(
        dump["rows"],
        json!({"2": {"a": {"id": 0, "f": 0, "who": "ann"}}})
    );
    assert_eq!(dump["spare"], json!({"id": 0, "f": 4, "who": ""}));
    assert_eq!(data["seats"], json!({"k": {"f": 1, "who": ""}}));
    assert_eq!(data["count"], json!(1));

    // The `apply` command takes the same path: patch the record at k, add one at j, drop k.
    let (name, source) = corpus!("d2_PatchCreatesMapRecords_success.a");
    let program = compile(name, source).expect("compiles");
    let mut document = Document::new(program, "space", "key").expect("a document");
    document
        .execute(
            &json!({"command": "construct", "who": {"agent": "?", "authority": "?"},
            "arg": {}, "timestamp": 0}),
        )
        .expect("construct");
    let record = document
        .execute(
            &json!({"command": "apply", "who": {"agent": "?", "authority": "?"},
            "patch": {"seats": {"k": {"who": "bo"}, "j": {"f": 9}}}, "timestamp": 1}),
        )
        .expect("apply");
    assert_eq!(
        document.dump()["seats"],
        json!({"j": {"id": 0, "f": 9, "who": ""}, "k": {"id": 0, "f": 1, "who": "bo"}})
    );
    assert_eq!(record.undo["seats"]["j"], Json::Null);
    document
        .execute(
            &json!({"command": "apply", "who": {"agent": "?", "authority": "?"},
            "patch": {"seats": {"k": null}}, "timestamp": 2}),
        )
        .expect("apply");
    assert_eq!(
        document.dump()["seats"],
        json!({"j": {"id": 0, "f": 9, "who": ""}})
    );
}

#[test]
fn a_replication_inside_a_record_keeps_its_state_in_each_row() {
    let (name, source) = corpus!("f2_RecordReplication_success.a");
    let program = compile(name, source).expect("compiles");
    let mut document = Document::new(program.clone(), "space", "key").expect("a document");
    let who = json!({"agent": "ann", "authority": "acme"});
    document
        .execute(&json!({"command": "construct", "who": who, "arg": {}, "timestamp": 0}))
        .expect("construct");
    document
        .execute(&json!({"command": "connect", "who": who, "timestamp": 1}))
        .expect("connect");
    for (name, amount) in [("a", 1), ("b", 2)] {
        document
            .execute(&json!({"command": "send", "who": who, "channel": "add",
                "message": {"name": name, "amount": amount}, "timestamp": 1}))
            .expect("add");
    }
    let replicate = |document: &mut Document, timestamp: i64| {
        document.execute(&json!({"command": "replicate", "timestamp": timestamp}))
    };
    let requested = replicate(&mut document, 10).expect("requested").redo;
    assert_eq!(requested["_items"]["1"]["summary"]["state"], json!(110));
    assert_eq!(
        requested["_items"]["2"]["summary"]["key"],
        json!("space/key/_items/2")
    );
    let failed = replicate(&mut document, 20).expect("failed").redo;
    assert_eq!(
        failed["_items"]["1"]["summary"],
        json!({"state": 150, "time": "20", "failures": 1})
    );
    assert_eq!(
        replicate(&mut document, 500).expect_err("waits").code,
        131_205
    );

    // The statuses are stored with the rows and survive a rebuild.
    let dump = document.dump();
    let mut rebuilt = Document::new(program, "space", "key").expect("a document");
    rebuilt.insert(&dump);
    assert_eq!(rebuilt.dump(), dump);
    let next = replicate(&mut document, 1_020).expect("retried");
    let again = replicate(&mut rebuilt, 1_020).expect("retried");
    assert_eq!(next.redo, again.redo);
    assert_eq!(
        next.redo["_items"]["2"]["summary"],
        json!({"time": "1020", "failures": 2})
    );

    // Views show the status through the formula, never the field.
    let viewer = rebuilt.open_view(Principal::new("ann", "acme"), json!({}));
    let view = rebuilt.view_delta(viewer).expect("a view")["data"].clone();
    let row = &view["items"]["1"];
    assert!(row.get("summary").is_none(), "{view}");
    assert!(
        row["status"]
            .as_str()
            .is_some_and(|status| status.starts_with("PutFailed;space/key/_items/1;")),
        "{view}"
    );

    // A deleted row takes its status with it: the next step is the other row's only.
    rebuilt
        .execute(&json!({"command": "send", "who": who, "channel": "drop",
            "message": {"id": 1}, "timestamp": 1_100}))
        .expect("drop");
    assert!(rebuilt.dump()["_items"].get("1").is_none());
    let last = replicate(&mut rebuilt, 3_020).expect("retried").redo;
    assert_eq!(
        last["_items"],
        json!({"2": {"summary": {"time": "3020", "failures": 3}}})
    );
}

/// What an editor does with a view of a text: take `$i` whole, or apply the numbered change
/// sets in order. Returns the text and the count it has. (The test's texts are ASCII.)
fn follow_text(client: &mut (String, i32), delta: &Json) {
    if let Some(whole) = delta.get("$i").and_then(Json::as_str) {
        client.0 = whole.to_owned();
    } else if let Some(object) = delta.as_object() {
        let mut numbered: Vec<(i32, &str)> = object
            .iter()
            .filter_map(|(key, change)| Some((key.parse().ok()?, change.as_str()?)))
            .collect();
        numbered.sort();
        for (number, change) in numbered {
            assert_eq!(number, client.1, "changes arrive in order without gaps");
            let parts: Json = serde_json::from_str(change).expect("a change set");
            let mut out = String::new();
            let mut at = 0;
            for part in parts.as_array().expect("an array") {
                match part {
                    Json::Number(keep) => {
                        let keep = keep.as_u64().expect("a count") as usize;
                        out.push_str(&client.0[at..at + keep]);
                        at += keep;
                    }
                    Json::Array(replace) => {
                        at += replace[0].as_u64().expect("a count") as usize;
                        let lines: Vec<&str> =
                            replace[1..].iter().filter_map(Json::as_str).collect();
                        out.push_str(&lines.join("\n"));
                    }
                    other => panic!("not a change part: {other}"),
                }
            }
            assert_eq!(at, client.0.len(), "the change spans the text");
            client.0 = out;
            client.1 += 1;
        }
    }
    if let Some(count) = delta.get("$s").and_then(Json::as_i64) {
        client.1 = count as i32;
    }
}

#[test]
fn old_text_changes_fold_while_two_editors_keep_editing() {
    let corpus = corpus!("f1_CollaborativeText_success.a");
    let (mut document, views) = two_viewers(corpus);
    let mut clients = vec![(String::new(), 0), (String::new(), 0)];
    let take = |document: &mut Document, clients: &mut Vec<(String, i32)>, index: usize| {
        let delta = document.view_delta(views[index]).expect("a view");
        if let Some(body) = delta["data"].get("body") {
            follow_text(&mut clients[index], body);
        }
    };
    take(&mut document, &mut clients, 0);
    take(&mut document, &mut clients, 1);
    // Ann types at the end of what she has; Bob types at the start of what he has, and takes
    // his view only every fifth round, so his edits are made against older sequences.
    for round in 0..150 {
        let (ann_text, ann_seq) = clients[0].clone();
        edit(
            &mut document,
            "ann",
            ann_seq,
            json!([ann_text.len(), [0, "a"]]),
        );
        let dump = document.dump();
        assert_eq!(dump["lastTaken"], json!(true), "ann's edit {round}");
        if round % 3 == 0 {
            let (bob_text, bob_seq) = clients[1].clone();
            edit(
                &mut document,
                "bob",
                bob_seq,
                json!([[0, "b"], bob_text.len()]),
            );
            assert_eq!(
                document.dump()["lastTaken"],
                json!(true),
                "bob's edit {round}"
            );
        }
        take(&mut document, &mut clients, 0);
        if round % 5 == 4 {
            take(&mut document, &mut clients, 1);
        }
    }
    take(&mut document, &mut clients, 1);
    let dump = document.dump();
    let shown = dump["shown"].as_str().expect("the text").to_owned();
    assert_eq!(shown, format!("{}hello{}", "b".repeat(50), "a".repeat(150)));
    for client in &clients {
        assert_eq!(client.0, shown);
    }
    // The stored form keeps a bounded number of changes; the rest are in the base text.
    let body = &dump["body"];
    let kept = body["changes"].as_object().expect("changes").len();
    assert!(kept < 64, "{kept} changes kept");
    let seq = body["seq"].as_i64().expect("seq");
    assert_eq!(seq as usize + kept, 200);
    assert_eq!(body["order"], json!({"0": "1"}));
    // dump -> insert -> dump is the identity, and the rebuilt text is the same text.
    let program = compile("f1.a", corpus.1).expect("compiles");
    let mut rebuilt = Document::new(program, "space", "key").expect("a document");
    rebuilt.insert(&dump);
    assert_eq!(rebuilt.dump(), dump);
    let late = rebuilt.open_view(Principal::new("cat", "acme"), json!({}));
    assert_eq!(
        rebuilt.view_delta(late).expect("a view")["data"]["body"],
        json!({"$g": 1, "$i": shown, "$s": 200})
    );
    // An edit against a sequence folded away is refused; a viewer that far behind takes the
    // text whole.
    edit(&mut document, "bob", (seq - 1) as i32, json!([[0, "x"]]));
    assert_eq!(document.dump()["lastTaken"], json!(false));
    for _ in 0..70 {
        let (ann_text, ann_seq) = clients[0].clone();
        edit(
            &mut document,
            "ann",
            ann_seq,
            json!([ann_text.len(), [0, "a"]]),
        );
        take(&mut document, &mut clients, 0);
    }
    let behind = document.view_delta(views[1]).expect("a view")["data"]["body"].clone();
    assert_eq!(behind["$i"], document.dump()["shown"], "{behind}");
    assert_eq!(behind["$s"], json!(270));
}

#[test]
fn a_long_edited_text_stores_its_old_changes_in_the_base() {
    let (dump, view) = run(corpus!("f1_TextFoldsOldChanges_success.a"), json!({}));
    let body = &dump["body"];
    let kept = body["changes"].as_object().expect("changes").len();
    let seq = body["seq"].as_i64().expect("seq") as usize;
    assert_eq!(seq + kept, 100);
    assert!(kept < 64 && seq > 0, "{body}");
    let base = body["fragments"]["1"].as_str().expect("the base");
    assert_eq!(base, "x".repeat(seq));
    assert_eq!(
        view["body"],
        json!({"$g": 1, "$i": "x".repeat(100), "$s": 100})
    );
}
