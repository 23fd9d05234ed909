//! One module per request: each turns compiler queries into protocol values.

pub mod code_actions;
pub mod code_lens;
pub mod completion;
pub mod definition;
pub mod diagnostics;
pub mod folding;
pub mod formatting;
pub mod hover;
pub mod inlay_hints;
pub mod refactorings;
pub mod references;
pub mod selection;
pub mod semantic;
pub mod semantic_tokens;
pub mod signature_help;
pub mod symbols;
