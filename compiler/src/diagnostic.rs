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
    /// A field, method or member that the type does not have.
    UnknownMember,
    /// A state label, channel, policy, filter or enum value that does not exist.
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
    /// Unreachable code, a missing return, or a return of the wrong shape.
    ControlFlow,
    /// Something used where its context does not allow it (`abort`, `@who`, test statements, ...).
    ContextCapability,
    /// A call that the calling context may not make.
    CallCapability,
    /// A call with the wrong number or kinds of arguments, or of something that is not a function.
    BadCall,
    /// A declaration that breaks a structural rule of the language.
    StructureRule,
    /// A maybe used as a plain value, or a plain value used as a maybe.
    MaybeMisuse,
}

impl Code {
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
            Code::ControlFlow => "control flow",
            Code::ContextCapability => "not available in this context",
            Code::CallCapability => "call not allowed in this context",
            Code::BadCall => "bad call",
            Code::StructureRule => "structural rule",
            Code::MaybeMisuse => "maybe misuse",
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
            Code::UnknownMember => {
                "use a field or method the type declares; section 6 of the language reference lists the library"
            }
            Code::UnknownReference => {
                "declare what is named here (the state block, policy, filter, channel, enum label, ...)"
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
                "make every path end as the code requires, and remove code that can never run"
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
