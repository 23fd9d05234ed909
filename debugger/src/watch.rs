//! `evaluate`: an Adama expression, typed by the compiler, computed on the document at a stop.
//!
//! The expression becomes a public formula appended to the program's source, so the compiler
//! resolves and types it exactly as it would in the program (fields, formulas, functions, enums).
//! Its value is read through a view of a document of that program loaded with the stored
//! state, which is how formulas are computed anyway. A compiled expression is kept, so a
//! breakpoint's condition checked at every transaction compiles once.

use std::collections::HashMap;
use std::sync::Arc;

use adama_compiler::Severity;
use adama_compiler::ir::{Program, RecordId};
use adama_runtime::{Document, principal_from_json};
use serde_json::{Value as Json, json};

/// What an expression gives: its value and the type the compiler gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    pub value: Json,
    pub ty: String,
}

/// Compiles expressions against one program's source and computes them on stored documents.
#[derive(Debug)]
pub struct Watcher {
    source: Arc<str>,
    name: String,
    compiled: HashMap<String, Result<Arc<Program>, String>>,
}

impl Watcher {
    pub fn new(source: Arc<str>) -> Watcher {
        // A name no program writes, so the appended formula cannot clash with a field.
        let mut name = "debugger_watch".to_owned();
        while source.contains(&name) {
            name.push('_');
        }
        Watcher {
            source,
            name,
            compiled: HashMap::new(),
        }
    }

    /// Evaluates `expression` on the stored document `state`.
    pub fn evaluate(&mut self, expression: &str, state: &Json) -> Result<Evaluated, String> {
        let expression = expression.trim();
        if expression.is_empty() {
            return Err("write an Adama expression, such as `score + 1`".to_owned());
        }
        let program = self.program(expression)?;
        let mut document = Document::new(Arc::clone(&program), "space", "key")
            .map_err(|fault| format!("cannot build the document to evaluate on: {fault}"))?;
        document.insert(state);
        let viewer = principal_from_json(&json!({"agent": "debugger", "authority": "adama"}));
        let view = document.open_view(viewer, json!({}));
        let delta = document.view_delta(view).map_err(|fault| {
            format!("`{expression}` cannot be computed on this document: {fault}")
        })?;
        document.close_view(view);
        let value = delta
            .get("data")
            .and_then(|data| data.get(&self.name))
            .cloned()
            .unwrap_or(Json::Null);
        let ty = program.records[RecordId::ROOT]
            .slot_index
            .get(&self.name)
            .and_then(|slot| program.records[RecordId::ROOT].fields.get(*slot as usize))
            .map(|field| field.ty.to_string())
            .unwrap_or_default();
        Ok(Evaluated { value, ty })
    }

    /// Evaluates a breakpoint's condition: true, false, or why it cannot say.
    pub fn condition(&mut self, expression: &str, state: &Json) -> Result<bool, String> {
        let evaluated = self.evaluate(expression, state)?;
        match evaluated.value {
            Json::Bool(value) => Ok(value),
            _ => Err(format!(
                "the condition `{}` is a {}, not a bool; write a comparison such as `score > 3`",
                expression.trim(),
                evaluated.ty
            )),
        }
    }

    fn program(&mut self, expression: &str) -> Result<Arc<Program>, String> {
        if let Some(compiled) = self.compiled.get(expression) {
            return compiled.clone();
        }
        let compiled = self.compile(expression);
        self.compiled
            .insert(expression.to_owned(), compiled.clone());
        compiled
    }

    fn compile(&self, expression: &str) -> Result<Arc<Program>, String> {
        // One line on its own, so the expression cannot end a comment or an item of the program.
        if expression.contains(';') || expression.contains('\n') {
            return Err(format!(
                "`{expression}` is not one expression: write it on one line without `;`"
            ));
        }
        let prefix = format!("\npublic formula {} = (", self.name);
        let text = format!("{}{prefix}{expression});\n", self.source);
        let start = self.source.len() + prefix.len();
        let diagnostics = match adama_runtime::compile("watch.a", &text) {
            Ok(program) => return Ok(program),
            Err(diagnostics) => diagnostics,
        };
        let errors: Vec<_> = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .collect();
        let own = errors
            .iter()
            .find(|diagnostic| diagnostic.range.start >= self.source.len())
            .or(errors.first());
        let Some(error) = own else {
            return Err(format!("`{expression}` does not compile"));
        };
        let column = error
            .range
            .start
            .saturating_sub(start)
            .min(expression.len())
            + 1;
        let help = error
            .help
            .as_ref()
            .map(|help| format!(" ({help})"))
            .unwrap_or_default();
        Err(format!(
            "`{expression}` does not type-check at column {column}: {}{help}",
            error.message
        ))
    }
}
