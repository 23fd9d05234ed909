//! The parts of a checker diagnostic that point somewhere: related locations and fixes.
//!
//! Like the primary location, they are anchored to nodes, never to byte offsets, so a check result
//! stays valid (and salsa keeps it) when text moves; `queries::diagnostics` turns anchors into
//! ranges through the current source maps.

use super::resolution::Definition;
use super::{Checker, SemanticDiagnostic};
use crate::diagnostic::Code;
use crate::hir::NodeId;

/// A place in the file, as a check knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// A node of the item the diagnostic belongs to.
    Node(NodeId),
    /// A node of another item of the same file, by the item's index (document-wide rules only).
    Item { item: usize, node: NodeId },
    /// The end of the file, where a missing declaration can be added.
    EndOfFile,
    /// The start of the file, for rules about the document as a whole (record cycles).
    StartOfFile,
    /// The whole declaration of a record, message or enum, by name: a rule about a type used
    /// elsewhere is shown where the type is declared.
    TypeDeclaration(String),
    /// The name that declares a definition, wherever it is in the file (a field whose type a
    /// value must fit, a function whose parameter it must fit).
    Declared(Definition),
    /// The type written for a parameter of a function, procedure or method (`callee`), by the
    /// parameter's position from 0: what an argument must fit.
    Parameter { callee: Definition, index: usize },
}

/// Where the type of parameter `index` of `callee` (a function, procedure or record or message
/// method) is written; `None` when the declaration cannot be found.
pub fn parameter_type(
    items: &[crate::hir::LoweredItem],
    callee: &Definition,
    index: usize,
) -> Option<std::ops::Range<usize>> {
    use super::resolution::Owner;
    use crate::hir::{Decl, MessageMember, RecordMember};
    let (item, function) = match callee {
        Definition::Function {
            name,
            procedure,
            overload,
        } => items
            .iter()
            .filter_map(|item| match &item.decl.decl {
                Decl::Function(function) if !procedure && function.name.name == *name => {
                    Some((item, function))
                }
                Decl::Procedure(function) if *procedure && function.name.name == *name => {
                    Some((item, function))
                }
                _ => None,
            })
            .nth(usize::try_from(*overload).ok()?)?,
        Definition::Method {
            owner,
            name,
            overload,
        } => {
            let overload = usize::try_from(*overload).ok()?;
            items.iter().find_map(|item| {
                let methods: Vec<&crate::hir::Function> = match (&item.decl.decl, owner) {
                    (Decl::Record(record), Owner::Record(owner)) if record.name.name == *owner => {
                        record
                            .members
                            .iter()
                            .filter_map(|member| match member {
                                RecordMember::Method(method) => Some(method),
                                _ => None,
                            })
                            .collect()
                    }
                    (Decl::Message(message), Owner::Message(owner))
                        if message.name.name == *owner =>
                    {
                        message
                            .members
                            .iter()
                            .filter_map(|member| match member {
                                MessageMember::Method(method) => Some(method),
                                _ => None,
                            })
                            .collect()
                    }
                    _ => return None,
                };
                methods
                    .into_iter()
                    .filter(|method| method.name.name == *name)
                    .nth(overload)
                    .map(|method| (item, method))
            })?
        }
        _ => return None,
    };
    let param = function.params.get(index)?;
    Some(item.span(param.ty.node()))
}

/// One edit of a fix: the text of the anchor is replaced by `text` (at the end of the file,
/// `text` is appended).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemanticEdit {
    pub anchor: Anchor,
    pub text: String,
}

/// A fix: what an editor shows, and the edits it applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemanticFix {
    pub title: String,
    pub edits: Vec<SemanticEdit>,
}

/// A related location with what it shows ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemanticLabel {
    pub anchor: Anchor,
    pub message: String,
}

impl SemanticDiagnostic {
    /// A diagnostic at `node`, without hint, related locations or fixes.
    pub fn new(node: NodeId, code: Code, message: impl Into<String>) -> SemanticDiagnostic {
        SemanticDiagnostic {
            node,
            code,
            message: message.into(),
            help: None,
            related: Vec::new(),
            fixes: Vec::new(),
            at: None,
        }
    }

    /// Shows the diagnostic at `anchor` rather than at its node (the node still identifies what
    /// the check was about).
    pub fn shown_at(mut self, anchor: Anchor) -> SemanticDiagnostic {
        self.at = Some(anchor);
        self
    }

    /// Adds a hint that says how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> SemanticDiagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a related location.
    pub fn with_label(mut self, anchor: Anchor, message: impl Into<String>) -> SemanticDiagnostic {
        self.related.push(SemanticLabel {
            anchor,
            message: message.into(),
        });
        self
    }

    /// Adds the related locations of `labels`, when there are any.
    pub fn with_labels(
        self,
        labels: impl IntoIterator<Item = (Anchor, String)>,
    ) -> SemanticDiagnostic {
        labels
            .into_iter()
            .fold(self, |diagnostic, (anchor, message)| {
                diagnostic.with_label(anchor, message)
            })
    }

    /// Adds a fix of one edit.
    pub fn with_fix(
        mut self,
        title: impl Into<String>,
        anchor: Anchor,
        text: impl Into<String>,
    ) -> SemanticDiagnostic {
        self.fixes.push(SemanticFix {
            title: title.into(),
            edits: vec![SemanticEdit {
                anchor,
                text: text.into(),
            }],
        });
        self
    }

    /// Adds the fix of a misspelt name: the name at `node` replaced by `suggestion`, with the
    /// matching "did you mean" hint.
    pub fn with_suggestion(self, node: NodeId, suggestion: &str) -> SemanticDiagnostic {
        self.with_help(format!("did you mean '{suggestion}'?"))
            .with_fix(
                format!("Change to '{suggestion}'"),
                Anchor::Node(node),
                suggestion,
            )
    }

    /// Adds the fix that declares what is missing at the end of the file.
    pub fn with_declaration(
        self,
        title: impl Into<String>,
        declaration: impl Into<String>,
    ) -> SemanticDiagnostic {
        self.with_fix(title, Anchor::EndOfFile, declaration)
    }
}

impl Checker<'_> {
    /// Records a diagnostic built with the builders above.
    pub(super) fn report(&mut self, diagnostic: SemanticDiagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Records an error about a misspelt name at `node`, with the fix that takes `suggestion`.
    pub(super) fn error_suggesting(
        &mut self,
        node: NodeId,
        code: Code,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) {
        let mut diagnostic = SemanticDiagnostic::new(node, code, message);
        if let Some(suggestion) = suggestion {
            diagnostic = diagnostic.with_suggestion(node, &suggestion);
        }
        self.report(diagnostic);
    }
}
