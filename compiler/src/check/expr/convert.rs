//! `@convert`: a message built from another with the fields they share.

use super::*;

impl Checker<'_> {
    pub(super) fn convert(&mut self, target: &Ident, value: ExprId) -> Value {
        let source = self.expr(value).ty;
        let target_ty = self.signatures.resolve_struct_name(&target.name);
        if let Some(definition) = self.type_definition(&target.name) {
            self.note(target.node, definition);
        }
        if matches!(target_ty, Ty::Record(_)) {
            self.error_with_help(
                target.node,
                Code::UnknownType,
                format!(
                    "no message named '{}'",
                    target.name
                ),
                format!("'{}' is a record; @convert produces messages: declare a message with the fields to copy", target.name),
            );
            return Value::error();
        }
        if target_ty.is_error() {
            let mut diagnostic = SemanticDiagnostic::new(
                target.node,
                Code::UnknownType,
                format!("no message named '{}'", target.name),
            );
            if let Some(message) = self.suggest_message(&target.name) {
                diagnostic = diagnostic.with_suggestion(target.node, &message);
            }
            self.report(diagnostic.with_declaration(
                format!("Create message {}", target.name),
                format!("\nmessage {} {{\n}}\n", target.name),
            ));
            return Value::error();
        }
        let structured = |ty: &Ty| {
            matches!(
                ty,
                Ty::Record(_) | Ty::Message(_) | Ty::Anonymous(_) | Ty::Error
            )
        };
        let (result, element) = match (&target_ty, &source) {
            (_, Ty::Error) => (target_ty.clone(), None),
            (Ty::Enum(_), Ty::Int) => (target_ty.clone(), None),
            (Ty::Enum(enumeration), _) => {
                self.error_with_help(
                    self.body.expr(value).node,
                    Code::BadConversion,
                    format!("'{source}' can not be converted to the enumeration '{enumeration}'"),
                    "only an int converts to an enumeration (language section 3.10)",
                );
                (Ty::Error, None)
            }
            (_, Ty::List(element) | Ty::Array(element)) if structured(element) => {
                (Ty::array(target_ty.clone()), Some((**element).clone()))
            }
            (_, Ty::Maybe(element)) if structured(element) => {
                (Ty::maybe(target_ty.clone()), Some((**element).clone()))
            }
            (_, Ty::Record(_) | Ty::Message(_) | Ty::Anonymous(_)) => {
                (target_ty.clone(), Some(source.clone()))
            }
            _ => {
                self.error(
                    self.body.expr(value).node,
                    Code::BadConversion,
                    format!(
                        "'{source}' can not be converted: only list<S>, S[] and maybe<S> convert"
                    ),
                );
                (Ty::Error, None)
            }
        };
        if let Some(element) = element {
            self.link_fields(&target_ty, &element);
            // A literal converted in place names the target's fields.
            self.note_literal(value, &target_ty);
            self.convertible_fields(&target_ty, &element, self.body.expr(value).node);
        }
        Value::of(result)
    }

    /// Every field of the conversion's target must exist in the source with a storable type.
    pub(super) fn convertible_fields(&mut self, target: &Ty, source: &Ty, node: NodeId) {
        let Some(target_sig) = self.signatures.struct_of(target).cloned() else {
            return;
        };
        let source_fields: Vec<(String, Ty)> = match source {
            Ty::Anonymous(fields) => (**fields).clone(),
            _ => match self.signatures.struct_of(source) {
                Some(sig) => sig
                    .members
                    .iter()
                    .filter_map(|(name, member)| match member {
                        MemberSig::Field { ty, .. } => Some((name.clone(), ty.clone())),
                        _ => None,
                    })
                    .collect(),
                None => return,
            },
        };
        for name in &target_sig.order {
            let Some((_, source_ty)) = source_fields.iter().find(|(field, _)| field == name) else {
                self.error(node, Code::BadConversion, format!("The type '{target}' contains field '{name}' which is not found within '{source}'."));
                return;
            };
            // Reactive-only storage reads as its native value.
            let source_ty = match source_ty {
                Ty::Text => &Ty::String,
                Ty::Holder(message) => &Ty::Message(message.clone()),
                other => other,
            };
            // Nested structures convert field by field too; only plain values are compared here.
            if let Some(MemberSig::Field { ty, .. }) = target_sig.members.get(name)
                && !holds_structure(ty)
                && !holds_structure(source_ty)
                && !crate::ty::can_store(ty, source_ty, false, self.signatures)
            {
                self.error_with_help(
                    node,
                    Code::BadConversion,
                    format!("expected '{ty}', found '{source_ty}'"),
                    format!("the field '{name}' of '{target}' can not hold the field '{name}' of '{source}'"),
                );
                return;
            }
        }
    }
}
