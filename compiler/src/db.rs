//! The salsa database: the one input (a source file's text) and the storage of every query.
//!
//! Each query in [`crate::queries`] is memoised here and re-runs only when something it read
//! changed. The database also keeps the last syntax trees of each file outside salsa, so that a
//! new text re-parses only the chunk it changed ([`crate::chunks`]); for text without syntax
//! errors that cache only makes parsing faster, never different.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::chunks::Chunk;

/// A source file: its path (as the user named it) and its text.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

/// The last text and trees parsed for each path.
#[derive(Debug, Default)]
pub struct ParseCache {
    trees: Mutex<HashMap<String, (String, Vec<Chunk>)>>,
}

impl ParseCache {
    /// Parses `text`, re-using the previous trees of `path` when there are some.
    pub fn parse(&self, path: &str, text: &str) -> Vec<Chunk> {
        // The previous version is taken out rather than copied: its text buffer is refilled with
        // the new text, so a keystroke neither copies nor allocates a whole file for it.
        let previous = self
            .trees
            .lock()
            .ok()
            .and_then(|mut trees| trees.remove(path));
        let (chunks, mut kept_text) = match previous {
            Some((old_text, old_chunks)) => (
                crate::chunks::reparse(&old_text, old_chunks, text),
                old_text,
            ),
            None => (crate::chunks::parse(text), String::new()),
        };
        kept_text.clear();
        kept_text.push_str(text);
        if let Ok(mut trees) = self.trees.lock() {
            trees.insert(path.to_owned(), (kept_text, chunks.clone()));
        }
        chunks
    }
}

/// What queries need from the database beyond salsa's storage.
#[salsa::db]
pub trait Db: salsa::Database {
    fn parse_cache(&self) -> &ParseCache;
    fn lower_cache(&self) -> &crate::lower::LowerCache;
    fn check_cache(&self) -> &crate::check_cache::CheckCache;
}

/// The compiler's database.
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
    parse_cache: Arc<ParseCache>,
    lower_cache: Arc<crate::lower::LowerCache>,
    check_cache: Arc<crate::check_cache::CheckCache>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Database").finish_non_exhaustive()
    }
}

impl Database {
    /// A database for files that are checked once and not edited (`adama check`, a program
    /// compiled to run): it keeps no earlier results for re-checks after edits.
    pub fn for_one_check() -> Database {
        Database {
            check_cache: Arc::new(crate::check_cache::CheckCache::off()),
            ..Database::default()
        }
    }

    /// A database that records the name of every query it executes, for tests of incrementality.
    pub fn with_execution_log() -> (Database, Arc<Mutex<Vec<String>>>) {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&log);
        let storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { database_key } = event.kind
                && let Ok(mut log) = sink.lock()
            {
                log.push(format!("{database_key:?}"));
            }
        })));
        (
            Database {
                storage,
                parse_cache: Arc::default(),
                lower_cache: Arc::default(),
                check_cache: Arc::default(),
            },
            log,
        )
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn parse_cache(&self) -> &ParseCache {
        &self.parse_cache
    }

    fn lower_cache(&self) -> &crate::lower::LowerCache {
        &self.lower_cache
    }

    fn check_cache(&self) -> &crate::check_cache::CheckCache {
        &self.check_cache
    }
}
