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

use crate::code::Local;

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
    /// The document's fields and formulas: a local of the same name is not declared beside
    /// them (it would clash), so the expression reads the field.
    fields: Vec<String>,
    compiled: HashMap<String, Result<Arc<Program>, String>>,
}

impl Watcher {
    pub fn new(source: Arc<str>, program: &Program) -> Watcher {
        // A name no program writes, so the appended formula cannot clash with a field.
        let mut name = "debugger_watch".to_owned();
        while source.contains(&name) {
            name.push('_');
        }
        let fields = program.records[RecordId::ROOT]
            .fields
            .iter()
            .map(|field| field.name.clone())
            .collect();
        Watcher {
            source,
            name,
            fields,
            compiled: HashMap::new(),
        }
    }

    /// Evaluates `expression` on the stored document `state`.
    pub fn evaluate(&mut self, expression: &str, state: &Json) -> Result<Evaluated, String> {
        self.evaluate_with(expression, state, &[])
    }

    /// Evaluates `expression` on the stored document `state` with the locals of the running
    /// code in scope: each local a document field can hold (scalars, enums, records, messages)
    /// is declared as a field beside the watched formula and holds the local's value; the
    /// others (lists, maps, anonymous messages) are held by a message and read through
    /// formulas of their own types. Only a list of records is read alone or by its fields.
    pub fn evaluate_with(
        &mut self,
        expression: &str,
        state: &Json,
        locals: &[Local],
    ) -> Result<Evaluated, String> {
        let expression = expression.trim();
        let (program, usable) = self.prepare(expression, locals)?;
        let mut document = Document::new(Arc::clone(&program), "space", "key")
            .map_err(|fault| format!("cannot build the document to evaluate on: {fault}"))?;
        let mut state = state.clone();
        if let Json::Object(fields) = &mut state {
            for local in &usable.fields {
                fields.insert(local.name.clone(), local.value.clone());
            }
            if !usable.held.is_empty() {
                let held = usable
                    .held
                    .iter()
                    .map(|local| (local.name.clone(), local.value.clone()))
                    .collect();
                fields.insert(format!("{}_held", self.name), Json::Object(held));
            }
        }
        document.insert(&state);
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
        let ty = self.type_in(&program);
        Ok(Evaluated { value, ty })
    }

    /// The type the compiler gives `expression` with these locals in scope (their values are
    /// not read), without computing it.
    pub fn type_of(&mut self, expression: &str, locals: &[Local]) -> Result<String, String> {
        let (program, _) = self.prepare(expression.trim(), locals)?;
        Ok(self.type_in(&program))
    }

    fn type_in(&self, program: &Program) -> String {
        program.records[RecordId::ROOT]
            .slot_index
            .get(&self.name)
            .and_then(|slot| program.records[RecordId::ROOT].fields.get(*slot as usize))
            .map(|field| field.ty.to_string())
            .unwrap_or_default()
    }

    /// Compiles the expression with the usable locals declared, and says which those are.
    fn prepare<'l>(
        &mut self,
        expression: &str,
        locals: &'l [Local],
    ) -> Result<(Arc<Program>, Usable<'l>), String> {
        if expression.is_empty() {
            return Err("write an Adama expression, such as `score + 1`".to_owned());
        }
        let in_scope = |local: &&Local| !self.fields.contains(&local.name);
        let usable = Usable {
            fields: locals
                .iter()
                .filter(|local| local.field_type.is_some())
                .filter(in_scope)
                .collect(),
            held: locals
                .iter()
                .filter(|local| local.field_type.is_none() && local.held.is_some())
                .filter(in_scope)
                .collect(),
        };
        let declared = self.declarations(&usable);
        let program = self.program(expression, &declared).map_err(|error| {
            let unusable: Vec<&str> = locals
                .iter()
                .filter(|local| !usable.contains(&local.name))
                .map(|local| local.name.as_str())
                .filter(|name| expression.contains(name))
                .collect();
            match unusable.first() {
                Some(name) => format!(
                    "{error}; the local `{name}` is read alone or by its fields (`{name}.FIELD`), \
                     not inside a larger expression"
                ),
                None => error,
            }
        })?;
        Ok((program, usable))
    }

    /// The declarations standing for the usable locals: a field for each local a field can
    /// hold, and for the others a message holding them all (in a holder, which stores a whole
    /// message) with a formula per local reading its field, since a formula can be of any type.
    fn declarations(&self, usable: &Usable) -> String {
        let mut declared: String = usable
            .fields
            .iter()
            .filter_map(|local| {
                let ty = local.field_type.as_ref()?;
                Some(format!("{ty} {};\n", local.name))
            })
            .collect();
        if usable.held.is_empty() {
            return declared;
        }
        let prefix = &self.name;
        let mut body = String::new();
        for local in &usable.held {
            let Some(held) = &local.held else { continue };
            for message in &held.messages {
                declared.push_str(&message.replace('%', prefix));
                declared.push('\n');
            }
            body.push_str(&format!(
                " {} {};",
                held.ty.replace('%', prefix),
                local.name
            ));
        }
        declared.push_str(&format!(
            "message {prefix}_locals {{{body} }}\nholder<{prefix}_locals> {prefix}_held;\n"
        ));
        for local in &usable.held {
            declared.push_str(&format!(
                "formula {name} = {prefix}_held.{name};\n",
                name = local.name
            ));
        }
        declared
    }
}

/// The locals an expression can use: those declared as fields, and those held by a message.
struct Usable<'l> {
    fields: Vec<&'l Local>,
    held: Vec<&'l Local>,
}

impl Usable<'_> {
    fn contains(&self, name: &str) -> bool {
        self.fields
            .iter()
            .chain(&self.held)
            .any(|local| local.name == name)
    }
}

impl Watcher {
    /// Evaluates a breakpoint's condition: true, false, or why it cannot say.
    pub fn condition(
        &mut self,
        expression: &str,
        state: &Json,
        locals: &[Local],
    ) -> Result<bool, String> {
        let evaluated = match crate::guard::local_path(locals, expression) {
            Some(value) => Evaluated {
                value,
                ty: String::new(),
            },
            None => self.evaluate_with(expression, state, locals)?,
        };
        match evaluated.value {
            Json::Bool(value) => Ok(value),
            _ => Err(format!(
                "the condition `{}` is a {}, not a bool; write a comparison such as `score > 3`",
                expression.trim(),
                evaluated.ty
            )),
        }
    }

    fn program(&mut self, expression: &str, declared: &str) -> Result<Arc<Program>, String> {
        let key = format!("{declared}{expression}");
        if let Some(compiled) = self.compiled.get(&key) {
            return compiled.clone();
        }
        let compiled = self.compile(expression, declared);
        self.compiled.insert(key, compiled.clone());
        compiled
    }

    /// `declared` holds field declarations standing for the locals in scope.
    fn compile(&self, expression: &str, declared: &str) -> Result<Arc<Program>, String> {
        // One line on its own, so the expression cannot end a comment or an item of the program.
        if expression.contains(';') || expression.contains('\n') {
            return Err(format!(
                "`{expression}` is not one expression: write it on one line without `;`"
            ));
        }
        let prefix = format!("\n{declared}public formula {} = (", self.name);
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
