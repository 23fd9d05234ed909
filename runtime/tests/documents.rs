//! Documents end to end: transactions, patches, determinism, reactivity, privacy and limits.

use adama_runtime::Document;
use adama_runtime::Principal;
use adama_runtime::apply_patch;
use adama_runtime::compile;
use proptest::prelude::*;
use serde_json::{Value as Json, json};

const LEDGER: &str = r#"
@connected { return true; }
record Entry { public int id; public string memo; public int amount; private int secret; }
table<Entry> _entries;
public int total;
public int other;
public formula count = _entries.size();
public formula doubled = total * 2;
message Add { string memo; int amount; }
message Drop { int id; }
channel add(Add a) {
  if (a.amount < 0) { abort; }
  _entries <- {memo: a.memo, amount: a.amount, secret: 7};
  total += a.amount;
}
channel drop(Drop d) {
  if (_entries[d.id] as entry) { total -= entry.amount; entry.delete(); }
}
channel poke(Add a) { other += a.amount; }
channel spin(Add a) { while (true) { other++; } }
procedure deep(int n) -> int { return deep(n + 1); }
channel recurse(Add a) { other = deep(0); }
"#;

fn document(source: &str) -> Document {
    let program = compile("test.a", source).unwrap_or_else(|diagnostics| {
        panic!(
            "the program does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let mut document = Document::new(program, "space", "key").expect("a fresh document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0, "entropy": 0}))
        .expect("construct");
    document
}

fn who(agent: &str) -> Json {
    json!({"agent": agent, "authority": "acme"})
}

fn connect(document: &mut Document, agent: &str) {
    document
        .execute_batch(&json!({"command": "connect", "who": who(agent), "timestamp": 1}))
        .expect("connect");
}

fn send(
    document: &mut Document,
    agent: &str,
    channel: &str,
    message: Json,
    timestamp: i64,
) -> Result<adama_runtime::TransactionRecord, adama_runtime::CommandError> {
    document.execute(&json!({"command": "send", "who": who(agent), "channel": channel, "message": message, "timestamp": timestamp}))
}

/// The stored document without the internal fields that a patch may carry differently.
fn state(document: &Document) -> Json {
    normalized(document.dump())
}

fn normalized(mut dump: Json) -> Json {
    if let Some(object) = dump.as_object_mut() {
        // The dump leaves out an empty client list or queue, which a patch writes as `{}`.
        for key in ["__clients", "__messages"] {
            if object
                .get(key)
                .is_some_and(|value| value.as_object().is_some_and(|map| map.is_empty()))
            {
                object.shift_remove(key);
            }
        }
    }
    dump
}

#[test]
fn redo_and_undo_move_between_states() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    let before = state(&document);
    let record = send(
        &mut document,
        "ann",
        "add",
        json!({"memo": "tea", "amount": 4}),
        10,
    )
    .expect("add");
    let after = state(&document);
    let mut forward = before.clone();
    apply_patch(&mut forward, &record.redo);
    assert_eq!(
        normalized(forward),
        after,
        "redo applied to the old state gives the new"
    );
    let mut backward = after.clone();
    apply_patch(&mut backward, &record.undo);
    assert_eq!(
        normalized(backward),
        before,
        "undo applied to the new state gives the old"
    );
    assert_eq!(record.redo["_entries"]["1"]["memo"], "tea");
    assert_eq!(record.undo["_entries"]["1"], Json::Null);
}

#[test]
fn applying_undo_patches_rewinds_the_document() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    let start = state(&document);
    let mut undos = Vec::new();
    for (memo, amount) in [("a", 1), ("b", 2), ("c", 3)] {
        undos.push(
            send(
                &mut document,
                "ann",
                "add",
                json!({"memo": memo, "amount": amount}),
                10,
            )
            .expect("add")
            .undo,
        );
    }
    send(&mut document, "ann", "drop", json!({"id": 2}), 11)
        .map(|record| undos.push(record.undo))
        .expect("drop");
    let mut rewind = json!({});
    for undo in undos.iter().rev() {
        adama_runtime::merge_patch(&mut rewind, undo);
    }
    let user: serde_json::Map<String, Json> = rewind
        .as_object()
        .expect("object")
        .iter()
        .filter(|(key, _)| !key.starts_with("__"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    document
        .execute(&json!({"command": "apply", "who": who("ann"), "patch": user, "timestamp": 12}))
        .expect("apply");
    let rewound = state(&document);
    assert_eq!(rewound["_entries"], start["_entries"]);
    assert_eq!(rewound["total"], start["total"]);
}

#[test]
fn an_abort_changes_nothing_and_says_why() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    let before = state(&document);
    let error = send(
        &mut document,
        "ann",
        "add",
        json!({"memo": "bad", "amount": -1}),
        10,
    )
    .expect_err("aborts");
    assert_eq!(error.code, 127_152);
    assert_eq!(state(&document), before);
}

#[test]
fn a_runaway_loop_is_stopped_by_the_budget_and_rolled_back() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    document.limits_mut().budget = 100_000;
    let before = state(&document);
    let error = send(&mut document, "ann", "spin", json!({"amount": 1}), 10).expect_err("runs out");
    assert_eq!(error.code, 950_384);
    assert!(error.message.contains("budget"));
    assert_eq!(state(&document), before);
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    // The host gives the interpreter its stack, as `adama run` does.
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(|| {
            let mut document = document(LEDGER);
            connect(&mut document, "ann");
            send(&mut document, "ann", "recurse", json!({"amount": 1}), 10).expect_err("too deep")
        });
    let error = worker.expect("thread").join().expect("no crash");
    assert!(error.message.contains("deeper"), "{}", error.message);
}

#[test]
fn an_unrelated_write_does_not_recompute_a_formula() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    let view = document.open_view(Principal::new("ann", "acme"), json!({}));
    document.view_delta(view).expect("first view");
    send(&mut document, "ann", "poke", json!({"amount": 1}), 10).expect("poke");
    let before = document.formula_evaluations();
    let delta = document.view_delta(view).expect("delta");
    assert_eq!(
        document.formula_evaluations(),
        before,
        "total and the table did not change"
    );
    assert_eq!(delta["data"], json!({"other": 1}));
    send(
        &mut document,
        "ann",
        "add",
        json!({"memo": "x", "amount": 2}),
        11,
    )
    .expect("add");
    document.view_delta(view).expect("delta");
    assert!(
        document.formula_evaluations() > before,
        "a write to total recomputes doubled"
    );
}

#[test]
fn views_get_the_full_view_then_minimal_deltas_without_private_fields() {
    let mut document = document(
        r#"
        @connected { return true; }
        record Line { public principal who; public string what; private int flags; }
        table<Line> _lines;
        public formula lines = iterate _lines;
        private int hidden;
        message Say { string what; }
        channel say(Say s) { _lines <- {who: @who, what: s.what}; hidden++; }
    "#,
    );
    connect(&mut document, "ann");
    let view = document.open_view(Principal::new("ann", "acme"), json!({}));
    assert_eq!(
        document.view_delta(view).expect("first"),
        json!({"seq": 3}),
        "an empty list is not sent"
    );
    send(&mut document, "ann", "say", json!({"what": "hi"}), 5).expect("say");
    assert_eq!(
        document.view_delta(view).expect("delta"),
        json!({"data": {"lines": {"1": {"who": {"@t": 1, "agent": "ann", "authority": "acme"}, "what": "hi"}, "@o": [1]}}, "seq": 4})
    );
    send(&mut document, "ann", "say", json!({"what": "yo"}), 6).expect("say");
    assert_eq!(
        document.view_delta(view).expect("delta"),
        json!({"data": {"lines": {"2": {"who": {"@t": 1, "agent": "ann", "authority": "acme"}, "what": "yo"}, "@o": [1, 2]}}, "seq": 5})
    );
    assert_eq!(
        document.view_delta(view).expect("nothing changed"),
        json!({"seq": 5})
    );
}

#[test]
fn privacy_policies_and_bubbles_are_per_viewer() {
    let mut document = document(
        r#"
        @connected { return true; }
        record Card { public int id; private principal owner; use_policy<mine> int rank;
          policy mine { return owner == @who; } }
        table<Card> _cards;
        public formula all = iterate _cards;
        bubble count = (iterate _cards where owner == @who).size();
        viewer_is<keeper> int secret = 42;
        public principal keeper;
        message Deal { int rank; }
        channel deal(Deal d) { _cards <- {owner: @who, rank: d.rank}; keeper = @who; }
    "#,
    );
    connect(&mut document, "ann");
    connect(&mut document, "bo");
    let ann = document.open_view(Principal::new("ann", "acme"), json!({}));
    let bo = document.open_view(Principal::new("bo", "acme"), json!({}));
    send(&mut document, "ann", "deal", json!({"rank": 12}), 5).expect("deal");
    let ann_view = document.view_delta(ann).expect("ann");
    let bo_view = document.view_delta(bo).expect("bo");
    assert_eq!(ann_view["data"]["all"]["1"]["rank"], 12);
    assert_eq!(ann_view["data"]["count"], 1);
    assert_eq!(ann_view["data"]["secret"], 42);
    assert!(
        bo_view["data"]["all"]["1"].get("rank").is_none(),
        "{bo_view}"
    );
    assert_eq!(bo_view["data"]["count"], 0);
    assert!(bo_view["data"].get("secret").is_none());
    assert!(
        !bo_view.to_string().contains("12"),
        "bo never sees the rank: {bo_view}"
    );
}

#[test]
fn the_state_machine_runs_timers_when_due() {
    let mut document = document(
        r#"
        public int ticks;
        @construct { transition #tick in 1; }
        #tick { ticks++; transition #tick in 1; }
    "#,
    );
    assert_eq!(document.next_wake(), Some(1000));
    document
        .execute_batch(&json!({"command": "invalidate", "timestamp": 500}))
        .expect("early");
    assert_eq!(document.dump()["ticks"], 0);
    document
        .execute_batch(&json!({"command": "invalidate", "timestamp": 1000}))
        .expect("due");
    assert_eq!(document.dump()["ticks"], 1);
    assert_eq!(document.next_wake(), Some(2000));
}

const TIMED: &str = r#"
    @connected { return true; }
    message Answer { int value; }
    channel<Answer> answer;
    public int got = -1;
    public int asked;
    @construct { transition #ask; }
    #ask {
      asked++;
      future<maybe<Answer>> reply = answer.fetchTimed(@no_one, 2.0);
      if (reply.await() as a) { got = a.value; } else { got = 0; }
    }
"#;

#[test]
fn a_timed_ask_gives_up_at_its_deadline() {
    let mut document = document(TIMED);
    assert!(document.meta().blocked, "the ask waits for an answer");
    assert_eq!(
        document.dump()["__timeouts"]["1"]["timestamp"],
        "0",
        "its clock survives the rollback"
    );
    assert_eq!(document.next_wake(), Some(2000));
    document
        .execute_batch(&json!({"command": "invalidate", "timestamp": 1500}))
        .expect("early");
    assert_eq!(document.dump()["got"], -1);
    document
        .execute_batch(&json!({"command": "invalidate", "timestamp": 2000}))
        .expect("due");
    assert_eq!(document.dump()["got"], 0, "no answer: an empty maybe");
    assert_eq!(document.dump()["asked"], 1, "the run committed once");
    assert!(
        document.dump().get("__timeouts").is_none(),
        "a resolved ask drops its clock"
    );
}

#[test]
fn a_timed_ask_takes_an_answer_before_its_deadline() {
    let mut document = document(TIMED);
    connect(&mut document, "ann");
    let view = document.open_view(Principal::no_one(), json!({}));
    let first = document.view_delta(view).expect("view");
    assert_eq!(first["outstanding"][0]["timeout"]["seconds"], 2.0);
    document
        .execute_batch(&json!({"command": "send", "who": {"agent": "?", "authority": "?"}, "channel": "answer", "message": {"value": 7}, "timestamp": 1000}))
        .expect_err("@no_one is not connected");
    document.execute_batch(&json!({"command": "connect", "who": {"agent": "?", "authority": "?"}, "timestamp": 900})).expect("connect");
    document
        .execute_batch(&json!({"command": "send", "who": {"agent": "?", "authority": "?"}, "channel": "answer", "message": {"value": 7}, "timestamp": 1000}))
        .expect("answer");
    assert_eq!(document.dump()["got"], 7);
    let delta = document.view_delta(view).expect("delta");
    assert_eq!(delta["outstanding"], json!([]));
}

fn replay(commands: &[Json]) -> Vec<String> {
    let mut document = document(LEDGER);
    commands
        .iter()
        .map(|command| match document.execute_batch(command) {
            Ok(record) => format!("{}|{}|{}", record.seq, record.redo, record.undo),
            Err(error) => format!("error {}", error.code),
        })
        .collect()
}

fn command_strategy() -> impl Strategy<Value = Json> {
    let agent = prop_oneof![Just("ann"), Just("bo")];
    prop_oneof![
        agent.clone().prop_map(|a| json!({"command": "connect", "who": who(a), "timestamp": 3})),
        agent.clone().prop_map(|a| json!({"command": "disconnect", "who": who(a), "timestamp": 4})),
        (agent.clone(), "[a-z]{0,5}", -3i32..20, 5i64..1000).prop_map(|(a, memo, amount, t)| json!({"command": "send", "who": who(a), "channel": "add", "message": {"memo": memo, "amount": amount}, "timestamp": t})),
        (agent.clone(), 0i32..8, 5i64..1000).prop_map(|(a, id, t)| json!({"command": "send", "who": who(a), "channel": "drop", "message": {"id": id}, "timestamp": t})),
        (agent, 0i32..5).prop_map(|(a, n)| json!({"command": "send", "who": who(a), "channel": "poke", "message": {"amount": n}, "timestamp": 7})),
        (0i64..2000).prop_map(|t| json!({"command": "invalidate", "timestamp": t})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn patches_are_exact_inverses(commands in prop::collection::vec(command_strategy(), 1..30)) {
        let mut document = document(LEDGER);
        for command in &commands {
            let before = state(&document);
            if let Ok(record) = document.execute(command) {
                let after = state(&document);
                let mut forward = before.clone();
                apply_patch(&mut forward, &record.redo);
                prop_assert_eq!(&normalized(forward), &after);
                let mut backward = after.clone();
                apply_patch(&mut backward, &record.undo);
                prop_assert_eq!(&normalized(backward), &before);
            } else {
                prop_assert_eq!(state(&document), before);
            }
        }
    }

    #[test]
    fn the_stored_document_rebuilds_the_document(commands in prop::collection::vec(command_strategy(), 1..30)) {
        let mut document = document(LEDGER);
        for command in &commands {
            let _ = document.execute_batch(command);
        }
        let dump = document.dump();
        let program = compile("test.a", LEDGER).expect("compiles");
        let mut rebuilt = Document::new(program, "space", "key").expect("fresh");
        rebuilt.insert(&dump);
        prop_assert_eq!(rebuilt.dump().to_string(), dump.to_string());
        // And it goes on the same way.
        let next = json!({"command": "send", "who": who("ann"), "channel": "poke", "message": {"amount": 2}, "timestamp": 5000});
        let a = document.execute_batch(&next).map(|record| (record.redo, record.undo));
        let b = rebuilt.execute_batch(&next).map(|record| (record.redo, record.undo));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn replaying_the_same_commands_gives_the_same_bytes(commands in prop::collection::vec(command_strategy(), 1..30)) {
        prop_assert_eq!(replay(&commands), replay(&commands));
    }

    #[test]
    fn no_viewer_receives_a_private_value(commands in prop::collection::vec(command_strategy(), 1..20)) {
        let mut document = document(LEDGER);
        let views: Vec<_> = ["ann", "bo"].iter().map(|agent| document.open_view(Principal::new(agent, "acme"), json!({}))).collect();
        for command in &commands {
            let _ = document.execute_batch(command);
            for view in &views {
                let delta = document.view_delta(*view).expect("delta");
                prop_assert!(!delta.to_string().contains("secret"), "{}", delta);
                prop_assert!(delta.get("data").and_then(|d| d.get("_entries")).is_none());
            }
        }
    }
}

#[derive(Debug, Default)]
struct Counting {
    statements: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl adama_runtime::StatementHook for Counting {
    fn before_statement(&mut self, _unit: u32, _stmt: u32) {
        self.statements
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_debugger_sees_every_statement() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    document.set_hook(Some(Box::new(Counting {
        statements: std::sync::Arc::clone(&counter),
    })));
    send(
        &mut document,
        "ann",
        "add",
        json!({"memo": "x", "amount": 1}),
        5,
    )
    .expect("add");
    // The handler runs `if`, then the ingestion and the `+=`.
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), 3);
}

/// Writes down what a debugger hears: statements, calls entered and left.
#[derive(Debug, Default)]
struct Listening {
    heard: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Listening {
    fn note(&self, what: String) {
        if let Ok(mut heard) = self.heard.lock() {
            heard.push(what);
        }
    }
}

impl adama_runtime::StatementHook for Listening {
    fn before_statement(&mut self, unit: u32, stmt: u32) {
        self.note(format!("statement {unit}.{stmt}"));
    }

    fn enter(&mut self, callee: adama_runtime::Callee) {
        self.note(match callee {
            adama_runtime::Callee::Function(function) => format!("enter function {function}"),
            adama_runtime::Callee::Formula { slot, .. } => format!("enter formula {slot}"),
        });
    }

    fn leave(&mut self) {
        self.note("leave".to_owned());
    }
}

#[test]
fn a_debugger_hears_each_call_enter_and_leave_around_its_statements() {
    let mut document = document(
        r#"
        @connected { return true; }
        public int total;
        public formula twice = doubled(total);
        message Add { int amount; }
        function doubled(int x) -> int {
          int y = x * 2;
          return y;
        }
        channel add(Add a) {
          total += doubled(a.amount);
          total += twice;
        }
    "#,
    );
    connect(&mut document, "ann");
    let heard = std::sync::Arc::default();
    document.set_hook(Some(Box::new(Listening {
        heard: std::sync::Arc::clone(&heard),
    })));
    send(&mut document, "ann", "add", json!({"amount": 3}), 5).expect("add");
    let heard = heard.lock().map(|heard| heard.clone()).unwrap_or_default();
    let shape: Vec<&str> = heard
        .iter()
        .map(|what| what.split(' ').next().unwrap_or(""))
        .collect();
    // The handler's first statement calls the function (two statements); the second reads the
    // formula, which calls it again.
    assert_eq!(
        shape,
        [
            "statement",
            "enter",
            "statement",
            "statement",
            "leave",
            "statement",
            "enter",
            "enter",
            "statement",
            "statement",
            "leave",
            "leave"
        ],
        "{heard:?}"
    );
    assert!(heard[1].starts_with("enter function"), "{heard:?}");
    assert!(heard[6].starts_with("enter formula"), "{heard:?}");
    assert_eq!(heard[1], heard[7], "the same function, from the formula");
    assert_eq!(document.dump()["total"], json!(18));
}

#[test]
fn cron_jobs_run_once_per_period() {
    let mut document = document(
        r#"
        public int runs;
        @cron nightly daily 8:30 { runs++; }
    "#,
    );
    let day = 86_400_000i64;
    let at = |ms: i64| json!({"command": "invalidate", "timestamp": ms});
    assert_eq!(
        document.next_wake(),
        Some(8 * 3_600_000 + 30 * 60_000),
        "the first 8:30 after creation"
    );
    document.execute_batch(&at(8 * 3_600_000)).expect("before");
    assert_eq!(document.dump()["runs"], 0);
    document.execute_batch(&at(9 * 3_600_000)).expect("after");
    assert_eq!(document.dump()["runs"], 1);
    document
        .execute_batch(&at(10 * 3_600_000))
        .expect("same day");
    assert_eq!(document.dump()["runs"], 1, "once per day");
    document
        .execute_batch(&at(day + 9 * 3_600_000))
        .expect("next day");
    assert_eq!(document.dump()["runs"], 2);
    assert_eq!(
        document.dump()["__nightly"],
        (day + 9 * 3_600_000).to_string()
    );
}

#[test]
fn a_blocked_run_shows_what_it_did_before_blocking() {
    let mut document = document(
        r#"
        @connected { return true; }
        message Move { int cell; }
        channel<Move> move;
        public int seen;
        public int last;
        @construct { transition #round; }
        #round { seen = 5; last = move.fetch(@no_one).await().cell; }
    "#,
    );
    let view = document.open_view(Principal::no_one(), json!({}));
    let delta = document.view_delta(view).expect("view");
    assert_eq!(document.dump()["seen"], 0, "the store rolled back");
    assert_eq!(
        delta["data"]["seen"], 5,
        "the view shows the run's values, as the reference does"
    );
    assert_eq!(
        delta["seq"],
        document.meta().seq - 1,
        "and the sequence before the blocked bump"
    );
    assert_eq!(delta["outstanding"][0]["channel"], "move");
}

#[test]
fn a_marked_send_happens_at_most_once_until_its_marker_expires() {
    let mut document = document(LEDGER);
    connect(&mut document, "ann");
    let marked = |timestamp: i64| json!({"command": "send", "who": who("ann"), "channel": "poke", "message": {"amount": 1}, "marker": "m-1", "timestamp": timestamp});
    let record = document.execute(&marked(10)).expect("first");
    assert_eq!(record.redo["__dedupe"]["ann/acme/m-1"], "10");
    let error = document.execute(&marked(11)).expect_err("duplicate");
    assert_eq!(error.code, 143_407);
    assert_eq!(document.dump()["other"], 1);
    let error = document
        .execute(&json!({"command": "expire", "limit": 1000, "timestamp": 500}))
        .expect_err("nothing old enough");
    assert_eq!(error.code, 131_203);
    document
        .execute(&json!({"command": "expire", "limit": 1000, "timestamp": 2000}))
        .expect("expire");
    assert!(document.dump().get("__dedupe").is_none());
    document.execute(&marked(2001)).expect("sent again");
    assert_eq!(document.dump()["other"], 2);
}

#[test]
fn traverse_follows_the_joins_of_a_graph_index() {
    let mut document = document(
        r#"
        @connected { return true; }
        record User { public int id; public string name; }
        record Team { public int id; public string title; }
        record Member { public int id; public int user; public maybe<int> team; }
        table<User> _users;
        table<Team> _teams;
        table<Member> _members;
        assoc<User, Team> inTeam;
        join inTeam via _members[m] from m.user to m.team;
        public formula aliceTeams = iterate _users where name == "alice" traverse inTeam;
        @construct {
          _users <- {name: "alice"};
          _users <- {name: "bob"};
          _teams <- {title: "red"};
          _teams <- {title: "blue"};
          _members <- {user: 1, team: 4};
          _members <- {user: 2, team: 3};
          _members <- {user: 1};
        }
    "#,
    );
    let view = document.open_view(Principal::no_one(), json!({}));
    let delta = document.view_delta(view).expect("view");
    assert_eq!(
        delta["data"]["aliceTeams"],
        json!({"4": {"id": 4, "title": "blue"}, "@o": [4]}),
        "row ids are shared by all tables: alice is 1, blue is 4; an empty end is no edge"
    );
}

fn any_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Json::from),
        "[a-z?]{0,6}".prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Json::Object(map.into_iter().collect())),
        ]
    })
}

fn malformed_command() -> impl Strategy<Value = Json> {
    let kind = prop_oneof![
        Just("construct"),
        Just("connect"),
        Just("disconnect"),
        Just("send"),
        Just("invalidate"),
        Just("apply"),
        Just("load"),
        Just("delete"),
        Just("attach"),
        Just("expire"),
        Just("deliver"),
        Just("web_put"),
        Just("web_get"),
        Just("web_delete"),
        Just("teleport"),
    ];
    (
        kind,
        prop::collection::btree_map(
            prop_oneof![
                Just("who"),
                Just("timestamp"),
                Just("channel"),
                Just("message"),
                Just("patch"),
                Just("arg"),
                Just("limit"),
                Just("asset"),
                Just("put"),
                Just("get"),
                Just("marker")
            ],
            any_json(),
            0..6,
        ),
    )
        .prop_map(|(kind, fields)| {
            let mut object: serde_json::Map<String, Json> = fields
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect();
            object.insert("command".into(), Json::from(kind));
            Json::Object(object)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn malformed_commands_never_panic_and_a_refused_one_changes_nothing(commands in prop::collection::vec(malformed_command(), 1..12)) {
        let mut document = document(LEDGER);
        connect(&mut document, "ann");
        for command in &commands {
            let before = document.dump();
            if document.execute(command).is_err() {
                prop_assert_eq!(document.dump(), before);
            }
        }
    }
}

#[test]
fn a_holder_is_written_through_write() {
    let mut document = document(
        r#"
        @connected { return true; }
        message Config { int volume; string theme; }
        public holder<Config> config;
        public formula loud = config.volume > 5;
        message SetVolume { int volume; }
        channel setVolume(SetVolume s) { config.write().volume = s.volume; }
    "#,
    );
    connect(&mut document, "ann");
    let record = send(&mut document, "ann", "setVolume", json!({"volume": 9}), 5).expect("set");
    assert_eq!(record.redo["config"]["volume"], 9);
    assert_eq!(document.dump()["config"], json!({"volume": 9, "theme": ""}));
}

#[test]
fn templates_csv_and_message_methods_work_in_handlers() {
    let mut document = document(
        r#"
        @connected { return true; }
        template greeting : `g`<p>Hello [[who]] & [[missing]]!</p>`g`
        message Vars { string who; }
        message Line { string sku; int qty; @csv; }
        message Form { string name; int age; }
        public string page;
        public string raw;
        public string export;
        public string name;
        public int age;
        channel render(Vars v) {
          page = Template.html(greeting, v.to_dynamic()).getOrDefaultTo("");
          raw = Template.raw(greeting, v.to_dynamic()).getOrDefaultTo("");
        }
        channel dump(Line[] lines) {
          table<Line> t;
          t <- lines;
          export = t.to_csv();
        }
        channel submit(Form f) {
          Form copy = f;
          dynamic snapshot = copy.to_dynamic();
          copy.reset();
          age = copy.age;
          copy.ingest_dynamic(snapshot);
          name = copy.name;
        }
    "#,
    );
    connect(&mut document, "ann");
    send(
        &mut document,
        "ann",
        "render",
        json!({"who": "<b>Ann</b>"}),
        5,
    )
    .expect("render");
    assert_eq!(
        document.dump()["page"],
        "<p>Hello &lt;b&gt;Ann&lt;/b&gt; & !</p>"
    );
    assert_eq!(document.dump()["raw"], "<p>Hello <b>Ann</b> & !</p>");
    send(
        &mut document,
        "ann",
        "dump",
        json!([{"sku": "a,1", "qty": 2}, {"sku": "b", "qty": 3}]),
        6,
    )
    .expect("dump");
    assert_eq!(document.dump()["export"], "sku,qty\r\n\"a,1\",2\r\nb,3");
    send(
        &mut document,
        "ann",
        "submit",
        json!({"name": "Zoe", "age": 41}),
        7,
    )
    .expect("submit");
    assert_eq!(document.dump()["age"], 0, "reset gives the defaults");
    assert_eq!(
        document.dump()["name"],
        "Zoe",
        "ingest_dynamic brings the fields back"
    );
}

#[test]
fn in_tests_an_aborting_handler_and_an_aborts_block_are_undone() {
    let program = compile(
        "tests.a",
        r#"
        public int x;
        public int y;
        message M { int v; }
        channel add(M m) { x += m.v; if (m.v < 0) { abort; } y += 1; }
        test rolled {
          @send add(@no_one, {v: 3})
          @send add(@no_one, {v: -1})
          assert x == 3;
          assert y == 1;
        }
        test aborts {
          @aborts { x = 7; abort; }
          assert x == 0;
        }
    "#,
    )
    .expect("compiles");
    let results = adama_runtime::run_tests(&program);
    let counts: Vec<(String, u32, u32)> = results
        .iter()
        .map(|result| (result.name.clone(), result.passed, result.total))
        .collect();
    assert_eq!(
        counts,
        [("rolled".to_owned(), 2, 2), ("aborts".to_owned(), 2, 2)]
    );
}

#[test]
fn documents_of_one_loaded_program_keep_their_own_state() {
    let program = compile("test.a", LEDGER).expect("compiles");
    let loaded = adama_runtime::Loaded::new(program);
    let construct = json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0, "entropy": 0});
    let mut first =
        Document::of_loaded(std::sync::Arc::clone(&loaded), "space", "one").expect("first");
    let mut second = Document::of_loaded(loaded, "space", "two").expect("second");
    for document in [&mut first, &mut second] {
        document.execute_batch(&construct).expect("construct");
        connect(document, "ann");
    }
    send(
        &mut first,
        "ann",
        "add",
        json!({"memo": "tea", "amount": 4}),
        10,
    )
    .expect("add");
    assert_eq!(first.dump()["total"], 4);
    assert_eq!(second.dump()["total"], 0, "the second document saw nothing");
    assert_eq!(second.dump()["__snapshot"], "space/two");
}

#[test]
fn tuple_members_read_the_element_the_checker_resolved() {
    let document = document(
        "public int second;\npublic int eleventh;\n@construct {\n  tuple<int, int, int, int, int, int, int, int, int, int, int> t = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);\n  second = t.second;\n  eleventh = t.pos_11;\n}\n",
    );
    let dump = state(&document);
    assert_eq!(dump["second"], json!(2));
    assert_eq!(dump["eleventh"], json!(11));
}

#[test]
fn a_tuple_position_without_a_name_does_not_compile() {
    for member in ["pos_0", "pos_1", "pos_3"] {
        let source = format!(
            "public int x;\n@construct {{\n  tuple<int, int> t = (1, 2);\n  x = t.{member};\n}}\n"
        );
        let errors = compile("test.a", &source).err().unwrap_or_default();
        assert!(
            errors.iter().any(|diagnostic| diagnostic
                .message
                .contains(&format!("lacks field '{member}'"))),
            "{member}: {:?}",
            errors.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_constructor_argument_that_does_not_fit_its_message_is_refused() {
    let program = compile(
        "made.a",
        "message Setup { int size; string title; }\npublic int size;\npublic string title;\n\
         @construct (Setup s) { size = s.size; title = s.title; }",
    )
    .expect("compiles");
    let who = json!({"agent": "?", "authority": "?"});
    for arg in [
        json!(3),
        json!("big"),
        json!([{"size": 3}]),
        json!({"size": 2.5}),
        json!({"size": 3, "title": {"text": "x"}}),
    ] {
        let mut document = Document::new(program.clone(), "space", "key").expect("document");
        let before = document.dump();
        let error = document
            .execute(&json!({"command": "construct", "who": who, "arg": arg, "timestamp": 0}))
            .expect_err("refused");
        assert_eq!(error.code, 145_627, "{arg}");
        assert!(
            error.message.contains("'size'")
                || error.message.contains("'title'")
                || error.message.contains("the message must be"),
            "{}",
            error.message
        );
        assert_eq!(document.dump(), before, "{arg} changed the document");
    }
    let mut document = Document::new(program, "space", "key").expect("document");
    let record = document
        .execute(&json!({"command": "construct", "who": who, "arg": {"size": "4", "title": "t"}, "timestamp": 0}))
        .expect("fits");
    assert_eq!(record.redo["size"], json!(4));
    assert_eq!(record.redo["title"], json!("t"));
}
