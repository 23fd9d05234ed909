//! The encoding of raft entries in the log and of the messages between members: CBOR behind a
//! format byte. Entries carry records that are JSON text; CBOR carries them as they are, where
//! JSON would escape every quote of every record again and parse it back on each member.
//! Bytes without the format byte are JSON, as the log and the members of earlier versions wrote
//! them, so a log written before stays readable and an older member is still understood.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The first byte of a CBOR value here; JSON text never starts with it.
const CBOR: u8 = 0x01;

/// The content type of an encoded message between members.
pub const CONTENT_TYPE: &str = "application/cbor";

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let mut bytes = vec![CBOR];
    ciborium::into_writer(value, &mut bytes).map_err(|error| error.to_string())?;
    Ok(bytes)
}

/// Whether `bytes` are in this encoding (not the JSON of an earlier version).
pub fn is_encoded(bytes: &[u8]) -> bool {
    bytes.first() == Some(&CBOR)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match bytes.split_first() {
        Some((&CBOR, rest)) => ciborium::from_reader(rest).map_err(|error| error.to_string()),
        _ => serde_json::from_slice(bytes).map_err(|error| error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::types::{Proposal, ReplicatedWrite};

    fn proposal() -> Proposal {
        Proposal {
            writes: vec![
                ReplicatedWrite::Append {
                    document: "chat/room".into(),
                    index: 7,
                    record: r#"{"redo":{"text":"a \"quoted\" word"}}"#.into(),
                },
                ReplicatedWrite::Snapshot {
                    document: "chat/room".into(),
                    index: 7,
                    json: serde_json::json!({"text": "x", "n": [1, 2.5, null]}),
                    keep: 3,
                },
                ReplicatedWrite::Wake {
                    document: "chat/other".into(),
                    at: Some(-4),
                },
                ReplicatedWrite::Delete {
                    document: "chat/gone".into(),
                },
            ],
        }
    }

    #[test]
    fn a_proposal_comes_back_as_it_went() {
        let bytes = encode(&proposal()).expect("it encodes");
        assert!(is_encoded(&bytes));
        assert_eq!(decode::<Proposal>(&bytes).expect("it decodes"), proposal());
    }

    #[test]
    fn the_json_of_earlier_versions_is_still_read() {
        let json = serde_json::to_vec(&proposal()).expect("it is JSON");
        assert!(!is_encoded(&json));
        assert_eq!(decode::<Proposal>(&json).expect("it decodes"), proposal());
    }

    #[test]
    fn a_record_is_carried_without_escaping() {
        let bytes = encode(&proposal()).expect("it encodes");
        let json = serde_json::to_vec(&proposal()).expect("it is JSON");
        assert!(bytes.len() < json.len());
        let record = br#"{"redo":{"text":"a \"quoted\" word"}}"#;
        assert!(bytes.windows(record.len()).any(|window| window == record));
    }

    #[test]
    fn damaged_bytes_are_an_error() {
        let mut bytes = encode(&proposal()).expect("it encodes");
        bytes.truncate(bytes.len() / 2);
        assert!(decode::<Proposal>(&bytes).is_err());
    }
}
