//! The Adama document engine, without IO.
//!
//! This crate will hold the values of the language, the interpreter of the compiler's IR, documents
//! with their reactive fields and formulas, transactions that turn one command into redo and undo
//! JSON merge patches, the per-viewer privacy filter that computes each viewer's delta, and the
//! standard library. It performs no IO of any kind: no files, sockets, clocks or threads. Time and
//! randomness arrive inside the commands it executes, which is what makes a replayed log produce
//! byte-identical deltas. The `node` host drives it from tokio, storage and the network.
