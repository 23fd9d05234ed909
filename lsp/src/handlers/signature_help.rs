//! `textDocument/signatureHelp`: the parameters of the function being called at the cursor.

use adama_compiler::check::resolution::overloads;
use adama_compiler::queries::{parsed, signatures};
use adama_compiler::{Db, SourceFile};
use tower_lsp_server::ls_types::{
    ParameterInformation, ParameterLabel, SignatureHelp, SignatureInformation,
};

/// The signatures of the user function or procedure whose argument list holds `offset`.
pub fn signature_help(db: &dyn Db, file: SourceFile, offset: usize) -> Option<SignatureHelp> {
    let parsed = parsed(db, file);
    let mut node = parsed.descendant_for_byte_range(offset, offset)?;
    let call = loop {
        if node.kind() == "call_expression" {
            let arguments = node.child_by_field_name("arguments")?;
            if arguments.start_byte() < offset && offset <= arguments.end_byte() {
                break node;
            }
        }
        node = node.parent()?;
    };
    let function = call.child_by_field_name("function")?;
    // The callee as the checker resolved it: its last name (`f` of `f(…)`, `m` of `r.m(…)`).
    let classified = super::semantic::classify(db, file, function.end_byte())?;
    let name = parsed.text.get(classified.range.clone())?;
    let arguments = call.child_by_field_name("arguments")?;
    let active_parameter = parsed
        .text
        .get(arguments.start_byte()..offset)?
        .matches(',')
        .count();
    let signatures = signatures(db, file);
    let (overloads, chosen) = overloads(signatures, &classified.definition)?;
    let informations = overloads
        .iter()
        .map(|signature| {
            let parameters: Vec<String> = signature
                .params
                .iter()
                .map(|param| format!("{} {}", param.ty, param.name))
                .collect();
            let returns = if signature.returns == adama_compiler::ty::Ty::Void {
                String::new()
            } else {
                format!(" -> {}", signature.returns)
            };
            SignatureInformation {
                label: format!("{name}({}){returns}", parameters.join(", ")),
                documentation: None,
                parameters: Some(
                    parameters
                        .into_iter()
                        .map(|label| ParameterInformation {
                            label: ParameterLabel::Simple(label),
                            documentation: None,
                        })
                        .collect(),
                ),
                active_parameter: None,
            }
        })
        .collect();
    Some(SignatureHelp {
        signatures: informations,
        active_signature: Some(u32::try_from(chosen.unwrap_or(0)).unwrap_or(0)),
        active_parameter: Some(u32::try_from(active_parameter).unwrap_or(0)),
    })
}
