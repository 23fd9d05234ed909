//! The one place where the node calls into the runtime. Everything else in the node speaks in
//! the types of this module, so a change of the runtime's API is adapted here alone.

use std::sync::Arc;

use adama_compiler::ir::Program;
use adama_compiler::{Diagnostic, Severity};
use adama_runtime::Document;
use adama_runtime::principal_from_json;
use serde_json::{Value as Json, json};

pub use adama_runtime::TransactionRecord as Record;

/// The stack a thread needs to compile or run user code: the compiler and the interpreter
/// recurse over nested code.
pub const STACK_BYTES: usize = 64 * 1024 * 1024;

/// A principal: who sends, connects or views.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Who {
    pub agent: String,
    pub authority: String,
}

impl Who {
    pub fn new(agent: &str, authority: &str) -> Who {
        Who {
            agent: agent.to_owned(),
            authority: authority.to_owned(),
        }
    }

    /// `@no_one`.
    pub fn no_one() -> Who {
        Who::new("?", "?")
    }

    pub fn to_json(&self) -> Json {
        json!({"agent": self.agent, "authority": self.authority})
    }

    fn from_json(json: &Json) -> Who {
        let principal = principal_from_json(json);
        Who::new(&principal.agent, &principal.authority)
    }
}

/// Who asks, from where, about which key: the context of a command.
#[derive(Debug, Clone)]
pub struct Context {
    pub who: Who,
    pub origin: String,
    pub ip: String,
}

impl Context {
    /// The context fields of a command for `key`.
    pub fn command(&self, kind: &str, key: &str, timestamp: i64) -> Json {
        json!({"command": kind, "timestamp": timestamp, "who": self.who.to_json(),
            "key": key, "origin": self.origin, "ip": self.ip})
    }
}

/// Why the runtime refused a command; the document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    pub message: String,
}

/// The runtime's code for a connect of a principal that is already connected.
pub const ALREADY_CONNECTED: i32 = 115_724;

/// A compiled space: the program, and what the node needs to know of its static settings.
#[derive(Debug)]
pub struct Space {
    pub name: String,
    pub source: Arc<str>,
    program: Arc<Program>,
    /// One program per `@static create` block whose connect handler is that block (see
    /// [`Space::allows`]).
    create_checks: Vec<Arc<Program>>,
    invent_checks: Vec<Arc<Program>>,
    /// `maximum_history`: how many log entries a compaction keeps.
    pub maximum_history: usize,
}

/// Which static policy to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Create,
    Invent,
}

const DEFAULT_HISTORY: usize = 1000;

/// Renders diagnostics as `name:line:column: message` lines.
fn render(name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let index = adama_compiler::LineIndex::new(text);
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| {
            let position = index.position_chars(text, diagnostic.range.start);
            format!(
                "{name}:{}:{}: {}",
                position.line + 1,
                position.character + 1,
                diagnostic.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs work on a thread with a stack large enough for the compiler.
fn on_big_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(work)
        .map_err(|error| format!("cannot start a compiler thread: {error}"))?
        .join()
        .map_err(|_| "the compiler stopped unexpectedly".to_owned())
}

impl Space {
    /// Compiles a space's source; the rendered errors when it has any.
    pub fn compile(name: &str, file: &str, text: &str) -> Result<Space, String> {
        let (name, file, text) = (name.to_owned(), file.to_owned(), text.to_owned());
        on_big_stack(move || Space::compile_here(&name, &file, &text))?
    }

    fn compile_here(name: &str, file: &str, text: &str) -> Result<Space, String> {
        let program = adama_runtime::compile(file, text)
            .map_err(|diagnostics| render(file, text, &diagnostics))?;
        // The runtime evaluates `@static` policies only inside commands; to ask one without a
        // transaction, each policy block becomes the sole `@connected` handler of a copy of the
        // program, and a connect on a scratch document answers it.
        let checks = |count: usize, policy: Policy| -> Result<Vec<Arc<Program>>, String> {
            (0..count)
                .map(|index| {
                    let copy = adama_runtime::compile(file, text)
                        .map_err(|diagnostics| render(file, text, &diagnostics))?;
                    let mut copy = Arc::try_unwrap(copy)
                        .map_err(|_| "a compiled program is shared".to_owned())?;
                    let blocks = match policy {
                        Policy::Create => std::mem::take(&mut copy.static_create),
                        Policy::Invent => std::mem::take(&mut copy.static_invent),
                    };
                    copy.connected = blocks.into_iter().skip(index).take(1).collect();
                    Ok(Arc::new(copy))
                })
                .collect()
        };
        let create_checks = checks(program.static_create.len(), Policy::Create)?;
        let invent_checks = checks(program.static_invent.len(), Policy::Invent)?;
        let maximum_history = maximum_history(text).unwrap_or(DEFAULT_HISTORY);
        Ok(Space {
            name: name.to_owned(),
            source: Arc::from(text),
            program,
            create_checks,
            invent_checks,
            maximum_history,
        })
    }

    /// Whether a static policy allows `context` for `key`: every block returns true, and there
    /// is at least one (an absent policy denies).
    pub fn allows(&self, policy: Policy, context: &Context, key: &str) -> bool {
        let checks = match policy {
            Policy::Create => &self.create_checks,
            Policy::Invent => &self.invent_checks,
        };
        !checks.is_empty()
            && checks.iter().all(|program| {
                let Ok(mut scratch) = Document::new(Arc::clone(program), &self.name, key) else {
                    return false;
                };
                let mut command = context.command("connect", key, 0);
                command["timestamp"] = json!(0);
                scratch.execute(&command).is_ok()
            })
    }

    /// The names of the document's view fields, sorted (`view-state-filter`).
    pub fn view_fields(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .program
            .views
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Whether the constructor takes a message (then implicit creation is impossible).
    pub fn constructor_takes_argument(&self) -> bool {
        self.program
            .constructors
            .iter()
            .any(|constructor| constructor.param.is_some())
    }
}

/// `maximum_history = N;` read from the source, as the runtime gives no access to static
/// settings.
fn maximum_history(text: &str) -> Option<usize> {
    let at = text.find("maximum_history")?;
    let rest = text[at + "maximum_history".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|history| *history > 0)
}

/// A view's id in its document.
pub type ViewId = usize;

/// A live document of a space.
#[derive(Debug)]
pub struct Engine {
    document: Document,
}

impl Engine {
    /// A document that has not been constructed yet.
    pub fn fresh(space: &Space, key: &str) -> Result<Engine, String> {
        Document::new(Arc::clone(&space.program), &space.name, key)
            .map(|document| Engine { document })
            .map_err(|fault| fault.to_string())
    }

    /// A document rebuilt from its stored JSON.
    pub fn restore(space: &Space, key: &str, stored: &Json) -> Result<Engine, String> {
        let mut engine = Engine::fresh(space, key)?;
        engine.document.insert(stored);
        Ok(engine)
    }

    /// Runs a command and the invalidation it asks for at once, as one record.
    pub fn execute(&mut self, command: Json) -> Result<Record, Refusal> {
        let command = Arc::new(command);
        let kind = command.get("command").and_then(Json::as_str).unwrap_or("");
        let result = if kind == "web_get" {
            self.document.execute_shared(Arc::clone(&command))
        } else {
            self.document.execute_batch(&command)
        };
        result.map_err(|error| Refusal {
            code: error.code,
            message: error.message,
        })
    }

    pub fn seq(&self) -> i32 {
        self.document.meta().seq
    }

    pub fn is_constructed(&self) -> bool {
        self.document.meta().constructed
    }

    pub fn is_deleted(&self) -> bool {
        self.document.is_deleted()
    }

    /// The principals the document holds as connected.
    pub fn clients(&self) -> Vec<Who> {
        self.document
            .meta()
            .clients
            .values()
            .map(|principal| Who::new(&principal.agent, &principal.authority))
            .collect()
    }

    /// When the document next needs an invalidation, in document time (epoch ms).
    pub fn next_wake(&self) -> Option<i64> {
        self.document.next_wake()
    }

    pub fn open_view(&mut self, who: &Who, state: Json) -> ViewId {
        let principal = principal_from_json(&who.to_json());
        self.document.open_view(principal, state)
    }

    pub fn close_view(&mut self, view: ViewId) {
        self.document.close_view(view);
    }

    pub fn update_view(&mut self, view: ViewId, state: Json) {
        self.document.update_view_state(view, state);
    }

    /// The view's next delta as JSON text; `None` when there is nothing to send.
    pub fn view_delta(&mut self, view: ViewId) -> Option<String> {
        match self.document.view_delta_text(view) {
            Ok(text) if text != "null" => Some(text),
            _ => None,
        }
    }

    /// The whole stored document.
    pub fn dump(&self) -> Json {
        self.document.dump()
    }
}

/// The principal of a command (`who`), as the runtime reads it.
pub fn who_of(command: &Json) -> Who {
    command
        .get("who")
        .map(Who::from_json)
        .unwrap_or_else(Who::no_one)
}

/// Folds a redo patch into a stored document.
pub fn fold(document: &mut Json, redo: &Json) {
    adama_runtime::apply_patch(document, redo);
}
