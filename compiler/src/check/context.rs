//! Execution contexts (language section 7.8): what code of each kind may see and do.

use std::sync::Arc;

use crate::ty::Ty;

/// The kind of code being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A channel handler or rpc.
    Handler,
    Procedure {
        readonly: bool,
        aborts: bool,
        viewer: bool,
    },
    Method {
        readonly: bool,
        aborts: bool,
        viewer: bool,
    },
    /// A pure function.
    Function,
    Formula,
    Bubble,
    Policy,
    Filter,
    /// `create`, `invent`, `send` inside `@static`, and static settings.
    Static,
    Construct,
    /// `@connected`, `@disconnected`, `@delete`, `@attached`.
    Event,
    CanAttach,
    Load,
    Cron,
    State,
    Test,
    WebRead,
    WebWrite,
    WebOptions,
    Authorization,
    Password,
    /// A message's `@parsed` block or a message method. A message method is a read-only
    /// boundary (`readonly`): it may call only read-only procedures and methods or pure functions.
    MessageCode {
        aborts: bool,
        readonly: bool,
    },
    Dispatcher,
    Ingested,
    /// A field or message-field default value: a constant expression.
    Constant,
    /// Metric, replication and join expressions: read-only document expressions, like formulas.
    ReadOnlyExpression,
    /// The `@traffic` expression: read-only, and it sees the requester (`@who`, `@context`).
    Traffic,
}

/// Where the code sits and what it must return.
#[derive(Debug, Clone)]
pub struct Context {
    pub kind: CodeKind,
    /// The record whose code this is (record methods, formulas, policies, ...).
    pub record: Option<Arc<str>>,
    /// The message whose code this is (message methods, `@parsed`).
    pub message: Option<Arc<str>>,
    /// The declared return type; `None` for code that returns nothing.
    pub returns: Option<Ty>,
}

impl Context {
    pub fn new(kind: CodeKind) -> Context {
        Context {
            kind,
            record: None,
            message: None,
            returns: None,
        }
    }

    /// Whether `abort;` may appear.
    pub fn can_abort(&self) -> bool {
        matches!(
            self.kind,
            CodeKind::Handler
                | CodeKind::Procedure { aborts: true, .. }
                | CodeKind::Method { aborts: true, .. }
                | CodeKind::MessageCode { aborts: true, .. }
                | CodeKind::Authorization
                | CodeKind::WebRead
                | CodeKind::WebWrite
                | CodeKind::Test
        )
    }

    /// Whether `@who` is available.
    pub fn has_who(&self) -> bool {
        matches!(
            self.kind,
            CodeKind::Handler
                | CodeKind::Static
                | CodeKind::Construct
                | CodeKind::Event
                | CodeKind::CanAttach
                | CodeKind::Password
                | CodeKind::Bubble
                | CodeKind::Policy
                | CodeKind::WebRead
                | CodeKind::WebWrite
                | CodeKind::WebOptions
                | CodeKind::Traffic
        )
    }

    /// Whether `@context` is available.
    pub fn has_context(&self) -> bool {
        matches!(
            self.kind,
            CodeKind::Handler
                | CodeKind::Static
                | CodeKind::Construct
                | CodeKind::Event
                | CodeKind::CanAttach
                | CodeKind::WebRead
                | CodeKind::WebWrite
                | CodeKind::WebOptions
                | CodeKind::Authorization
                | CodeKind::Traffic
        )
    }

    /// Whether `@viewer` is available.
    pub fn has_viewer(&self) -> bool {
        matches!(
            self.kind,
            CodeKind::Bubble
                | CodeKind::Procedure { viewer: true, .. }
                | CodeKind::Method { viewer: true, .. }
        )
    }

    /// Whether the code may read document fields.
    pub fn reads_document(&self) -> bool {
        !matches!(
            self.kind,
            CodeKind::Function
                | CodeKind::Static
                | CodeKind::Constant
                | CodeKind::MessageCode { .. }
        )
    }

    /// Whether the test-only statements may appear.
    pub fn is_test(&self) -> bool {
        self.kind == CodeKind::Test
    }

    /// Whether `@headers` and `@parameters` are available.
    pub fn is_web(&self) -> bool {
        matches!(
            self.kind,
            CodeKind::WebRead | CodeKind::WebWrite | CodeKind::WebOptions
        )
    }
}
