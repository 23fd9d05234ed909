//! The diagnostic value every stage of the compiler produces.
//!
//! A diagnostic points at a byte range of one file, has a stable code, a message that says what is
//! wrong, and optionally a hint that says how to fix it, related locations ("first defined here")
//! and fixes a tool can apply (a title and text edits). The words for each code live in [`Code`];
//! checks only choose the code and fill in the specifics.
//!
//! A diagnostic is data: tools read its code, ranges and fixes, never the words of its message.

use std::fmt;
use std::ops::Range;

/// How serious a diagnostic is, in the order of the Language Server Protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

impl Severity {
    /// The lower-case name used by `adama check --format json` and the human format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
            Severity::Hint => "hint",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A stable diagnostic code. Codes are never reused once retired; `docs/diagnostics.md` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// A token the grammar cannot place here.
    UnexpectedToken,
    /// A token the grammar requires is absent.
    MissingToken,
    /// A number literal that the number scanner accepted but that is not a valid number.
    MalformedNumber,
    /// An integer literal outside the 32-bit range (or a long outside 64 bits).
    IntegerOutOfRange,
    /// An escape sequence inside a string literal that the language does not define.
    InvalidEscape,
    /// A character outside the range the lexer accepts outside strings and comments.
    InvalidCharacter,
    /// An operator chain the language forbids without parentheses.
    OperatorChain,
    /// A reserved word used as a declared name.
    ReservedName,
    /// A file that is not UTF-8 text.
    NotText,
    /// A construct that parses but is malformed in a way the grammar tolerates for better messages.
    MalformedDeclaration,
    /// Code nested deeper than the compiler follows.
    NestingTooDeep,
    /// A name that refers to nothing in scope.
    UnknownName,
    /// A type name that refers to no type.
    UnknownType,
    /// A field or member that the type does not have (unknown methods are `UnknownMethod`).
    UnknownMember,
    /// A link, service, include, assoc, unit of time or other declared thing that does not exist
    /// (states, enum values, channels and policies have codes of their own).
    UnknownReference,
    /// A name declared twice where it must be unique.
    Duplicate,
    /// A value whose type cannot be stored where it goes.
    TypeMismatch,
    /// An operator applied to types it has no meaning for.
    OperatorUndefined,
    /// Two types that do not unify.
    Unification,
    /// A location that cannot be written.
    NotAssignable,
    /// Code that can never run. (Missing and ill-shaped returns have codes of their own.)
    ControlFlow,
    /// A statement used where its context does not allow it (`transition` in `@static` code, ...).
    ContextCapability,
    /// A call that the calling context may not make.
    CallCapability,
    /// A call with the wrong number of arguments, or a `map` function that does not fit.
    BadCall,
    /// A declaration that breaks a structural rule of the language.
    StructureRule,
    /// A plain value used as a maybe.
    MaybeMisuse,
    /// A condition (`if`, `while`, `where`, `? :`, `assert`) whose type is not `bool`.
    ConditionNotBool,
    /// A value that must be a number (a metric, a rank score or threshold, a delay in seconds) that is not.
    NotANumber,
    /// `foreach`, an index lookup, a map test or a query over a value that is not a list, array or map.
    NotIterable,
    /// An index lookup whose index does not have the type the collection is indexed by.
    BadIndex,
    /// A call of the standard library with arguments whose types no overload accepts.
    LibraryArguments,
    /// `@convert`, or a conversion to an enumeration, from a value that cannot become the target type.
    BadConversion,
    /// An ingestion (`<-`) into something that holds no rows, or from a value whose fields do not fit.
    BadIngestion,
    /// A function, procedure or policy with a return type where some path ends without a `return`.
    MissingReturn,
    /// A `return` whose value does not fit the code it leaves: a value where none is expected, none where one is, or a web or authorization response of the wrong form.
    ReturnMismatch,
    /// A `switch` over a type it cannot compare, a `case` label that is not a constant of that type, a `case` outside a `switch`, or two `default:`.
    SwitchRule,
    /// A query clause that does not fit the rows it reads: ordering by a field that cannot be ordered, `order_dyn` over plain values, an `assoc` over the wrong table.
    QueryRule,
    /// `iterate`, or a join, over a value that is not a table.
    NotATable,
    /// A map whose key is not int, long, string, an enum or principal, or whose value is a table.
    BadMapType,
    /// A record or message that contains itself through its fields, so that it could never be written out.
    TypeCycle,
    /// Formulas that depend on themselves, directly or through other formulas.
    FormulaCycle,
    /// A `@cron` schedule whose hour, minute or day is outside its range.
    BadSchedule,
    /// A field, local or message member of a type it cannot hold (a channel in a field, a record in a message, an `id` that is not an `int`, ...).
    FieldTypeNotAllowed,
    /// A local whose type has no default value, declared without one.
    MissingInitializer,
    /// A state machine label (`#name`) with no state block of that name.
    UnknownState,
    /// `E::X` where the enumeration `E` has no value `X` (or none starting with `X` for `E::X*`).
    UnknownEnumValue,
    /// A test that sends or pumps a message into a channel the document does not declare.
    UnknownChannel,
    /// `requires<p>`, `use_policy<p>` or a filter that names no declared policy or filter.
    UnknownPolicy,
    /// A method call on a type, a table, a service or a library namespace that has no such method.
    UnknownMethod,
    /// Read-only code (a formula, a policy, a read-only procedure, a web GET) that changes the document.
    ReadonlyCode,
    /// `@who`, `@self`, `@context`, `@headers`, `@parameters` or `@viewer` where the code has no such value.
    SpecialValueContext,
    /// `abort` outside a handler or an abortable procedure, `block` outside a state transition.
    AbortContext,
    /// A test statement (`@step`, `@forward`, `@pump`, `@send`, a log) outside a `test` block.
    TestOnly,
    /// A call of a value that is not a function.
    NotCallable,
    /// A call of an abortable procedure from code that cannot abort (a plain function, a map function).
    AbortableCall,
    /// Dispatchers of an enumeration that leave a value unhandled, handle one twice while
    /// returning, or disagree on their return type.
    DispatchRule,
    /// An `@authorize`, `@authorization` or `@web` handler with a path that ends without a `return` (an `abort` inside an `if` without `else` leaves a path open).
    MissingResponse,
    /// Records that reach themselves through lists, tables, maybes or formulas, or a record or message whose written form would contain itself.
    RecordReachesItself,
    /// A field of a `@csv` message whose type is not a CSV scalar.
    CsvField,
    /// A `cached<every N unit>` whose unit is not a word for seconds, minutes or hours.
    CachedUnit,
    /// A `@datetime` literal that is not an ISO date-time with an offset.
    BadDateTime,
    /// A statement in a `switch` case after a `return` or `abort` of the same case, or after a switch whose every case returns.
    SwitchUnreachable,
    /// An `assoc` naming a type that does not exist or is not a record, or a second `assoc` with the same name.
    BadAssoc,
    /// An ingestion whose nested table, record or map field is fed a value that cannot be ingested into it.
    NestedIngestion,
    /// `unique` over values (or by a key) that cannot be compared, hashed and tested for equality.
    NotUnique,
    /// A message with more than one `@parsed` block.
    SecondParsed,
    /// A metric, `@traffic`, `@web get`, lambda or other read-only code that calls a procedure that is not `readonly`.
    ReadonlyCall,
    /// A `table<R>` local, parameter or message field whose rows are a record rather than a message.
    LocalTableOfRecords,
    /// A write to a message local initialised from a read-only value (a handler's message, an awaited future).
    ReadonlyCopy,
    /// Two policies of the same name in one record.
    DuplicateRecordPolicy,
    /// A `replication<service:method>` whose service declares no such replication, or whose value does not fit it.
    BadReplication,
    /// A service method whose input or output is neither a message nor `dynamic`, or two members of one service with the same name.
    BadServiceMember,
    /// Two view filters with the same name.
    DuplicateFilter,
    /// Code with a return type that does not return on every path because a `return` on the
    /// path has a value that does not fit the return type (such a return does not count).
    UnfitReturn,
}

impl Code {
    /// Every code, in the order of their numbers.
    pub const ALL: &'static [Code] = &[
        Code::UnexpectedToken,
        Code::MissingToken,
        Code::MalformedNumber,
        Code::IntegerOutOfRange,
        Code::InvalidEscape,
        Code::InvalidCharacter,
        Code::OperatorChain,
        Code::ReservedName,
        Code::NotText,
        Code::MalformedDeclaration,
        Code::NestingTooDeep,
        Code::UnknownName,
        Code::UnknownType,
        Code::UnknownMember,
        Code::UnknownReference,
        Code::Duplicate,
        Code::TypeMismatch,
        Code::OperatorUndefined,
        Code::Unification,
        Code::NotAssignable,
        Code::ControlFlow,
        Code::ContextCapability,
        Code::CallCapability,
        Code::BadCall,
        Code::StructureRule,
        Code::MaybeMisuse,
        Code::ConditionNotBool,
        Code::NotANumber,
        Code::NotIterable,
        Code::BadIndex,
        Code::LibraryArguments,
        Code::BadConversion,
        Code::BadIngestion,
        Code::MissingReturn,
        Code::ReturnMismatch,
        Code::SwitchRule,
        Code::QueryRule,
        Code::NotATable,
        Code::BadMapType,
        Code::TypeCycle,
        Code::FormulaCycle,
        Code::BadSchedule,
        Code::FieldTypeNotAllowed,
        Code::MissingInitializer,
        Code::UnknownState,
        Code::UnknownEnumValue,
        Code::UnknownChannel,
        Code::UnknownPolicy,
        Code::UnknownMethod,
        Code::ReadonlyCode,
        Code::SpecialValueContext,
        Code::AbortContext,
        Code::TestOnly,
        Code::NotCallable,
        Code::AbortableCall,
        Code::DispatchRule,
        Code::MissingResponse,
        Code::RecordReachesItself,
        Code::CsvField,
        Code::CachedUnit,
        Code::BadDateTime,
        Code::SwitchUnreachable,
        Code::BadAssoc,
        Code::NestedIngestion,
        Code::NotUnique,
        Code::SecondParsed,
        Code::ReadonlyCall,
        Code::LocalTableOfRecords,
        Code::ReadonlyCopy,
        Code::DuplicateRecordPolicy,
        Code::BadReplication,
        Code::BadServiceMember,
        Code::DuplicateFilter,
        Code::UnfitReturn,
    ];

    /// The code as printed: `E0001` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnexpectedToken => "E0001",
            Code::MissingToken => "E0002",
            Code::MalformedNumber => "E0003",
            Code::IntegerOutOfRange => "E0004",
            Code::InvalidEscape => "E0005",
            Code::InvalidCharacter => "E0006",
            Code::OperatorChain => "E0007",
            Code::ReservedName => "E0008",
            Code::NotText => "E0009",
            Code::MalformedDeclaration => "E0010",
            Code::NestingTooDeep => "E0011",
            Code::UnknownName => "E0100",
            Code::UnknownType => "E0101",
            Code::UnknownMember => "E0102",
            Code::UnknownReference => "E0103",
            Code::Duplicate => "E0104",
            Code::TypeMismatch => "E0105",
            Code::OperatorUndefined => "E0106",
            Code::Unification => "E0107",
            Code::NotAssignable => "E0108",
            Code::ControlFlow => "E0109",
            Code::ContextCapability => "E0110",
            Code::CallCapability => "E0111",
            Code::BadCall => "E0112",
            Code::StructureRule => "E0113",
            Code::MaybeMisuse => "E0114",
            Code::ConditionNotBool => "E0115",
            Code::NotANumber => "E0116",
            Code::NotIterable => "E0117",
            Code::BadIndex => "E0118",
            Code::LibraryArguments => "E0119",
            Code::BadConversion => "E0120",
            Code::BadIngestion => "E0121",
            Code::MissingReturn => "E0122",
            Code::ReturnMismatch => "E0123",
            Code::SwitchRule => "E0124",
            Code::QueryRule => "E0125",
            Code::NotATable => "E0126",
            Code::BadMapType => "E0127",
            Code::TypeCycle => "E0128",
            Code::FormulaCycle => "E0129",
            Code::BadSchedule => "E0130",
            Code::FieldTypeNotAllowed => "E0131",
            Code::MissingInitializer => "E0132",
            Code::UnknownState => "E0133",
            Code::UnknownEnumValue => "E0134",
            Code::UnknownChannel => "E0135",
            Code::UnknownPolicy => "E0136",
            Code::UnknownMethod => "E0137",
            Code::ReadonlyCode => "E0138",
            Code::SpecialValueContext => "E0139",
            Code::AbortContext => "E0140",
            Code::TestOnly => "E0141",
            Code::NotCallable => "E0142",
            Code::AbortableCall => "E0143",
            Code::DispatchRule => "E0144",
            Code::MissingResponse => "E0145",
            Code::RecordReachesItself => "E0146",
            Code::CsvField => "E0147",
            Code::CachedUnit => "E0148",
            Code::BadDateTime => "E0149",
            Code::SwitchUnreachable => "E0150",
            Code::BadAssoc => "E0151",
            Code::NestedIngestion => "E0152",
            Code::NotUnique => "E0153",
            Code::SecondParsed => "E0154",
            Code::ReadonlyCall => "E0155",
            Code::LocalTableOfRecords => "E0156",
            Code::ReadonlyCopy => "E0157",
            Code::DuplicateRecordPolicy => "E0158",
            Code::BadReplication => "E0159",
            Code::BadServiceMember => "E0160",
            Code::DuplicateFilter => "E0161",
            Code::UnfitReturn => "E0162",
        }
    }

    /// A one-line title, as used in the diagnostics reference.
    pub fn title(self) -> &'static str {
        match self {
            Code::UnexpectedToken => "unexpected token",
            Code::MissingToken => "missing token",
            Code::MalformedNumber => "malformed number literal",
            Code::IntegerOutOfRange => "number literal out of range",
            Code::InvalidEscape => "invalid string escape",
            Code::InvalidCharacter => "invalid character",
            Code::OperatorChain => "operator chain needs parentheses",
            Code::ReservedName => "reserved word used as a name",
            Code::NotText => "file is not UTF-8 text",
            Code::MalformedDeclaration => "malformed declaration",
            Code::NestingTooDeep => "nesting too deep",
            Code::UnknownName => "unknown name",
            Code::UnknownType => "unknown type",
            Code::UnknownMember => "unknown member",
            Code::UnknownReference => "unknown reference",
            Code::Duplicate => "duplicate definition",
            Code::TypeMismatch => "type mismatch",
            Code::OperatorUndefined => "operator undefined for these types",
            Code::Unification => "types do not unify",
            Code::NotAssignable => "not assignable",
            Code::ControlFlow => "unreachable code",
            Code::ContextCapability => "not available in this context",
            Code::CallCapability => "call not allowed in this context",
            Code::BadCall => "bad call",
            Code::StructureRule => "structural rule",
            Code::MaybeMisuse => "maybe misuse",
            Code::ConditionNotBool => "condition is not a bool",
            Code::NotANumber => "not a number",
            Code::NotIterable => "not a collection",
            Code::BadIndex => "index of the wrong type",
            Code::LibraryArguments => "no overload accepts these arguments",
            Code::BadConversion => "conversion not possible",
            Code::BadIngestion => "cannot ingest",
            Code::MissingReturn => "missing return",
            Code::ReturnMismatch => "return of the wrong shape",
            Code::SwitchRule => "switch misuse",
            Code::QueryRule => "query clause misuse",
            Code::NotATable => "not a table",
            Code::BadMapType => "map key or value type not allowed",
            Code::TypeCycle => "type contains itself",
            Code::FormulaCycle => "formula depends on itself",
            Code::BadSchedule => "schedule out of range",
            Code::FieldTypeNotAllowed => "type not allowed here",
            Code::MissingInitializer => "missing initializer",
            Code::UnknownState => "unknown state",
            Code::UnknownEnumValue => "unknown enum value",
            Code::UnknownChannel => "unknown channel",
            Code::UnknownPolicy => "unknown policy or filter",
            Code::UnknownMethod => "unknown method",
            Code::ReadonlyCode => "change in read-only code",
            Code::SpecialValueContext => "special value not available here",
            Code::AbortContext => "abort or block not allowed here",
            Code::TestOnly => "test statement outside a test",
            Code::NotCallable => "not a function",
            Code::AbortableCall => "abortable call not allowed here",
            Code::DispatchRule => "dispatcher does not cover its enumeration",
            Code::MissingResponse => "handler may end without a response",
            Code::RecordReachesItself => "records reach themselves",
            Code::CsvField => "field not compatible with @csv",
            Code::CachedUnit => "unit of time not allowed in cached",
            Code::BadDateTime => "malformed datetime literal",
            Code::SwitchUnreachable => "unreachable code in a switch",
            Code::BadAssoc => "assoc of unknown or non-record types",
            Code::NestedIngestion => "nested ingestion does not fit",
            Code::NotUnique => "unique over values that cannot be compared",
            Code::SecondParsed => "second @parsed event",
            Code::ReadonlyCall => "read-only code calls a changing procedure",
            Code::LocalTableOfRecords => "table of records outside the document",
            Code::ReadonlyCopy => "write to a read-only message copy",
            Code::DuplicateRecordPolicy => "duplicate policy in a record",
            Code::BadReplication => "replication of a method the service lacks",
            Code::BadServiceMember => "service method of unknown types or duplicate member",
            Code::DuplicateFilter => "duplicate view filter",
            Code::UnfitReturn => "return whose value does not fit",
        }
    }
}

impl Code {
    /// The general hint for a code, shown when a check has no more specific one.
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            Code::UnknownName => {
                "declare it first (a local, a field, a function), or fix the spelling"
            }
            Code::UnknownType => {
                "declare the record, message or enum, or use a built-in type such as int, string or maybe<T>"
            }
            Code::UnknownMember => "use a field the type declares",
            Code::UnknownReference => {
                "declare what is named here (the link, service, assoc, ...), or fix the spelling"
            }
            Code::Duplicate => "rename one of the two declarations",
            Code::TypeMismatch => {
                "convert the value (for example with intOf(), strOf() or getOrDefaultTo()) or change the declared type"
            }
            Code::OperatorUndefined => {
                "convert an operand so that both sides have types the operator accepts"
            }
            Code::Unification => "make both branches produce the same type",
            Code::NotAssignable => {
                "write to a mutable local or field; declare a mutable copy with an explicit type"
            }
            Code::ControlFlow => {
                "remove the code that can never run, or the statement that ends the block before it"
            }
            Code::ContextCapability => {
                "move this into code that allows it (section 7.8 of the language reference lists what each context may do)"
            }
            Code::CallCapability => {
                "call only code that this context allows, or change the modifiers of the callee"
            }
            Code::BadCall => "pass the arguments a declared signature expects",
            Code::StructureRule => "change the declaration to follow the rule named in the message",
            Code::MaybeMisuse => {
                "unwrap a maybe with `if (m as v)` or `getOrDefaultTo(…)`; a plain value needs no unwrapping"
            }
            Code::ConditionNotBool => {
                "compare the value to something (`x > 0`, `s != \"\"`) to make a `bool`"
            }
            Code::NotANumber => {
                "convert the value with intOf(), doubleOf() or getOrDefaultTo(), or use a number"
            }
            Code::NotIterable => "iterate a table with `iterate t`, or give a list, array or map",
            Code::BadIndex => "index a list or array by an `int`, a map by its key type",
            Code::LibraryArguments => {
                "pass arguments of the types one of the overloads named in the hint expects"
            }
            Code::BadConversion => {
                "convert only between messages whose fields match, and to an enumeration only from an `int`"
            }
            Code::BadIngestion => {
                "ingest into a table, a record or a `maybe<record>`, from a message, a list or an anonymous object whose fields the target has"
            }
            Code::MissingReturn => "add a `return` at the end of every path",
            Code::ReturnMismatch => "return what the declaration promises",
            Code::SwitchRule => {
                "switch over an int, string or enum, with constant labels and at most one `default:`"
            }
            Code::QueryRule => {
                "order by fields of a type that can be ordered, and join along an assoc declared for these rows"
            }
            Code::NotATable => "name a `table<R>` here",
            Code::BadMapType => {
                "key maps by int, long, string, an enum or principal, and keep tables out of maps"
            }
            Code::TypeCycle => {
                "break the cycle with a table, a list, or an id instead of the record itself"
            }
            Code::FormulaCycle => "compute one of the values in the cycle from fields only",
            Code::BadSchedule => "hours are 0-23, minutes 0-59, days of the month 0-31",
            Code::FieldTypeNotAllowed => "use a type the place allows; the message names it",
            Code::MissingInitializer => "give the local a value where it is declared",
            Code::UnknownState => "declare the state with `#name { … }`, or fix the spelling",
            Code::UnknownEnumValue => {
                "use a value the enumeration declares, or add it to the enumeration"
            }
            Code::UnknownChannel => "declare the channel, or fix the spelling",
            Code::UnknownPolicy => "declare the policy with `policy p { … }`, or fix the spelling",
            Code::UnknownMethod => {
                "call a method the type has; section 6 of the language reference lists the library"
            }
            Code::ReadonlyCode => {
                "move the change into a message handler, a procedure, or other code that may change the document"
            }
            Code::SpecialValueContext => {
                "use it only in code that has it (section 7.8 of the language reference)"
            }
            Code::AbortContext => {
                "abort from message handlers and abortable procedures; block from state code"
            }
            Code::TestOnly => "move it into a `test` block",
            Code::NotCallable => {
                "call a function, procedure or method; remove the parentheses to use the value"
            }
            Code::AbortableCall => "call it from a message handler or another abortable procedure",
            Code::DispatchRule => {
                "give every value of the enumeration exactly one dispatcher, all with the same return type"
            }
            Code::MissingResponse => {
                "return a response on every path, or end the path with `abort;`"
            }
            Code::RecordReachesItself => {
                "break the cycle: read the rows through a function, or keep ids rather than the rows themselves"
            }
            Code::CsvField => {
                "keep only int, long, double, bool, string, date, datetime, time, timespan, principal and complex fields in a @csv message"
            }
            Code::CachedUnit => {
                "write the period in sec/second/seconds, min/minute/minutes or hr/hour/hours"
            }
            Code::BadDateTime => {
                "write `yyyy-MM-ddTHH:mm[:ss[.fraction]]` followed by `Z` or an offset such as `+01:00`, optionally with a zone like `[UTC]`"
            }
            Code::SwitchUnreachable => {
                "remove the code that can never run, or end the case with `break;` before it"
            }
            Code::BadAssoc => {
                "name records in `assoc<From, To, Edge>`, and give each assoc its own name"
            }
            Code::NestedIngestion => {
                "give nested tables and records a list or an object of their fields, and maps a map with the same key type"
            }
            Code::NotUnique => {
                "make rows unique by a scalar field (`unique first id`), or over scalars"
            }
            Code::SecondParsed => "merge the two @parsed blocks into one",
            Code::ReadonlyCall => "mark the procedure `readonly`, or call a function",
            Code::LocalTableOfRecords => {
                "declare the rows as a message: `message RowM { … }` and `table<RowM>`"
            }
            Code::ReadonlyCopy => {
                "declare the local first and assign it afterwards (`M copy; copy = m;`) to get a writable copy"
            }
            Code::DuplicateRecordPolicy => "rename one of the two policies",
            Code::BadReplication => {
                "name a `replication<T> method;` the service declares, with a value that fits T"
            }
            Code::BadServiceMember => {
                "declare the messages the method takes and returns, and give each member its own name"
            }
            Code::DuplicateFilter => "rename one of the two filters",
            Code::UnfitReturn => {
                "make the returned value fit the declared return type; a `return` whose value does not fit does not end its path"
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A secondary location that helps explain a diagnostic ("the block opened here").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    pub range: Range<usize>,
    pub message: String,
}

/// A change of the file's text: `range` is replaced by `text` (an empty range inserts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub text: String,
}

/// A change that resolves a diagnostic, as an editor offers it ("Insert ';'").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<TextEdit>,
}

/// One problem found in one file. Ranges are byte offsets into the file's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub range: Range<usize>,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    pub related: Vec<Label>,
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    /// An error with the given code, range and message.
    pub fn error(code: Code, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            range,
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
            related: Vec::new(),
            fixes: Vec::new(),
        }
    }

    /// Adds a hint that says how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a related location.
    pub fn with_label(mut self, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.related.push(Label {
            range,
            message: message.into(),
        });
        self
    }

    /// Adds a fix made of one edit: `range` replaced by `text`.
    pub fn with_fix(
        mut self,
        title: impl Into<String>,
        range: Range<usize>,
        text: impl Into<String>,
    ) -> Diagnostic {
        self.fixes.push(Fix {
            title: title.into(),
            edits: vec![TextEdit {
                range,
                text: text.into(),
            }],
        });
        self
    }

    /// The same diagnostic with every range it holds (primary, related, edits) moved by `map`.
    pub fn map_ranges(&self, map: impl Fn(&Range<usize>) -> Range<usize>) -> Diagnostic {
        let mut moved = self.clone();
        moved.range = map(&moved.range);
        for label in &mut moved.related {
            label.range = map(&label.range);
        }
        for edit in moved.fixes.iter_mut().flat_map(|fix| fix.edits.iter_mut()) {
            edit.range = map(&edit.range);
        }
        moved
    }
}
