//! The high-level intermediate representation (HIR): the program as the checker sees it.
//!
//! Lowering (`crate::lower`) turns each top-level declaration of the syntax tree into one [`Item`].
//! An item holds no source positions: every node that a diagnostic can blame carries a [`NodeId`],
//! and the item's [`SourceMap`] maps ids to byte ranges. So an edit that only moves text (white
//! space, comments, an edit in another item) lowers to an equal item, and salsa reuses every query
//! that read it. Names are plain strings; resolution happens in the checker.
//!
//! Invariant: lowering never fails. Syntax the grammar recovered from lowers to
//! [`Expr::Missing`] (and similar), which the checker treats as already reported.

mod body;
mod item;

pub use body::*;
pub use item::*;

use std::ops::Range;

/// A node of one item that a diagnostic can point at. Ids are allocated in source order while
/// lowering the item, so they are stable across edits that do not change the item's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Byte ranges of the nodes of one item, indexed by [`NodeId`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SourceMap {
    pub spans: Vec<Range<usize>>,
}

impl SourceMap {
    /// Registers a span and returns its id.
    pub fn alloc(&mut self, span: Range<usize>) -> NodeId {
        let id = NodeId(u32::try_from(self.spans.len()).unwrap_or(u32::MAX));
        self.spans.push(span);
        id
    }

    /// The span of a node (an empty range at 0 if the id is unknown).
    pub fn span(&self, node: NodeId) -> Range<usize> {
        self.spans.get(node.0 as usize).cloned().unwrap_or(0..0)
    }
}

/// A name as written, with the node to blame for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub node: NodeId,
}

/// A type as written in the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// `int`, `string`, a record, message or enum name, ...
    Named(Ident),
    /// `maybe<T>`, `list<T>`, `map<K, V>`, `table<R>`, `channel<T>`, `secure<principal>`, ...
    Generic {
        name: GenericName,
        args: Vec<TypeRef>,
        node: NodeId,
    },
    /// `T[]`.
    Array { element: Box<TypeRef>, node: NodeId },
    /// `projection<table.field>`.
    Projection {
        table: Ident,
        field: Ident,
        node: NodeId,
    },
    /// A type the parser could not read (already reported as a syntax error).
    Missing(NodeId),
}

impl TypeRef {
    /// The node to blame for the whole type.
    pub fn node(&self) -> NodeId {
        match self {
            TypeRef::Named(ident) => ident.node,
            TypeRef::Generic { node, .. }
            | TypeRef::Array { node, .. }
            | TypeRef::Projection { node, .. }
            | TypeRef::Missing(node) => *node,
        }
    }
}

/// The generic type constructors of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenericName {
    Maybe,
    List,
    Map,
    Pair,
    Tuple,
    Future,
    Channel,
    Secure,
    Table,
    Holder,
}

impl GenericName {
    /// Reads the keyword.
    pub fn from_keyword(keyword: &str) -> Option<GenericName> {
        Some(match keyword {
            "maybe" => GenericName::Maybe,
            "list" => GenericName::List,
            "map" => GenericName::Map,
            "pair" => GenericName::Pair,
            "tuple" => GenericName::Tuple,
            "future" => GenericName::Future,
            "channel" => GenericName::Channel,
            "secure" => GenericName::Secure,
            "table" => GenericName::Table,
            "holder" => GenericName::Holder,
            _ => return None,
        })
    }

    /// The keyword, for messages.
    pub fn keyword(self) -> &'static str {
        match self {
            GenericName::Maybe => "maybe",
            GenericName::List => "list",
            GenericName::Map => "map",
            GenericName::Pair => "pair",
            GenericName::Tuple => "tuple",
            GenericName::Future => "future",
            GenericName::Channel => "channel",
            GenericName::Secure => "secure",
            GenericName::Table => "table",
            GenericName::Holder => "holder",
        }
    }
}
