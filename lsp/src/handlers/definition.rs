//! `textDocument/definition` and `typeDefinition`: from a name to where it is declared.
//!
//! The name under the cursor is classified by [`super::semantic::classify`] from the checker's
//! resolutions; its declaration is the occurrence the checker marked as declaring it.

use std::ops::Range;

use adama_compiler::check::Definition;
use adama_compiler::ty::Ty;
use adama_compiler::{Db, SourceFile};

use super::semantic::{classify, declaration};

/// The byte range of the declaration of the name at `offset`.
pub fn definition(db: &dyn Db, file: SourceFile, offset: usize) -> Option<Range<usize>> {
    let classified = classify(db, file, offset)?;
    let range = declaration(db, file, &classified.definition)?;
    // A state is declared as `#name`: navigation lands on the whole label.
    let text = &adama_compiler::queries::parsed(db, file).text;
    if matches!(classified.definition, Definition::State(_))
        && range.start > 0
        && text.get(range.start - 1..range.start) == Some("#")
    {
        return Some(range.start - 1..range.end);
    }
    Some(range)
}

/// The declaration of the type of the expression at `offset` (a record, message or enum), or of
/// the type a type name at `offset` names.
pub fn type_definition(db: &dyn Db, file: SourceFile, offset: usize) -> Option<Range<usize>> {
    if let Some(classified) = classify(db, file, offset)
        && matches!(
            classified.definition,
            Definition::Record(_) | Definition::Message(_) | Definition::Enum(_)
        )
    {
        return declaration(db, file, &classified.definition);
    }
    let (_, mut ty, _) = adama_compiler::navigation::expression_at(db, file, offset)?;
    while let Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) | Ty::Table(inner) = ty {
        ty = *inner;
    }
    let definition = match ty {
        Ty::Record(name) => Definition::Record(name.to_string()),
        Ty::Message(name) | Ty::Holder(name) => Definition::Message(name.to_string()),
        Ty::Enum(name) => Definition::Enum(name.to_string()),
        _ => return None,
    };
    declaration(db, file, &definition)
}
