//! Reading a document's log out of a data directory (`adama log export`).

use std::path::Path;

use serde_json::json;

use crate::store::Store;
use crate::store::redb::RedbStore;

/// One JSON line per log entry still held: `{"index":n,"seq":…,"time":…,"command":…,"redo":…,"undo":…}`.
pub fn log_lines(data: &Path, space: &str, key: &str) -> Result<Vec<String>, String> {
    if !data.join("documents.redb").is_file() {
        return Err(format!(
            "{} holds no documents (no documents.redb)",
            data.display()
        ));
    }
    let store = RedbStore::open(data).map_err(|error| {
        format!("{error} (hint: a running node holds the store; stop it first)")
    })?;
    let document = format!("{space}/{key}");
    let entries = store.log(&document).map_err(|error| error.to_string())?;
    if entries.is_empty()
        && store
            .load(&document)
            .map_err(|error| error.to_string())?
            .is_none()
    {
        return Err(format!("no document '{document}' in {}", data.display()));
    }
    Ok(entries
        .into_iter()
        .map(|(index, record)| {
            let record = crate::engine::without_secrets(record);
            let mut line = json!({"index": index});
            if let (Some(line), Ok(serde_json::Value::Object(fields))) =
                (line.as_object_mut(), serde_json::to_value(&record))
            {
                line.extend(fields);
            }
            line.to_string()
        })
        .collect())
}
