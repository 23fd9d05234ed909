//! Work spread over the threads of the host's rayon pool.
//!
//! The compiler starts no threads: a host that wants a file checked on several cores runs the
//! compiler inside a rayon pool it built (with stacks large enough for the checker's recursion,
//! as for the compiler's own thread), and asks for [`diagnostics`]. Outside a pool everything
//! runs on the caller's thread, as before; the results are the same either way.
//!
//! What runs in parallel: lowering the items of a file (pure functions of each item's syntax
//! tree) and checking them (salsa queries, each run on a clone of the database, whose memos the
//! caller's database then reads). Diagnostics keep their order, since [`diagnostics`] gathers
//! them in source order on the caller's thread once every item is checked.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::db::{Database, SourceFile};
use crate::diagnostic::Diagnostic;
use crate::queries::{self, FileItem};

/// Whether the caller runs on a thread of a rayon pool with another thread to share work with.
fn in_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// `work` applied to each of `inputs`, in order: spread over the pool the caller runs in, if any.
pub(crate) fn map<T: Sync, R: Send>(inputs: &[T], work: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if in_pool() {
        inputs.par_iter().map(work).collect()
    } else {
        inputs.iter().map(work).collect()
    }
}

/// Every diagnostic of `file`, as [`queries::diagnostics`] gives them; inside a rayon pool, its
/// items are lowered and checked on the pool's threads first.
///
/// Invariant: a check's result depends only on the item, the declarations and the formula types
/// it reads, and salsa gives every participant of a cycle among formula types the same fallback
/// whichever query entered the cycle first, so the order in which threads check the items does
/// not change any result.
pub fn diagnostics(db: &Database, file: SourceFile) -> &[Diagnostic] {
    if in_pool() && queries::lowered(db, file).diagnostics.is_empty() {
        let items = queries::file_items(db, file);
        // One clone of the database per thread of the pool: a clone is what lets a thread run
        // queries, and each thread locks only its own.
        let forks: Vec<Mutex<Database>> = (0..rayon::current_num_threads())
            .map(|_| Mutex::new(db.clone()))
            .collect();
        let on_fork = |query: &dyn Fn(&Database)| {
            let fork = rayon::current_thread_index().and_then(|index| forks.get(index));
            if let Some(Ok(fork)) = fork.map(Mutex::lock) {
                query(&fork);
            }
        };
        // The declaration table is built once, before any item needs it, while the rules across
        // items that read only declarations run beside it.
        rayon::join(
            || {
                on_fork(&|fork| {
                    queries::signatures(fork, file);
                });
            },
            || {
                on_fork(&|fork| {
                    queries::document_checks(fork, file);
                    queries::formula_cycles(fork, file);
                });
            },
        );
        // `None` stands for the record graph, which reads the declarations and formula types.
        let tasks: Vec<Option<FileItem<'_>>> = std::iter::once(None)
            .chain(items.iter().copied().map(Some))
            .collect();
        tasks.par_iter().for_each(|task| {
            on_fork(&|fork| match task {
                Some(item) => {
                    queries::check_item(fork, *item);
                }
                None => {
                    queries::record_graph(fork, file);
                }
            });
        });
    }
    queries::diagnostics(db, file)
}
