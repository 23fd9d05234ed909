//! The IR the runtime executes: the checked HIR of every item, with every name resolved.
//!
//! The IR keeps the HIR's expression and statement arenas as they are (so spans stay available
//! to the debugger through each item's source map) and adds, per code unit, tables indexed by
//! expression and statement id: what each name, member and call refers to, which frame slot each
//! local lives in, and the checker's type of every expression. The runtime walks the HIR and
//! reads these tables; it never looks a name up by string while running code.
//!
//! Records (and the document itself, [`RecordId::ROOT`]) are laid out as slots: stored fields,
//! formulas and bubbles in declaration order.
//!
//! Record, message and enum layouts are addressed by ids ([`RecordId`], [`MessageId`],
//! [`EnumId`]) that the builder resolves once. Every place where running code needs a record
//! layout (a field holding records, an expression whose type holds records) carries the id, so
//! the runtime never looks a record layout up by name. The names of layouts are kept only for
//! the builder and for the few places where a checker type (which names its message or enum)
//! meets a value: [`Program::message_named`] and [`Program::enum_named`], which answer `None`
//! rather than another layout.

mod build;

use std::collections::HashMap;
use std::sync::Arc;

use crate::hir::{Block, ExprId, Item, SourceMap, StmtId};
use crate::ty::Ty;

pub use build::build_program;

/// A code unit: one top-level item's code with its resolution tables.
pub type UnitId = u32;
/// A function, procedure, method, dispatcher or policy body.
pub type FnId = u32;

/// An id of a layout, resolved by the builder: the position in its [`Layouts`].
pub trait LayoutId: Copy {
    fn from_index(index: usize) -> Self;
    fn index(self) -> usize;
}

macro_rules! layout_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl LayoutId for $name {
            fn from_index(index: usize) -> $name {
                $name(u32::try_from(index).expect("fewer than 2^32 layouts"))
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl $name {
            /// The id as a number, for stored and debug output.
            pub fn raw(self) -> u32 {
                self.0
            }
        }
    };
}

layout_id!(
    /// A record layout; [`RecordId::ROOT`] is the document itself.
    RecordId
);
layout_id!(
    /// A message layout (declared messages and the messages of rpcs, in declaration order).
    MessageId
);
layout_id!(
    /// An enum layout.
    EnumId
);

impl RecordId {
    /// The document root's layout.
    pub const ROOT: RecordId = RecordId(0);
}

/// Layouts addressed by their id: indexing with an id of another kind does not compile, and an
/// id always names a layout of the program that made it.
#[derive(Debug, Clone)]
pub struct Layouts<I, T> {
    items: Vec<T>,
    id: std::marker::PhantomData<I>,
}

impl<I, T> Default for Layouts<I, T> {
    fn default() -> Self {
        Layouts {
            items: Vec::new(),
            id: std::marker::PhantomData,
        }
    }
}

impl<I: LayoutId, T> Layouts<I, T> {
    pub(crate) fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::from_index(self.items.len() - 1)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Every id with its layout.
    pub fn iter_ids(&self) -> impl Iterator<Item = (I, &T)> {
        self.items
            .iter()
            .enumerate()
            .map(|(index, item)| (I::from_index(index), item))
    }

    /// Every id, in order.
    pub fn ids(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::from_index)
    }
}

impl<I: LayoutId, T> std::ops::Index<I> for Layouts<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: LayoutId, T> std::ops::IndexMut<I> for Layouts<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<'a, I, T> IntoIterator for &'a Layouts<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// A compiled program.
#[derive(Debug, Default)]
pub struct Program {
    /// Record layouts; [`RecordId::ROOT`] is the document root.
    pub records: Layouts<RecordId, RecordLayout>,
    /// Names of layouts, for the builder; the runtime goes through ids.
    pub(crate) record_index: HashMap<String, RecordId>,
    pub messages: Layouts<MessageId, MessageLayout>,
    pub(crate) message_index: HashMap<String, MessageId>,
    pub enums: Layouts<EnumId, EnumLayout>,
    pub(crate) enum_index: HashMap<String, EnumId>,
    pub units: Vec<CodeUnit>,
    pub functions: Vec<FunctionDef>,
    pub handlers: HashMap<String, HandlerDef>,
    pub async_channels: HashMap<String, AsyncChannelDef>,
    pub states: HashMap<String, (UnitId, Block)>,
    pub constructors: Vec<ConstructorDef>,
    pub connected: Vec<(UnitId, Block)>,
    pub disconnected: Vec<(UnitId, Block)>,
    pub deletes: Vec<(UnitId, Block)>,
    pub loads: Vec<(UnitId, Block)>,
    pub tests: Vec<TestDef>,
    pub crons: Vec<CronDef>,
    pub webs: Vec<WebDef>,
    /// Graph indexes (`assoc<From, To> name;`): the record layouts they link.
    pub assocs: HashMap<String, (RecordId, RecordId)>,
    /// `join assoc via table[item] from e to e;` at the document level.
    pub joins: Vec<JoinDef>,
    /// `template name : …` texts by name.
    pub templates: HashMap<String, Arc<str>>,
    /// `@attached(asset a)` handlers with the slot of their asset parameter.
    pub attached: Vec<(UnitId, u32, Block)>,
    /// `@can_attach` handlers: whether a principal may upload an asset.
    pub can_attach: Vec<(UnitId, Block)>,
    /// `@authorization (M m)` handlers: the slot of the login message and its layout
    /// (`None` for a message the program does not declare).
    pub authorizations: Vec<AuthorizationDef>,
    /// The deprecated `@authorize (username, password)` handler: names a user's agent.
    pub authorize: Option<AuthorizeDef>,
    /// The deprecated `@password (new_password)` handler: a user changes their password.
    pub password: Option<PasswordDef>,
    /// Document-level policies by name.
    pub policies: HashMap<String, FnId>,
    /// View-state filters by name.
    pub filters: HashMap<String, FnId>,
    /// View fields (`view T name;`) in declaration order.
    pub views: Vec<(String, Ty)>,
    /// `@static` policies.
    pub static_create: Vec<(UnitId, Block)>,
    pub static_invent: Vec<(UnitId, Block)>,
    pub static_send: Vec<(UnitId, Block)>,
    /// The frame slot of the name an `@static (c)` block binds the request context to, by the
    /// block's unit.
    pub static_context: Vec<(UnitId, u32)>,
    /// `@static` settings whose value is a constant (`maximum_history = 500;`).
    pub static_settings: Vec<(String, UnitId, ExprId)>,
    /// `replication<service:method> name = expr;` of the document and of records, in
    /// declaration order.
    pub replications: Vec<ReplicationDef>,
}

/// `replication<service:method> name = expr;`: its status lives in a slot of the record that
/// declares it (the document's root record for a document-level one).
#[derive(Debug, Clone)]
pub struct ReplicationDef {
    pub name: String,
    pub service: String,
    pub method: String,
    /// The record layout that declares it; `RecordId::ROOT` for the document.
    pub record: RecordId,
    /// The slot of that record holding the status.
    pub slot: u32,
    pub unit: UnitId,
    pub value: ExprId,
}

impl Program {
    /// The message a checker type names (`Ty::Message`, `Ty::Holder`), if it is one of the
    /// program's.
    pub fn message_named(&self, name: &str) -> Option<MessageId> {
        self.message_index.get(name).copied()
    }

    /// The enum a checker type names (`Ty::Enum`), if it is one of the program's.
    pub fn enum_named(&self, name: &str) -> Option<EnumId> {
        self.enum_index.get(name).copied()
    }
}

/// An `@authorization` handler.
#[derive(Debug, Clone)]
pub struct AuthorizationDef {
    pub unit: UnitId,
    pub slot: u32,
    pub message: Option<MessageId>,
    pub body: Block,
}

/// The deprecated `@authorize (username, password)` handler and the slots of its parameters.
#[derive(Debug, Clone)]
pub struct AuthorizeDef {
    pub unit: UnitId,
    pub username: u32,
    pub password: u32,
    pub body: Block,
}

/// The deprecated `@password (new_password)` handler and the slot of its parameter.
#[derive(Debug, Clone)]
pub struct PasswordDef {
    pub unit: UnitId,
    pub slot: u32,
    pub body: Block,
}

/// The layout of a record (or of the document root).
#[derive(Debug, Clone, Default)]
pub struct RecordLayout {
    pub name: String,
    pub fields: Vec<FieldLayout>,
    pub slot_index: HashMap<String, u32>,
    /// The slot of the `id` field (explicit or implicit).
    pub id_slot: Option<u32>,
    pub methods: HashMap<String, Vec<FnId>>,
    pub policies: HashMap<String, FnId>,
    /// `require p;` policies that hide the whole record.
    pub requires: Vec<PolicyRef>,
    /// `ingested { … }` blocks.
    pub ingested: Vec<(UnitId, Block)>,
    /// Fields a change of the record stamps: `@updated` (set to the document's time) and
    /// `@bump` (counted up), by slot.
    pub stamps: Vec<(u32, crate::hir::Invalidation)>,
    /// Field slots in the order the viewer sees them (language spec: `id`, fields and placed
    /// formulas, deferred formulas, then bubbles by name).
    pub view_order: Vec<u32>,
}

/// What a slot of a record holds.
#[derive(Debug, Clone)]
pub enum FieldKind {
    /// A stored field with its initial value, if one is written.
    Stored {
        default: Option<(UnitId, ExprId)>,
    },
    Formula {
        unit: UnitId,
        expr: ExprId,
        refresh: Refresh,
    },
    Bubble {
        unit: UnitId,
        expr: ExprId,
    },
}

/// When a formula's value is computed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// `formula`: whenever something it read has changed.
    OnChange,
    /// `cached<once>`: never; the first value is kept.
    Once,
    /// `cached<every N unit>`: at most once per period of document time, in milliseconds.
    Every(i64),
}

impl Refresh {
    /// The refresh rule written on a formula declaration.
    pub fn of(cached: Option<&crate::hir::CachePolicy>) -> Refresh {
        use crate::hir::TimeUnit;
        match cached {
            None => Refresh::OnChange,
            Some(crate::hir::CachePolicy::Once) => Refresh::Once,
            Some(crate::hir::CachePolicy::Every { period, unit, .. }) => {
                let seconds = match unit {
                    Some(TimeUnit::Minutes) => 60,
                    Some(TimeUnit::Hours) => 3_600,
                    Some(TimeUnit::Days) => 86_400,
                    Some(TimeUnit::Weeks) => 604_800,
                    Some(TimeUnit::Seconds) | None => 1,
                };
                Refresh::Every(period.saturating_mul(seconds).saturating_mul(1_000))
            }
        }
    }
}

/// A slot of a record.
#[derive(Debug, Clone)]
pub struct FieldLayout {
    pub name: String,
    pub ty: Ty,
    pub kind: FieldKind,
    pub privacy: PrivacyRule,
    /// Whether the field is the implicit `id` (never shown, never in messages).
    pub implicit: bool,
    /// The layout of the records the slot holds: its type is a record, a table of records,
    /// a maybe record or a map to records.
    pub records: Option<RecordId>,
}

/// A policy named in a privacy rule: one of the record's own or one of the document's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRef {
    Record(FnId),
    Document(FnId),
    Filter(FnId),
    /// A name that resolved to nothing: never satisfied.
    Missing,
}

/// Who sees a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivacyRule {
    Private,
    Public,
    /// Visible when the principal in this slot of the same record is the viewer.
    ViewerIs(u32),
    /// Visible when every policy (and view filter) holds.
    Policies(Vec<PolicyRef>),
}

/// A message type.
#[derive(Debug, Clone, Default)]
pub struct MessageLayout {
    pub name: String,
    pub fields: Vec<MessageFieldLayout>,
    pub methods: HashMap<String, Vec<FnId>>,
}

/// A field of a message.
#[derive(Debug, Clone)]
pub struct MessageFieldLayout {
    pub name: String,
    pub ty: Ty,
    pub default: Option<(UnitId, ExprId)>,
    /// Declared `unique`: on an `int id`, the key that lists of the message are viewed by.
    pub unique: bool,
}

impl MessageLayout {
    /// The index of the field that keys the message's rows in a view: an `int id unique`.
    pub fn row_key(&self) -> Option<usize> {
        self.fields
            .iter()
            .position(|field| field.unique && field.name == "id" && field.ty == Ty::Int)
    }
}

/// An enum: labels with their values, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct EnumLayout {
    pub name: String,
    pub labels: Vec<(String, i32)>,
    pub default: i32,
    /// Dispatchers by name: (label value, function) pairs, per label in the order a call
    /// tries them: prefix patterns (`E::Pre*`, shorter first), then the exact label, then the
    /// catch-all `E::*`, each group in declaration order. A returning dispatch calls the first
    /// that takes its arguments, a void one calls all of them.
    pub dispatchers: HashMap<String, Vec<(i32, FnId)>>,
}

/// A callable body.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub name: String,
    pub unit: UnitId,
    /// The frame slot of each parameter, in order.
    pub params: Vec<u32>,
    pub param_types: Vec<Ty>,
    pub returns: Ty,
    pub body: Block,
    /// The record whose method this is (its fields are in scope through `@self`).
    pub record: Option<RecordId>,
    /// For enum dispatchers: the slot holding `self`.
    pub self_slot: Option<u32>,
}

/// `channel name(M m) { … }`.
#[derive(Debug, Clone)]
pub struct HandlerDef {
    pub unit: UnitId,
    /// The message the channel takes; `None` for a message the program does not declare (the
    /// handler then receives it as a dynamic value).
    pub message: Option<MessageId>,
    pub array: bool,
    pub param_slot: u32,
    pub body: Block,
    pub open: bool,
    pub guard: Vec<PolicyRef>,
    /// For an `rpc`: the slot of the sender's name and the slots its parameters are copied into
    /// from the generated message's fields.
    pub rpc: Option<(u32, Vec<u32>)>,
}

/// `channel<M> name;`.
#[derive(Debug, Clone)]
pub struct AsyncChannelDef {
    pub message: Option<MessageId>,
    pub array: bool,
}

/// `@construct` with its optional message parameter.
#[derive(Debug, Clone)]
pub struct ConstructorDef {
    pub unit: UnitId,
    /// The frame slot of the parameter and its message (`None`: not a declared message).
    pub param: Option<(u32, Option<MessageId>)>,
    pub body: Block,
}

/// `@cron name schedule { … }`.
#[derive(Debug, Clone)]
pub struct CronDef {
    pub name: String,
    pub unit: UnitId,
    pub body: Block,
    pub schedule: CronRule,
}

/// When a cron job runs, in the document's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronRule {
    Daily {
        hour: u32,
        minute: u32,
    },
    Hourly {
        minute: u32,
    },
    Monthly {
        day: u32,
    },
    /// The schedule is read from a root field: a `time` for daily, an `int` for the others.
    DailyFrom(u32),
    HourlyFrom(u32),
    MonthlyFrom(u32),
}

/// `@web method /path (M m) { … }`.
#[derive(Debug, Clone)]
pub struct WebDef {
    pub method: crate::hir::WebMethod,
    pub segments: Vec<WebSegment>,
    /// The body message parameter of a `put`: its slot and message.
    pub param: Option<(u32, Option<MessageId>)>,
    pub unit: UnitId,
    pub body: Block,
}

/// A segment of a web path.
#[derive(Debug, Clone, PartialEq)]
pub enum WebSegment {
    Literal(String),
    /// `$name:type`, bound to a frame slot.
    Param {
        slot: u32,
        ty: Ty,
    },
    /// `$name*`: the rest of the path.
    Rest {
        slot: u32,
    },
}

/// `join assoc via table[item] from e to e;`.
#[derive(Debug, Clone)]
pub struct JoinDef {
    pub assoc: String,
    pub unit: UnitId,
    /// The root slot of the table the edges come from.
    pub table: u32,
    /// The frame slot each row is bound to while `from` and `to` run.
    pub item: u32,
    pub from: ExprId,
    pub to: ExprId,
}

/// `test name { … }`.
#[derive(Debug, Clone)]
pub struct TestDef {
    pub name: String,
    pub unit: UnitId,
    pub body: Block,
}

/// One item's code with its resolution tables.
#[derive(Debug)]
pub struct CodeUnit {
    pub item: Arc<Item>,
    pub source_map: Arc<SourceMap>,
    /// The item's first byte in the file (source map spans are relative to it).
    pub offset: usize,
    /// The checker's type of every expression, by expression id.
    pub types: Vec<Ty>,
    /// What each expression refers to, by expression id.
    pub res: Vec<Res>,
    /// The frame slot each declaring statement binds, by statement id.
    pub stmt_slots: Vec<u32>,
    /// The declared type of each `T x = …;` local, by statement id (`Ty::Error` elsewhere).
    pub local_types: Vec<Ty>,
    /// The record layout in the type of each expression (a record, maybe, table, list or map of
    /// records), by expression id; `None` where the type holds no record.
    pub records: Vec<Option<RecordId>>,
    /// What the shorthand fields of object literals (`{x}`) read: (object expression, field index).
    pub shorthand: HashMap<(u32, u32), Res>,
    /// Frame slots the unit needs.
    pub frame_size: u32,
    /// The record whose code this is.
    pub record: Option<RecordId>,
}

impl CodeUnit {
    /// The record layout in the type of an expression.
    pub fn records_of(&self, expr: ExprId) -> Option<RecordId> {
        self.records.get(expr.0 as usize).copied().flatten()
    }
}

/// What an expression refers to.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Res {
    #[default]
    None,
    /// A local variable or parameter.
    Local(u32),
    /// A slot of the document root.
    RootField(u32),
    /// A slot of the record whose code is running (`@self`).
    SelfField(u32),
    /// A slot (record) or field index (message) of the element bound in a local: the bare
    /// names of a `where` clause.
    ElementField { local: u32, slot: u32 },
    /// A view field read by bare name inside a filter, by index into [`Program::views`].
    ViewField(u32),
    /// `object.member` where the object is a record: the slot.
    RecordSlot(u32),
    /// `object.member` where the object is a message: the field index.
    MessageField(u32),
    /// `list.member` over records or messages: element slot or field index.
    Projection { record: bool, slot: u32 },
    /// `maybe.member`.
    MaybeField { record: bool, slot: u32 },
    /// A handler channel name used as a value.
    Handler(Arc<str>),
    /// An async channel name used as a value.
    AsyncChannel(Arc<str>),
    /// A call of a function, procedure or method: the overload.
    Call(FnId),
    /// A call of a record or message method (receiver is the member's object).
    MethodCall(FnId),
    /// A call of an enum dispatcher (receiver is the member's object).
    /// The dispatchers that take the call's arguments, by label value (a void dispatcher may
    /// have several per label; all of them run, in declaration order).
    DispatchCall(Arc<[(i32, FnId)]>),
    /// A call of a library function or method: `namespace.function` or `type.method`; for a
    /// method the receiver is passed as the first argument.
    Builtin { name: Arc<str>, method: bool },
    /// A call of a record method on every element of a list.
    ProjectedCall(FnId),
    /// A LINQ clause: the frame slot its element is bound to (where, where_as, rank), and the
    /// slots of the element's fields it names (order by, reduce, unique keys; `u32::MAX` for a
    /// name the element does not have).
    Query { slot: u32, keys: Arc<[u32]> },
    /// A lambda's parameter slot.
    LambdaSlot(u32),
    /// A template named as a value: its text.
    Template(Arc<str>),
    /// `E::X`: the label's value.
    EnumConst(i32),
    /// `E::*` and `E::Pre*`: the values of the labels, in declaration order.
    EnumSet(Arc<[i32]>),
}

/// An expression of a unit, for the debugger and error messages.
pub fn unit_span(unit: &CodeUnit, expr: ExprId) -> std::ops::Range<usize> {
    let node = unit.item.body.expr(expr).node;
    let span = unit.source_map.span(node);
    span.start + unit.offset..span.end + unit.offset
}

/// A statement's span.
pub fn stmt_span(unit: &CodeUnit, stmt: StmtId) -> std::ops::Range<usize> {
    let node = unit.item.body.stmt(stmt).node;
    let span = unit.source_map.span(node);
    span.start + unit.offset..span.end + unit.offset
}
