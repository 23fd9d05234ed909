//! Declarations: what each top-level item (and each member of a record or message) declares.

use std::sync::Arc;

use super::{Block, Body, ExprId, Ident, NodeId, SourceMap, TimeUnit, TypeRef};

/// One top-level item: its declaration and all of its code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Item {
    pub decl: Decl,
    pub body: Body,
    /// The whole item.
    pub node: NodeId,
}

/// An item together with the spans of its nodes, as lowering produces it.
///
/// The source map's spans are relative to `offset`, the item's first byte in the file, so that
/// an unchanged item can be re-used as it is when text before it moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoweredItem {
    pub item: Arc<Item>,
    /// The same declaration without its code: it stays equal when only statements and
    /// expressions inside a body change, which is what spares re-reading the declarations.
    pub decl: Arc<Item>,
    pub source_map: Arc<SourceMap>,
    pub offset: usize,
}

impl Item {
    /// This item's declaration with an empty body.
    pub fn without_code(&self) -> Item {
        Item {
            decl: self.decl.clone(),
            body: Body::default(),
            node: self.node,
        }
    }
}

impl LoweredItem {
    /// The absolute byte range of a node of the item.
    pub fn span(&self, node: NodeId) -> std::ops::Range<usize> {
        let relative = self.source_map.span(node);
        relative.start + self.offset..relative.end + self.offset
    }
}

/// Who may see a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Privacy {
    /// No modifier: private.
    Default,
    Private,
    Public,
    ViewerIs(Ident),
    UsePolicy(Guard),
}

/// `<p1, p2 | f1>`: policies and view filters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guard {
    pub policies: Vec<Ident>,
    pub filters: Vec<Ident>,
    pub node: NodeId,
}

/// `@updated` / `@bump` on a record field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalidation {
    Updated,
    Bump,
}

/// A document or record field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    pub privacy: Privacy,
    /// The node of the privacy modifier, when one is written.
    pub privacy_node: Option<NodeId>,
    pub readonly: bool,
    pub ty: TypeRef,
    pub name: Ident,
    pub value: Option<ExprId>,
    pub invalidation: Option<(Invalidation, NodeId)>,
    pub required: bool,
    pub node: NodeId,
}

/// How a cached formula refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CachePolicy {
    Once,
    Every {
        period: i64,
        unit: Option<TimeUnit>,
        unit_name: Ident,
    },
}

/// `formula x = e;`, `auto x = e;`, `cached<…> x = e;`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Formula {
    pub privacy: Privacy,
    pub name: Ident,
    pub value: ExprId,
    pub cached: Option<CachePolicy>,
    pub node: NodeId,
}

/// `bubble<guard> x = e;`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bubble {
    pub guard: Option<Guard>,
    pub name: Ident,
    pub value: ExprId,
    pub node: NodeId,
}

/// `view T x;`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViewField {
    pub ty: TypeRef,
    pub name: Ident,
    pub node: NodeId,
}

/// Modifiers after a procedure's or method's parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Modifiers {
    pub readonly: bool,
    pub aborts: bool,
    pub viewer: bool,
}

/// `readonly` or `mutable` before a parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    Readonly,
    Mutable,
}

/// A parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    pub mutability: Option<Mutability>,
    pub ty: TypeRef,
    pub name: Ident,
}

/// A function, procedure, record or message method, or enum dispatcher body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Function {
    pub name: Ident,
    pub params: Vec<Param>,
    pub returns: Option<TypeRef>,
    pub modifiers: Modifiers,
    pub body: Block,
    pub node: NodeId,
}

/// `policy name { … }` or `filter name { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    pub name: Ident,
    pub body: Block,
    pub node: NodeId,
}

/// A member of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordMember {
    Field(Field),
    Formula(Formula),
    Bubble(Bubble),
    Method(Function),
    Policy(Policy),
    Require(Ident),
    Index(Ident),
    Join(Join),
    Replication(Replication),
    Ingested { body: Block, node: NodeId },
}

/// `record R { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    pub name: Ident,
    pub members: Vec<RecordMember>,
}

/// A field of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageField {
    pub readonly: bool,
    pub ty: TypeRef,
    pub name: Ident,
    pub value: Option<ExprId>,
    pub lossy: bool,
    pub unique: Option<NodeId>,
    pub silent: bool,
    pub node: NodeId,
}

/// A member of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessageMember {
    Field(MessageField),
    Index(Ident),
    Csv(NodeId),
    Parsed { body: Block, node: NodeId },
    Method(Function),
}

/// `message M { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    pub name: Ident,
    pub members: Vec<MessageMember>,
}

/// A label of an enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumLabel {
    pub name: Ident,
    pub value: Option<i64>,
    pub default: bool,
}

/// `enum E { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enum {
    pub name: Ident,
    pub labels: Vec<EnumLabel>,
}

/// Which labels a dispatcher applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DispatchPattern {
    Label(Ident),
    Prefix(Ident),
    All(NodeId),
}

/// `dispatch E::L name(args) -> T { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dispatch {
    pub enumeration: Ident,
    pub pattern: DispatchPattern,
    pub function: Function,
}

/// `channel name(M m) { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Channel {
    pub name: Ident,
    pub message: Ident,
    pub array: bool,
    pub parameter: Ident,
    pub open: bool,
    pub guard: Option<Guard>,
    pub body: Block,
}

/// `channel<M> name;`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsyncChannel {
    pub name: Ident,
    pub message: Ident,
    pub array: bool,
}

/// `rpc name(who, T a, …) { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rpc {
    pub name: Ident,
    pub who: Ident,
    pub params: Vec<Param>,
    pub body: Block,
}

/// Document events.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    Connected,
    Disconnected,
    Delete,
    Load,
    CanAttach,
    Attached(Ident),
}

/// A static policy (`create`, `invent`, `send`) or setting inside `@static`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StaticEntry {
    Policy {
        kind: StaticPolicyKind,
        body: Block,
        node: NodeId,
    },
    Setting {
        name: Ident,
        value: ExprId,
    },
}

/// The static policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaticPolicyKind {
    Create,
    Invent,
    Send,
}

/// HTTP methods of `@web`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebMethod {
    Get,
    Put,
    Delete,
    Options,
}

/// A segment of a `@web` path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UriSegment {
    Literal(String),
    Parameter { name: Ident, ty: TypeRef },
    Rest(Ident),
}

/// `@web method /path (M m) requires<p> { … }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Web {
    pub method: WebMethod,
    pub path: Vec<UriSegment>,
    pub path_node: NodeId,
    pub parameter: Option<(Ident, Ident)>,
    pub guard: Option<Guard>,
    pub body: Block,
}

/// When a cron job runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CronSchedule {
    Daily {
        hour: i64,
        minute: i64,
        node: NodeId,
    },
    Hourly {
        minute: i64,
        node: NodeId,
    },
    Monthly {
        day: i64,
        node: NodeId,
    },
    /// The schedule comes from a document field (`daily` reads a `time`, the others an `int`).
    Variable {
        frequency: CronFrequency,
        field: Ident,
    },
}

/// The frequency word of a cron job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronFrequency {
    Daily,
    Hourly,
    Monthly,
}

/// A member of a `service` declaration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceMember {
    Method {
        secured: bool,
        input: Ident,
        output: Ident,
        array: bool,
        name: Ident,
    },
    Replication {
        input: Ident,
        name: Ident,
    },
    Setting {
        name: Ident,
        value: ExprId,
    },
}

/// `replication<service:method> name = e;`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Replication {
    pub service: Ident,
    pub method: Ident,
    pub name: Ident,
    pub value: ExprId,
}

/// `join assoc via table[item] from e to e;`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Join {
    pub assoc: Ident,
    pub table: Ident,
    pub item: Ident,
    pub from: ExprId,
    pub to: ExprId,
    pub node: NodeId,
}

/// What a top-level item declares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decl {
    Field(Field),
    Formula(Formula),
    Bubble(Bubble),
    View(ViewField),
    Record(Record),
    Message(Message),
    Enum(Enum),
    Dispatch(Dispatch),
    Function(Function),
    Procedure(Function),
    Policy(Policy),
    Filter(Policy),
    Channel(Channel),
    AsyncChannel(AsyncChannel),
    Rpc(Rpc),
    /// `#label { … }`; the label without its `#`.
    State {
        label: Ident,
        body: Block,
    },
    Constructor {
        parameter: Option<(Ident, Ident)>,
        body: Block,
    },
    Event {
        kind: EventKind,
        body: Block,
    },
    Static {
        context: Option<Ident>,
        entries: Vec<StaticEntry>,
    },
    Web(Web),
    Cron {
        name: Ident,
        schedule: CronSchedule,
        body: Block,
    },
    Test {
        name: Ident,
        body: Block,
    },
    Include {
        path: Vec<String>,
    },
    Link {
        name: Ident,
        params: Vec<(Ident, ExprId)>,
    },
    Service {
        name: Ident,
        members: Vec<ServiceMember>,
    },
    Replication(Replication),
    Authorize {
        username: Ident,
        password: Ident,
        body: Block,
    },
    Authorization {
        message: Ident,
        parameter: Ident,
        body: Block,
    },
    Password {
        parameter: Ident,
        body: Block,
    },
    Metric {
        name: Ident,
        value: ExprId,
    },
    Traffic {
        value: ExprId,
    },
    Assoc {
        from: Ident,
        to: Ident,
        edge: Option<Ident>,
        name: Ident,
    },
    Join(Join),
    Template {
        name: Ident,
        text: String,
    },
}

impl Decl {
    /// The kind of declaration, as a stable word (used in item keys and messages).
    pub fn kind(&self) -> &'static str {
        match self {
            Decl::Field(_) => "field",
            Decl::Formula(_) => "formula",
            Decl::Bubble(_) => "bubble",
            Decl::View(_) => "view",
            Decl::Record(_) => "record",
            Decl::Message(_) => "message",
            Decl::Enum(_) => "enum",
            Decl::Dispatch(_) => "dispatch",
            Decl::Function(_) => "function",
            Decl::Procedure(_) => "procedure",
            Decl::Policy(_) => "policy",
            Decl::Filter(_) => "filter",
            Decl::Channel(_) => "channel",
            Decl::AsyncChannel(_) => "async channel",
            Decl::Rpc(_) => "rpc",
            Decl::State { .. } => "state",
            Decl::Constructor { .. } => "@construct",
            Decl::Event { .. } => "event",
            Decl::Static { .. } => "@static",
            Decl::Web(_) => "@web",
            Decl::Cron { .. } => "@cron",
            Decl::Test { .. } => "test",
            Decl::Include { .. } => "@include",
            Decl::Link { .. } => "@link",
            Decl::Service { .. } => "service",
            Decl::Replication(_) => "replication",
            Decl::Authorize { .. } => "@authorize",
            Decl::Authorization { .. } => "@authorization",
            Decl::Password { .. } => "@password",
            Decl::Metric { .. } => "metric",
            Decl::Traffic { .. } => "@traffic",
            Decl::Assoc { .. } => "assoc",
            Decl::Join(_) => "join",
            Decl::Template { .. } => "template",
        }
    }

    /// The declared name, for items that have one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Decl::Field(field) => Some(&field.name),
            Decl::Formula(formula) => Some(&formula.name),
            Decl::Bubble(bubble) => Some(&bubble.name),
            Decl::View(view) => Some(&view.name),
            Decl::Record(record) => Some(&record.name),
            Decl::Message(message) => Some(&message.name),
            Decl::Enum(enumeration) => Some(&enumeration.name),
            Decl::Dispatch(dispatch) => Some(&dispatch.function.name),
            Decl::Function(function) | Decl::Procedure(function) => Some(&function.name),
            Decl::Policy(policy) | Decl::Filter(policy) => Some(&policy.name),
            Decl::Channel(channel) => Some(&channel.name),
            Decl::AsyncChannel(channel) => Some(&channel.name),
            Decl::Rpc(rpc) => Some(&rpc.name),
            Decl::State { label, .. } => Some(label),
            Decl::Cron { name, .. }
            | Decl::Test { name, .. }
            | Decl::Link { name, .. }
            | Decl::Service { name, .. }
            | Decl::Metric { name, .. }
            | Decl::Assoc { name, .. }
            | Decl::Template { name, .. } => Some(name),
            Decl::Replication(replication) => Some(&replication.name),
            Decl::Constructor { .. }
            | Decl::Event { .. }
            | Decl::Static { .. }
            | Decl::Web(_)
            | Decl::Include { .. }
            | Decl::Authorize { .. }
            | Decl::Authorization { .. }
            | Decl::Password { .. }
            | Decl::Traffic { .. }
            | Decl::Join(_) => None,
        }
    }
}
