//! Code: the expressions and statements of an item, stored in arenas indexed by id.

use super::{Ident, NodeId, TypeRef};

/// An expression's index in [`Body::exprs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExprId(pub u32);

/// A statement's index in [`Body::stmts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StmtId(pub u32);

/// All the code of one item: every expression and statement, wherever it sits in the item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Body {
    pub exprs: Vec<ExprNode>,
    pub stmts: Vec<StmtNode>,
}

impl Body {
    /// Adds an expression.
    pub fn alloc_expr(&mut self, expr: Expr, node: NodeId) -> ExprId {
        let id = ExprId(u32::try_from(self.exprs.len()).unwrap_or(u32::MAX));
        self.exprs.push(ExprNode { expr, node });
        id
    }

    /// Adds a statement.
    pub fn alloc_stmt(&mut self, stmt: Stmt, node: NodeId) -> StmtId {
        let id = StmtId(u32::try_from(self.stmts.len()).unwrap_or(u32::MAX));
        self.stmts.push(StmtNode { stmt, node });
        id
    }

    /// An expression by id.
    ///
    /// Invariant: ids come from this body's `alloc_expr`, so they are in range.
    pub fn expr(&self, id: ExprId) -> &ExprNode {
        &self.exprs[id.0 as usize]
    }

    /// A statement by id (same invariant as [`Body::expr`]).
    pub fn stmt(&self, id: StmtId) -> &StmtNode {
        &self.stmts[id.0 as usize]
    }
}

/// An expression and the node to blame for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExprNode {
    pub expr: Expr,
    pub node: NodeId,
}

/// A statement and the node to blame for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StmtNode {
    pub stmt: Stmt,
    pub node: NodeId,
}

/// A `{ … }` block (or the single statement standing for one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Block {
    pub stmts: Vec<StmtId>,
    /// The whole body, from its `{` (or the lone statement), where a handler that must return a
    /// value says so.
    pub whole: Option<NodeId>,
    /// The closing brace (or the lone statement), where "does not return in all cases" is
    /// reported.
    pub end: Option<NodeId>,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    Search,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::Xor => "^^",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Search => "=?",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
        }
    }

    /// Reads an operator.
    pub fn from_symbol(symbol: &str) -> Option<BinaryOp> {
        Some(match symbol {
            "+" => BinaryOp::Add,
            "-" => BinaryOp::Sub,
            "*" => BinaryOp::Mul,
            "/" => BinaryOp::Div,
            "%" => BinaryOp::Mod,
            "&&" => BinaryOp::And,
            "||" => BinaryOp::Or,
            "^^" => BinaryOp::Xor,
            "==" => BinaryOp::Eq,
            "!=" => BinaryOp::Ne,
            "=?" => BinaryOp::Search,
            "<" => BinaryOp::Lt,
            "<=" => BinaryOp::Le,
            ">" => BinaryOp::Gt,
            ">=" => BinaryOp::Ge,
            _ => return None,
        })
    }
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrefixOp {
    Negate,
    Not,
    Increment,
    Decrement,
}

/// Postfix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostfixOp {
    Increment,
    Decrement,
}

/// Compound assignment operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompoundOp {
    Add,
    Sub,
    Mul,
}

impl CompoundOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompoundOp::Add => "+=",
            CompoundOp::Sub => "-=",
            CompoundOp::Mul => "*=",
        }
    }
}

/// The `@` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtConstant {
    NoOne,
    Who,
    SelfRef,
    Context,
    Headers,
    Parameters,
    Viewer,
    ImaginaryUnit,
    Null,
    Nothing,
    Stable,
    Blocked,
}

impl AtConstant {
    /// Reads a constant.
    pub fn from_keyword(keyword: &str) -> Option<AtConstant> {
        Some(match keyword {
            "@no_one" => AtConstant::NoOne,
            "@who" => AtConstant::Who,
            "@self" => AtConstant::SelfRef,
            "@context" => AtConstant::Context,
            "@headers" => AtConstant::Headers,
            "@parameters" => AtConstant::Parameters,
            "@viewer" => AtConstant::Viewer,
            "@i" => AtConstant::ImaginaryUnit,
            "@null" => AtConstant::Null,
            "@nothing" => AtConstant::Nothing,
            "@stable" => AtConstant::Stable,
            "@blocked" => AtConstant::Blocked,
            _ => return None,
        })
    }

    /// The constant as written.
    pub fn keyword(self) -> &'static str {
        match self {
            AtConstant::NoOne => "@no_one",
            AtConstant::Who => "@who",
            AtConstant::SelfRef => "@self",
            AtConstant::Context => "@context",
            AtConstant::Headers => "@headers",
            AtConstant::Parameters => "@parameters",
            AtConstant::Viewer => "@viewer",
            AtConstant::ImaginaryUnit => "@i",
            AtConstant::Null => "@null",
            AtConstant::Nothing => "@nothing",
            AtConstant::Stable => "@stable",
            AtConstant::Blocked => "@blocked",
        }
    }
}

/// Literal values. Doubles are kept as their bits so that the HIR can be compared and hashed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Literal {
    Int(i32),
    Long(i64),
    Double(u64),
    String(String),
    Bool(bool),
    /// `#name`, or `#` alone (the empty label, stored as an empty string).
    Label(String),
}

/// Time units of `@timespan` and `cached<every …>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl TimeUnit {
    /// Reads a unit word (`s`, `sec`, `minutes`, `hr`, `days`, …).
    pub fn from_word(word: &str) -> Option<TimeUnit> {
        Some(match word {
            "s" | "sec" | "second" | "seconds" => TimeUnit::Seconds,
            "m" | "min" | "minute" | "minutes" => TimeUnit::Minutes,
            "h" | "hr" | "hour" | "hours" => TimeUnit::Hours,
            "d" | "day" | "days" => TimeUnit::Days,
            "w" | "week" | "weeks" => TimeUnit::Weeks,
            _ => return None,
        })
    }
}

/// Sort direction of an `order` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Ascending,
    Descending,
}

/// One key of `order by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderKey {
    pub field: Ident,
    pub direction: Direction,
    pub insensitive: bool,
}

/// A LINQ clause applied to a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Clause {
    Where(ExprId),
    WhereAs {
        binding: Ident,
        predicate: ExprId,
    },
    Order(Vec<OrderKey>),
    OrderDyn(ExprId),
    Shuffle,
    Limit(ExprId),
    Offset(ExprId),
    Map(ExprId),
    Reduce {
        key: Ident,
        function: Option<ExprId>,
    },
    /// `unique`, `unique first k`, `unique last k`.
    Unique {
        keep_last: bool,
        key: Option<Ident>,
    },
    Rank {
        binding: Ident,
        score: ExprId,
        threshold: Option<ExprId>,
    },
    Materialize,
    Traverse(Ident),
}

/// A field of an anonymous message literal; `{x}` is `{x: x}` with `value` absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectField {
    pub name: Ident,
    pub value: Option<ExprId>,
}

/// Expressions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Something the parser could not read; already reported.
    Missing,
    Literal(Literal),
    Name(Ident),
    /// `E::X`, `E::Pre*` (`prefix`), `E::*` (`label` absent).
    EnumValue {
        enumeration: Ident,
        label: Option<Ident>,
        prefix: bool,
    },
    Member {
        object: ExprId,
        member: Ident,
    },
    Index {
        object: ExprId,
        index: ExprId,
    },
    Call {
        function: ExprId,
        arguments: Vec<ExprId>,
    },
    Binary {
        op: BinaryOp,
        left: ExprId,
        right: ExprId,
    },
    Prefix {
        op: PrefixOp,
        operand: ExprId,
    },
    Postfix {
        op: PostfixOp,
        operand: ExprId,
    },
    Conditional {
        condition: ExprId,
        then: ExprId,
        otherwise: ExprId,
    },
    /// `k inside m` (`inside` true) or `k outside m`.
    Contains {
        key: ExprId,
        map: ExprId,
        inside: bool,
    },
    Compound {
        op: CompoundOp,
        target: ExprId,
        value: ExprId,
    },
    Tuple(Vec<ExprId>),
    Array(Vec<ExprId>),
    Object(Vec<ObjectField>),
    At(AtConstant),
    DateTime(String),
    Date {
        year: i64,
        month: i64,
        day: i64,
    },
    Time {
        hour: i64,
        minute: i64,
    },
    /// `@timespan -5 min`: the amount (double bits, sign applied) and its unit.
    TimeSpan {
        amount: u64,
        unit: Option<TimeUnit>,
        unit_name: Ident,
    },
    /// `@empty<T>`.
    EmptyList(TypeRef),
    /// `@maybe<T>`.
    EmptyMaybe(TypeRef),
    /// `@maybe(e)`.
    MaybeOf(ExprId),
    Pair {
        key: ExprId,
        value: ExprId,
    },
    Lambda {
        parameter: Ident,
        body: ExprId,
    },
    Convert {
        target: Ident,
        value: ExprId,
    },
    Iterate(ExprId),
    Query {
        source: ExprId,
        clause: Clause,
    },
    /// `(e)`; a run of nested parentheses lowers to one `Paren`.
    Paren(ExprId),
}

/// How an inferred local was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InferKind {
    Let,
    Var,
    Auto,
}

/// Statements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stmt {
    Empty,
    Block(Block),
    If {
        condition: ExprId,
        binding: Option<Ident>,
        then: StmtId,
        otherwise: Option<StmtId>,
    },
    Local {
        readonly: bool,
        ty: TypeRef,
        name: Ident,
        value: Option<ExprId>,
    },
    Infer {
        kind: InferKind,
        name: Ident,
        value: ExprId,
    },
    While {
        condition: ExprId,
        body: StmtId,
    },
    DoWhile {
        body: StmtId,
        condition: ExprId,
    },
    For {
        init: Option<StmtId>,
        condition: Option<ExprId>,
        update: Option<StmtId>,
        body: StmtId,
    },
    Foreach {
        variable: Ident,
        iterable: ExprId,
        body: StmtId,
    },
    Switch {
        value: ExprId,
        body: StmtId,
    },
    Case(ExprId),
    Default,
    Return(Option<ExprId>),
    Break,
    Continue,
    Abort,
    /// `block;`
    Wait,
    Transition {
        target: ExprId,
        delay: Option<ExprId>,
    },
    Invoke(ExprId),
    Preempt(ExprId),
    Assert(ExprId),
    Log(ExprId),
    Step,
    Forward(ExprId),
    Pump {
        message: ExprId,
        channel: Ident,
    },
    Send {
        channel: Ident,
        who: ExprId,
        message: ExprId,
    },
    Aborts(Block),
    Assign {
        target: ExprId,
        value: ExprId,
    },
    Ingest {
        target: ExprId,
        source: ExprId,
        binding: Option<Ident>,
    },
    Expr(ExprId),
}
