//! The one place where the node calls into the runtime. Everything else in the node speaks in
//! the types of this module, so a change of the runtime's API is adapted here alone.

use std::sync::Arc;

use adama_compiler::ir::Program;
use adama_compiler::{Diagnostic, Severity};
use adama_runtime::principal_from_json;
use adama_runtime::{Document, Limits, Loaded, StaticPolicy};
use serde_json::{Map, Value as Json, json};

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

    /// Whether this is the runtime's `principal`.
    pub fn is(&self, principal: &adama_runtime::Principal) -> bool {
        *self.agent == *principal.agent && *self.authority == *principal.authority
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
    /// The context fields of a command for `key`, with room for the fields a command adds
    /// (growing the map would copy it for every send).
    pub fn command(&self, kind: &str, key: &str, timestamp: i64) -> Json {
        let mut command = Map::with_capacity(12);
        command.insert("command".into(), Json::String(kind.to_owned()));
        command.insert("timestamp".into(), Json::from(timestamp));
        command.insert("who".into(), self.who.to_json());
        command.insert("key".into(), Json::String(key.to_owned()));
        command.insert("origin".into(), Json::String(self.origin.clone()));
        command.insert("ip".into(), Json::String(self.ip.clone()));
        Json::Object(command)
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

/// The memory a space's documents may use (the runtime's estimate, `runtime/src/memory.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Bytes of values and records one transaction may allocate.
    pub transaction_bytes: u64,
    /// Bytes of values and records a document may hold.
    pub document_bytes: u64,
}

impl Default for MemoryBudget {
    fn default() -> MemoryBudget {
        let limits = Limits::default();
        MemoryBudget {
            transaction_bytes: limits.transaction_bytes,
            document_bytes: limits.document_bytes,
        }
    }
}

/// A compiled space: the program, and what the node needs to know of its static settings.
#[derive(Debug)]
pub struct Space {
    pub name: String,
    pub source: Arc<str>,
    loaded: Arc<Loaded>,
    /// `maximum_history`: how many log entries a compaction keeps.
    pub maximum_history: usize,
    /// What each document of the space may allocate and hold.
    pub budget: MemoryBudget,
    /// The compiled schema (`space/reflect`).
    pub reflection: Arc<Json>,
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
        let loaded = Loaded::new(program);
        let settings = loaded
            .static_settings()
            .map_err(|fault| format!("{file}: the static settings cannot be evaluated: {fault}"))?;
        // A history that is not a positive count falls back to the default.
        let maximum_history = settings
            .get("maximum_history")
            .and_then(serde_json::Value::as_u64)
            .filter(|history| *history > 0)
            .and_then(|history| usize::try_from(history).ok())
            .unwrap_or(DEFAULT_HISTORY);
        let reflection = Arc::new(crate::reflect::reflect(loaded.program()));
        Ok(Space {
            name: name.to_owned(),
            source: Arc::from(text),
            reflection,
            loaded,
            maximum_history,
            budget: MemoryBudget::default(),
        })
    }

    /// The space with another memory budget.
    pub fn with_budget(self, budget: MemoryBudget) -> Space {
        Space { budget, ..self }
    }

    /// Whether a static policy allows `context` for the document `key`: every block returns
    /// true, and there is at least one (an absent policy denies, and so does policy code that
    /// fails).
    pub fn allows(&self, policy: Policy, context: &Context, key: &str) -> bool {
        let policy = match policy {
            Policy::Create => StaticPolicy::Create,
            Policy::Invent => StaticPolicy::Invent,
        };
        let who = principal_from_json(&context.who.to_json());
        let request = json!({"origin": context.origin, "ip": context.ip, "key": key});
        match self.loaded.static_policy(policy, &who, &request) {
            Ok(allowed) => allowed,
            Err(fault) => {
                tracing::warn!(space = %self.name, ?policy, %fault, "a static policy failed; it denies");
                false
            }
        }
    }

    fn program(&self) -> &Arc<Program> {
        self.loaded.program()
    }

    /// The names of the document's view fields, sorted (`view-state-filter`).
    pub fn view_fields(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .program()
            .views
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Whether the constructor takes a message (then implicit creation is impossible).
    pub fn constructor_takes_argument(&self) -> bool {
        self.program()
            .constructors
            .iter()
            .any(|constructor| constructor.param.is_some())
    }
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
        let mut document = Document::of_loaded(Arc::clone(&space.loaded), &space.name, key)
            .map_err(|fault| fault.to_string())?;
        let limits = document.limits_mut();
        limits.transaction_bytes = space.budget.transaction_bytes;
        limits.document_bytes = space.budget.document_bytes;
        Ok(Engine { document })
    }

    /// A document rebuilt from its stored JSON.
    pub fn restore(space: &Space, key: &str, stored: &Json) -> Result<Engine, String> {
        let mut engine = Engine::fresh(space, key)?;
        engine.document.insert(stored);
        Ok(engine)
    }

    /// Folds a committed transaction's redo into a copy of the document (a read replica),
    /// outside any transaction; views see it on their next delta.
    pub fn apply_redo(&mut self, redo: &Json) {
        self.document.insert(redo);
    }

    /// Runs a command and the invalidation it asks for at once, as one record.
    pub fn execute(&mut self, command: Json) -> Result<Record, Refusal> {
        let command = Arc::new(command);
        let kind = command.get("command").and_then(Json::as_str).unwrap_or("");
        let result = if kind == "web_get" || kind == "web_options" {
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

    /// What committed code asked of the node since the last call (runtime `HostRequest`).
    pub fn take_host_requests(&mut self) -> Vec<adama_runtime::HostRequest> {
        self.document.take_host_requests()
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

    /// Everything a view shows now, as its first delta would carry it (its `data`), and the
    /// rest of that envelope (`seq`, `outstanding`, `blockers`).
    pub fn whole_view(&mut self, view: ViewId) -> (Map<String, Json>, Map<String, Json>) {
        let mut envelope = match self
            .view_delta(view)
            .map(|text| serde_json::from_str(&text))
        {
            Some(Ok(Json::Object(envelope))) => envelope,
            _ => Map::new(),
        };
        let data = match envelope.remove("data") {
            Some(Json::Object(data)) => data,
            _ => Map::new(),
        };
        (data, envelope)
    }

    /// Runs `@authorization` on a login message (its password removed); what it returned.
    /// The document does not change.
    pub fn authorization(&mut self, message: &Json, context: &Context) -> Result<Json, Refusal> {
        let request = json!({"origin": context.origin, "ip": context.ip});
        self.document
            .authorization(message, &request)
            .map_err(|error| Refusal {
                code: error.code,
                message: error.message,
            })
    }

    /// Runs the deprecated `@authorize (username, password)`; the agent it named. The document
    /// does not change.
    pub fn authorize(
        &mut self,
        username: &str,
        password: &str,
        context: &Context,
    ) -> Result<String, Refusal> {
        let request = json!({"origin": context.origin, "ip": context.ip});
        self.document
            .authorize(username, password, &request)
            .map_err(|error| Refusal {
                code: error.code,
                message: error.message,
            })
    }

    /// Whether `@can_attach` lets `who` upload a file; nothing of the document changes.
    pub fn can_attach(&mut self, who: &Who, context: &Context) -> bool {
        let principal = principal_from_json(&who.to_json());
        let request = json!({"origin": context.origin, "ip": context.ip});
        self.document.can_attach(&principal, &request)
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

/// A record without the secrets of its command: records written before commands were logged
/// without them (a `password` command's new password) are shown as later ones are.
pub fn without_secrets(mut record: Record) -> Record {
    if let Some(redacted) = adama_runtime::redact(&record.command) {
        record.command = Arc::new(redacted);
    }
    record
}
