//! A live document: the program, its store, its internal fields and its open views.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use adama_compiler::ir::{FieldKind, FieldLayout, LayoutId, MessageId, Program, RecordId};
use adama_compiler::ty::Ty;

use crate::error::Fault;
use crate::random::JavaRandom;
use crate::run::Run;
use crate::store::{Parent, Store};
use crate::value::{DateTime, Message, Principal, RecordRef, Shape, Value};
use crate::view::View;

/// The document's internal fields (the `__` keys of the stored document).
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub state: Arc<str>,
    pub constructed: bool,
    pub next_time: i64,
    pub last_expire_time: i64,
    pub blocked: bool,
    pub seq: i32,
    pub entropy: i64,
    pub auto_future_id: i32,
    pub connection_id: i32,
    pub message_id: i32,
    pub time: i64,
    pub timezone: Arc<str>,
    pub auto_table_row_id: i32,
    /// The generation counter of collaborative texts: each whole assignment takes the next.
    pub auto_gen: i32,
    pub clients: Arc<BTreeMap<i32, Principal>>,
    pub messages: Arc<BTreeMap<i32, QueuedMessage>>,
    /// Timed asks (`fetchTimed`) by future id: when the first ask was made, and for how long.
    pub timeouts: Arc<BTreeMap<i32, Timeout>>,
    /// When each cron job last ran (or when its clock started), in document ms.
    pub crons: Arc<BTreeMap<String, i64>>,
    /// At-most-once send markers (`agent/authority/marker`) and when they were used.
    pub dedupe: Arc<BTreeMap<String, i64>>,
}

/// A timed ask's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeout {
    /// The document time of the first ask, in ms.
    pub started: i64,
    pub seconds: f64,
}

impl Timeout {
    /// When the ask gives up, in document ms.
    pub fn deadline(&self) -> i64 {
        self.started.saturating_add((self.seconds * 1000.0) as i64)
    }
}

impl Default for Meta {
    fn default() -> Meta {
        Meta {
            state: Arc::from(""),
            constructed: false,
            next_time: 0,
            last_expire_time: 0,
            blocked: false,
            seq: 0,
            entropy: 0,
            auto_future_id: 0,
            connection_id: 0,
            message_id: 0,
            time: 0,
            timezone: Arc::from("UTC"),
            auto_table_row_id: 0,
            auto_gen: 0,
            clients: Arc::new(BTreeMap::new()),
            messages: Arc::new(BTreeMap::new()),
            timeouts: Arc::new(BTreeMap::new()),
            crons: Arc::new(BTreeMap::new()),
            dedupe: Arc::new(BTreeMap::new()),
        }
    }
}

impl Meta {
    /// Queues a message in `__messages`, stamped with the current sequence and time.
    pub fn enqueue(&mut self, who: Principal, channel: String, message: serde_json::Value) {
        let task = QueuedMessage {
            who,
            channel,
            seq: self.seq,
            timestamp: self.time,
            message,
        };
        Arc::make_mut(&mut self.messages).insert(self.message_id, task);
        self.message_id += 1;
    }
}

/// A message waiting in `__messages` for the state machine (or for an async channel).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    pub who: Principal,
    pub channel: String,
    pub seq: i32,
    pub timestamp: i64,
    pub message: serde_json::Value,
}

/// Limits that keep user code from running away.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Loop iterations and calls one transaction may make.
    pub budget: u64,
    /// Nested calls of user code.
    pub max_depth: u32,
    /// Records a document may hold.
    pub max_records: usize,
    /// Bytes of values and records one transaction may allocate (an estimate; see
    /// `runtime/src/memory.rs`): a transaction that would allocate more rolls back with
    /// [`crate::codes::MEMORY_EXHAUSTED`].
    pub transaction_bytes: u64,
    /// Bytes of values and records a document may hold (the same estimate): a transaction that
    /// would grow the document beyond it rolls back with [`crate::codes::MEMORY_EXHAUSTED`].
    pub document_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            budget: 10_000_000,
            max_depth: 200,
            max_records: 5_000_000,
            transaction_bytes: 64 << 20,
            document_bytes: 1 << 30,
        }
    }
}

/// A formula's cached value and what it read.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub value: Value,
    pub deps: Vec<Dep>,
}

/// Something a formula read, with its generation at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dep {
    Slot {
        record: u32,
        slot: u32,
        generation: u64,
    },
    Table {
        table: u32,
        generation: u64,
    },
    Clock {
        time: i64,
    },
    /// Valid while the document clock is before this time (a `cached<every …>` period).
    Until {
        time: i64,
    },
}

/// An ask of an async channel that has not been answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub id: i32,
    pub channel: String,
    pub who: Principal,
    pub array: bool,
    pub options: Option<(Vec<serde_json::Value>, i32, i32)>,
    /// For `fetchTimed`: the ask's clock.
    pub timeout: Option<Timeout>,
}

/// What the runtime derives from a program once, before any document of it runs: immutable,
/// and shared by every document of the program.
#[derive(Debug)]
pub struct Loaded {
    pub(crate) program: Arc<Program>,
    /// The shape of each message layout, by message id.
    pub(crate) shapes: Vec<Arc<Shape>>,
    /// The library function each builtin call resolves to, by unit and expression id.
    pub(crate) natives: Vec<Vec<crate::call::Native>>,
    /// The shape of every object literal (`{who: …, what: …}`), by unit and expression id,
    /// made once so that building a message is no lookup.
    pub(crate) object_shapes: Vec<Vec<Option<Arc<Shape>>>>,
    /// Whether no view of the program can differ from another (one shared delta serves all).
    pub(crate) viewer_independent: bool,
}

/// Formula caches: values computed from the store, kept until what they read changes.
#[derive(Debug, Default)]
pub(crate) struct Formulas {
    /// By (record, slot).
    pub cache: HashMap<(u32, u32), Cached>,
    /// What the formulas being computed read, innermost last.
    pub tracking: Vec<Vec<Dep>>,
    /// How many times a formula was computed (not read from its cache).
    pub evaluations: u64,
    /// The cached formulas (`cached<…>`) computed by the current transaction: an abort drops
    /// them, as they may have read what it undoes.
    pub fresh_cached: Vec<(u32, u32)>,
}

/// The open views and the delta they share when they cannot differ.
#[derive(Debug, Default)]
pub(crate) struct Views {
    pub open: Vec<View>,
    pub shared: crate::view::SharedView,
}

/// What a `test` block reports while it runs.
#[derive(Debug, Default)]
pub(crate) struct TestReport {
    pub log: Vec<String>,
    /// (passed, total) assertions.
    pub asserts: (u32, u32),
    pub failures: Vec<String>,
    /// The internal fields as the test last committed them.
    pub checkpoint_meta: Meta,
}

/// A document.
///
/// Who owns what, and for how long:
/// - the loaded program ([`Loaded`]): immutable, shared by every document of the program;
/// - the stored state (`store`, `root`, `meta`): what [`Document::dump`] writes and
///   [`Document::insert`] rebuilds; a transaction changes it through the store's journal and
///   either commits or replays the journal backwards;
/// - the formula caches and the open views: derived from the stored state, kept across
///   transactions and dropped when what they read changes;
/// - the run ([`crate::run::Run`]): budget, call depth, asks, inbox, enqueued messages, marker,
///   web request; created when a transaction starts and handed back when it ends, so a failed
///   transaction leaves none of it behind;
/// - what a blocked run showed (`shadow`, `outstanding`): kept until the next transaction.
#[derive(Debug)]
pub struct Document {
    pub(crate) loaded: Arc<Loaded>,
    pub(crate) program: Arc<Program>,
    pub(crate) store: Store,
    pub(crate) root: RecordRef,
    pub(crate) meta: Meta,
    pub(crate) space: String,
    pub(crate) key: String,
    pub(crate) limits: Limits,
    pub(crate) views: Views,
    pub(crate) formulas: Formulas,
    pub(crate) rng: JavaRandom,
    pub(crate) run: Run,
    /// Outstanding asks published to views after the last transaction.
    pub(crate) outstanding: Vec<Ask>,
    pub(crate) tests: TestReport,
    /// Per-statement hook for debuggers; `None` costs one branch per statement.
    pub(crate) hook: Option<Box<dyn StatementHook>>,
    /// The store and internal fields as a blocked run left them before its rollback: what views
    /// show until the next committed transaction.
    pub(crate) shadow: Option<Box<(Store, Meta)>>,
    /// `@context` of the command being executed: its `origin` and `ip` (set by each command).
    pub(crate) request_context: Arc<serde_json::Value>,
    /// Whether an accepted `delete` command ended the document.
    pub(crate) deleted: bool,
    /// What committed code asked of the host, until the host takes it.
    pub(crate) host_requests: Vec<crate::host_request::HostRequest>,
}

/// Called before each statement runs, when a debugger is attached.
pub trait StatementHook: std::fmt::Debug + Send {
    /// `unit` is the code unit, `stmt` the statement's id within it.
    fn before_statement(&mut self, unit: u32, stmt: u32);

    /// Whether [`StatementHook::inspect`] is wanted before the next statement. Seeing the
    /// state costs a copy of the document and the frame, so a hook that only follows the
    /// statements answers `false` (the default) and pays nothing more.
    fn wants_state(&self) -> bool {
        false
    }

    /// Called after [`StatementHook::before_statement`] when [`StatementHook::wants_state`]
    /// says so, with the state the statement starts from.
    fn inspect(&mut self, _state: &StatementState) {}

    /// Called when a call begins, before the first statement it runs: a debugger keeps a
    /// stack of frames from these and [`StatementHook::leave`].
    fn enter(&mut self, _callee: Callee) {}

    /// Called when the call the last unmatched [`StatementHook::enter`] began ends, by a
    /// return or by a fault.
    fn leave(&mut self) {}
}

/// What a call runs, as [`StatementHook::enter`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// A function, procedure, method, dispatcher or policy: its index in the program's
    /// `functions`.
    Function(u32),
    /// A formula being computed: slot `slot` of the record layout `layout`, whose expression
    /// is `expr` of code unit `unit`.
    Formula {
        layout: adama_compiler::ir::RecordId,
        slot: u32,
        unit: u32,
        expr: u32,
    },
}

/// What a statement starts from, as a debugger shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementState {
    /// The frame's slots, by slot number, in the stored layout (`null` for a slot not yet
    /// bound); the compiler's `stmt_slots` and handler and function parameters name them.
    pub slots: Vec<serde_json::Value>,
    /// The whole stored document, as [`Document::dump`] gives it, with the transaction's
    /// changes so far.
    pub document: serde_json::Value,
}

impl Loaded {
    /// Derives what documents of a program share.
    pub fn new(program: Arc<Program>) -> Arc<Loaded> {
        let shapes = program
            .messages
            .iter()
            .map(|message| {
                Arc::new(Shape {
                    name: Some(Arc::from(message.name.as_str())),
                    fields: message
                        .fields
                        .iter()
                        .map(|field| Arc::from(field.name.as_str()))
                        .collect(),
                })
            })
            .collect();
        let builtins = program
            .units
            .iter()
            .map(|unit| {
                unit.res
                    .iter()
                    .map(|res| match res {
                        adama_compiler::ir::Res::Builtin { name, .. } => crate::call::native(name),
                        _ => crate::call::Native::Missing,
                    })
                    .collect()
            })
            .collect();
        let object_shapes = program
            .units
            .iter()
            .map(|unit| {
                unit.item
                    .body
                    .exprs
                    .iter()
                    .map(|node| match &node.expr {
                        adama_compiler::hir::Expr::Object(fields) => Some(Arc::new(Shape {
                            name: None,
                            fields: fields
                                .iter()
                                .map(|field| Arc::from(field.name.name.as_str()))
                                .collect(),
                        })),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let viewer_independent = crate::view::viewer_independent(&program);
        Arc::new(Loaded {
            program,
            shapes,
            natives: builtins,
            object_shapes,
            viewer_independent,
        })
    }

    /// The program.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }
}

impl Document {
    /// A fresh instance of a program: every field at its initial value, not yet constructed.
    pub fn new(program: Arc<Program>, space: &str, key: &str) -> Result<Document, Fault> {
        Document::of_loaded(Loaded::new(program), space, key)
    }

    /// A fresh instance of a loaded program (hosts of many documents of one program load it
    /// once).
    pub fn of_loaded(loaded: Arc<Loaded>, space: &str, key: &str) -> Result<Document, Fault> {
        let limits = Limits::default();
        let mut document = Document {
            program: Arc::clone(&loaded.program),
            loaded,
            store: Store::default(),
            root: RecordRef(0),
            meta: Meta::default(),
            space: space.to_owned(),
            key: key.to_owned(),
            limits,
            views: Views::default(),
            formulas: Formulas::default(),
            rng: JavaRandom::new(0),
            run: Run::new(&limits),
            outstanding: Vec::new(),
            tests: TestReport::default(),
            hook: None,
            deleted: false,
            host_requests: Vec::new(),
            shadow: None,
            request_context: Arc::new(serde_json::json!({"origin": "", "ip": ""})),
        };
        let root = document.new_record(RecordId::ROOT, Parent::Root)?;
        document.root = root;
        document.store.journal = Default::default();
        document.store.mark_committed();
        Ok(document)
    }

    /// The program the document runs.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// The document's internal fields (sequence, clock, state, clients...).
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The limits user code runs under; a host may lower or raise them.
    pub fn limits_mut(&mut self) -> &mut Limits {
        &mut self.limits
    }

    /// Attaches (or, with `None`, detaches) a per-statement hook for a debugger.
    pub fn set_hook(&mut self, hook: Option<Box<dyn StatementHook>>) {
        self.hook = hook;
    }

    /// Whether an accepted `delete` ended the document (the host then removes it).
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// What committed code asked of the host since it last took them, in order.
    pub fn take_host_requests(&mut self) -> Vec<crate::host_request::HostRequest> {
        std::mem::take(&mut self.host_requests)
    }

    /// The asks of async channels the document waits on, as its views show them.
    pub fn outstanding(&self) -> &[Ask] {
        &self.outstanding
    }

    /// How many times a formula was computed rather than read from its cache (for tests of
    /// reactivity).
    pub fn formula_evaluations(&self) -> u64 {
        self.formulas.evaluations
    }

    /// Allocates a record of a layout with every stored field at its initial value.
    pub(crate) fn new_record(
        &mut self,
        layout: RecordId,
        parent: Parent,
    ) -> Result<RecordRef, Fault> {
        let program = Arc::clone(&self.program);
        let fields = &program.records[layout].fields;
        self.allocate(crate::memory::record_bytes(fields.len()))?;
        let record = self
            .store
            .create(layout, vec![Value::Void; fields.len()], parent);
        for (slot, field) in fields.iter().enumerate() {
            let value = match &field.kind {
                FieldKind::Stored { default } => match default {
                    Some((unit, expr)) => {
                        let value = self.eval_constant(*unit, *expr)?;
                        self.coerce(&field.ty, value)
                    }
                    None => self.default_stored(field, record, slot as u32)?,
                },
                _ => Value::Void,
            };
            let value = match (&field.ty, value) {
                (Ty::Record(_), Value::Void) | (Ty::Table(_), Value::Void) => {
                    self.default_stored(field, record, slot as u32)?
                }
                (_, value) => value,
            };
            self.store.set_fresh(record, slot as u32, value);
        }
        Ok(record)
    }

    /// The initial value of a stored field: a record or table of the field's record layout, or
    /// the default of its type.
    pub(crate) fn default_stored(
        &mut self,
        field: &FieldLayout,
        owner: RecordRef,
        slot: u32,
    ) -> Result<Value, Fault> {
        Ok(match (&field.ty, field.records) {
            (Ty::Record(_), Some(layout)) => Value::Record(self.new_record(
                layout,
                Parent::Field {
                    record: owner,
                    slot,
                },
            )?),
            (Ty::Table(element), Some(layout)) if matches!(**element, Ty::Record(_)) => {
                Value::Table(self.store.add_table(layout, owner))
            }
            (Ty::Record(name), None) => return Err(missing_layout(name)),
            (Ty::Table(element), None) if matches!(&**element, Ty::Record(_)) => {
                return Err(missing_layout(&element.to_string()));
            }
            (other, _) => self.default_value(other),
        })
    }

    /// The default of a type, for locals and message fields.
    pub(crate) fn default_value(&self, ty: &Ty) -> Value {
        match ty {
            Ty::Bool => Value::Bool(false),
            Ty::Int => Value::Int(0),
            Ty::Long => Value::Long(0),
            Ty::Double => Value::Double(0.0),
            Ty::Complex => Value::Complex(0.0, 0.0),
            Ty::String => Value::string(""),
            Ty::Text => Value::Text(Arc::default()),
            Ty::Replication => Value::Replication(Arc::default()),
            Ty::Label => Value::Label(Arc::from("")),
            Ty::Principal | Ty::SecurePrincipal => Value::principal(Principal::no_one()),
            Ty::Dynamic | Ty::Json => Value::Dynamic(Arc::new(serde_json::Value::Null)),
            Ty::Asset => Value::Asset(Arc::default()),
            Ty::Date => Value::Date(Default::default()),
            Ty::Time => Value::Time(Default::default()),
            Ty::DateTime => Value::DateTime(Arc::new(DateTime::default())),
            Ty::TimeSpan => Value::TimeSpan(0.0),
            Ty::Enum(name) => Value::Enum(
                self.program
                    .enum_named(name)
                    .map_or(0, |index| self.program.enums[index].default),
            ),
            Ty::Maybe(_) => Value::Maybe(None),
            Ty::List(_) | Ty::Array(_) => Value::list(Vec::new()),
            Ty::Table(_) => Value::NativeTable(Arc::new(Vec::new())),
            Ty::Map(..) => Value::Map(Arc::new(BTreeMap::new())),
            Ty::Message(name) | Ty::Holder(name) => match self.program.message_named(name) {
                Some(index) => self.default_message(index),
                None => Value::Void,
            },
            Ty::Anonymous(fields) => Value::Message(Arc::new(Message {
                shape: Arc::new(Shape {
                    name: None,
                    fields: fields
                        .iter()
                        .map(|(name, _)| Arc::from(name.as_str()))
                        .collect(),
                }),
                values: fields
                    .iter()
                    .map(|(_, ty)| self.default_value(ty))
                    .collect(),
            })),
            Ty::Pair(key, value) => Value::Message(Arc::new(Message {
                shape: pair_shape(),
                values: vec![self.default_value(key), self.default_value(value)],
            })),
            _ => Value::Void,
        }
    }

    /// A message with every field at its default.
    pub(crate) fn default_message(&self, index: MessageId) -> Value {
        let layout = &self.program.messages[index];
        Value::Message(Arc::new(Message {
            shape: Arc::clone(&self.loaded.shapes[index.index()]),
            values: layout
                .fields
                .iter()
                .map(|field| self.default_value(&field.ty))
                .collect(),
        }))
    }

    /// Converts a value to a declared type where the language converts implicitly (int into
    /// long or double, a value into a maybe, an anonymous message into a named one), at any
    /// depth of lists, maps and maybes: a value stored under a type always has that type.
    pub(crate) fn coerce(&self, ty: &Ty, value: Value) -> Value {
        match (ty, value) {
            (Ty::Int, Value::Long(n)) => Value::Int(n as i32),
            (Ty::Int, Value::Double(n)) => Value::Int(n as i32),
            (Ty::Long, Value::Int(n)) => Value::Long(i64::from(n)),
            (Ty::Long, Value::Double(n)) => Value::Long(n as i64),
            (Ty::Double, Value::Int(n)) => Value::Double(f64::from(n)),
            (Ty::Double, Value::Long(n)) => Value::Double(n as f64),
            (Ty::Complex, Value::Int(n)) => Value::Complex(f64::from(n), 0.0),
            (Ty::Complex, Value::Long(n)) => Value::Complex(n as f64, 0.0),
            (Ty::Complex, Value::Double(n)) => Value::Complex(n, 0.0),
            (Ty::Maybe(inner), Value::Maybe(Some(value))) => {
                Value::Maybe(Some(Box::new(self.coerce(inner, *value))))
            }
            (Ty::Maybe(_), value @ Value::Maybe(None)) => value,
            (Ty::Maybe(inner), value) => match self.coerce(inner, value) {
                Value::Void => Value::Maybe(None),
                value => Value::Maybe(Some(Box::new(value))),
            },
            (Ty::Message(name) | Ty::Holder(name), Value::Message(message))
                if message.shape.name.as_deref() != Some(&**name) =>
            {
                match self.program.message_named(name) {
                    Some(index) => self.convert_message(index, &message),
                    None => Value::Message(message),
                }
            }
            // Unified anonymous messages (array elements, conditional branches) take the fields of
            // their common type, by name, with defaults for the fields a value lacks.
            (Ty::Anonymous(fields), Value::Message(message)) => {
                let values = fields
                    .iter()
                    .map(|(name, ty)| match message.shape.index_of(name) {
                        Some(position) => self.coerce(ty, message.values[position].clone()),
                        None => self.default_value(ty),
                    })
                    .collect();
                let names = fields
                    .iter()
                    .map(|(name, _)| Arc::from(name.as_str()))
                    .collect();
                Value::Message(Arc::new(Message {
                    shape: Arc::new(Shape {
                        name: None,
                        fields: names,
                    }),
                    values,
                }))
            }
            (Ty::List(element) | Ty::Array(element), Value::List(items)) if converts(element) => {
                Value::list(
                    items
                        .iter()
                        .map(|item| self.coerce(element, item.clone()))
                        .collect(),
                )
            }
            (Ty::Map(_, element), Value::Map(map)) if converts(element) => Value::Map(Arc::new(
                map.iter()
                    .map(|(key, value)| (key.clone(), self.coerce(element, value.clone())))
                    .collect(),
            )),
            (_, value) => value,
        }
    }

    /// An anonymous (or other) message converted field by field to a named message.
    pub(crate) fn convert_message(&self, index: MessageId, source: &Message) -> Value {
        let layout = &self.program.messages[index];
        let values = layout
            .fields
            .iter()
            .map(|field| match source.shape.index_of(&field.name) {
                Some(position) => self.coerce(&field.ty, source.values[position].clone()),
                None => self.default_value(&field.ty),
            })
            .collect();
        Value::Message(Arc::new(Message {
            shape: Arc::clone(&self.loaded.shapes[index.index()]),
            values,
        }))
    }
}

/// Whether values held under a type may need [`Document::coerce`] (numbers, maybes, messages,
/// and containers of them); other elements are left as they are without a copy of the list or map.
fn converts(ty: &Ty) -> bool {
    match ty {
        Ty::Long | Ty::Double | Ty::Complex | Ty::Maybe(_) | Ty::Message(_) | Ty::Anonymous(_) => {
            true
        }
        Ty::List(element) | Ty::Array(element) | Ty::Map(_, element) => converts(element),
        _ => false,
    }
}

/// A record type without a layout: the builder resolves every record type of a checked program,
/// so this is a fault of the toolchain, reported rather than filled with another layout.
pub(crate) fn missing_layout(name: &str) -> Fault {
    Fault::error(
        crate::error::codes::RUNTIME_FAILURE,
        format!("the program has no layout for the record type '{name}'"),
    )
}

/// The shape of `pair<K, V>` values.
pub fn pair_shape() -> Arc<Shape> {
    Arc::new(Shape {
        name: None,
        fields: vec![Arc::from("key"), Arc::from("value")],
    })
}
