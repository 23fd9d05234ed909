//! The raft logs of every partition of the node, in append-only segment files of their own
//! (`raft-log/` in the data directory).
//!
//! A raft log is written at its end, truncated at its end and purged at its start: a file the
//! writer appends framed records to fits it better than a B-tree, which rewrites its pages
//! and their index on every commit. Each record is framed by its length and a CRC-32, so a
//! write torn by a crash is found and cut off at the next start. The index (partition → entry
//! index → where the entry's bytes are) and the partitions' small values (vote, committed and
//! purged marks) live in memory, rebuilt from the segments at start.
//!
//! A segment is closed once it outgrows [`SEGMENT_BYTES`], and the next begins with a
//! checkpoint: every partition's range of live entries and its values. A log's live entries
//! are one range (appends and truncations at the end, purges at the start), so from a
//! checkpoint on, an entry outside its partition's range is dead whatever older segments say.
//! That is what lets any segment without live entries be deleted, not only the oldest: the
//! removals it recorded are implied by the checkpoints after it. A segment that keeps only a
//! few live entries (those of a partition that went quiet) has them copied forward, and goes.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::lock;

/// A segment is closed and the next begun once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 64 << 20;

/// A closed segment whose live entries take less than this share of it (1/N) has them copied
/// forward, so that it can go.
const SPARSE: u64 = 8;

/// No record is larger; a length beyond it is a damaged frame.
const MAX_RECORD: u32 = 1 << 30;

const HEADER: usize = 8;
const APPEND: u8 = 1;
const META: u8 = 2;
const REMOVE: u8 = 3;
const CHECKPOINT: u8 = 4;

/// One write of a partition's log.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// The entry at `index`, as encoded bytes; it replaces an entry there.
    Append {
        partition: u32,
        index: u64,
        bytes: &'a [u8],
    },
    /// A small named value (the vote, the committed and purged marks).
    Meta {
        partition: u32,
        name: &'a str,
        bytes: &'a [u8],
    },
    /// Removes the entries with an index in `from..=to`.
    Remove { partition: u32, from: u64, to: u64 },
}

/// Where an entry's bytes are.
#[derive(Debug, Clone, Copy)]
struct Location {
    segment: u64,
    offset: u64,
    len: u32,
}

#[derive(Debug, Default)]
struct PartitionLog {
    entries: BTreeMap<u64, Location>,
    meta: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug)]
struct Segment {
    file: Arc<File>,
    /// The bytes of the live entries it holds.
    live_bytes: u64,
    live: usize,
    size: u64,
}

/// What is in the segments: rebuilt at start, kept by the writer.
#[derive(Debug, Default)]
struct Index {
    partitions: HashMap<u32, PartitionLog>,
    segments: BTreeMap<u64, Segment>,
}

impl Index {
    fn forget(&mut self, location: Location) {
        if let Some(segment) = self.segments.get_mut(&location.segment) {
            segment.live -= 1;
            segment.live_bytes -= u64::from(location.len);
        }
    }

    fn place(&mut self, partition: u32, index: u64, location: Location) {
        if let Some(segment) = self.segments.get_mut(&location.segment) {
            segment.live += 1;
            segment.live_bytes += u64::from(location.len);
        }
        let log = self.partitions.entry(partition).or_default();
        if let Some(old) = log.entries.insert(index, location) {
            self.forget(old);
        }
    }

    /// Records `op`, written to `segment` with its payload (an entry's bytes) at `payload_at`.
    fn apply(&mut self, op: &Op<'_>, segment: u64, payload_at: u64) {
        match *op {
            Op::Append {
                partition,
                index,
                bytes,
            } => self.place(
                partition,
                index,
                Location {
                    segment,
                    offset: payload_at,
                    len: bytes.len() as u32,
                },
            ),
            Op::Meta {
                partition,
                name,
                bytes,
            } => {
                self.partitions
                    .entry(partition)
                    .or_default()
                    .meta
                    .insert(name.to_owned(), bytes.to_vec());
            }
            Op::Remove {
                partition,
                from,
                to,
            } => self.remove(partition, from, to),
        }
    }

    fn remove(&mut self, partition: u32, from: u64, to: u64) {
        let Some(log) = self.partitions.get_mut(&partition) else {
            return;
        };
        let gone = take_range(&mut log.entries, from, to);
        for location in gone.into_values() {
            self.forget(location);
        }
    }

    /// Keeps of each partition only the entries in its checkpointed range.
    fn keep_ranges(&mut self, ranges: &HashMap<u32, (u64, u64)>) {
        let mut gone = Vec::new();
        for (partition, log) in &mut self.partitions {
            // A partition the checkpoint does not name has no live entries: an empty range.
            let (first, last) = ranges.get(partition).copied().unwrap_or((1, 0));
            let live = take_range(&mut log.entries, first, last);
            gone.extend(std::mem::replace(&mut log.entries, live).into_values());
        }
        for location in gone {
            self.forget(location);
        }
    }

    /// Each partition's range of live entries.
    fn ranges(&self) -> Vec<(u32, u64, u64)> {
        let mut ranges: Vec<(u32, u64, u64)> = self
            .partitions
            .iter()
            .filter_map(|(partition, log)| {
                let first = *log.entries.first_key_value()?.0;
                let last = *log.entries.last_key_value()?.0;
                Some((*partition, first, last))
            })
            .collect();
        ranges.sort_unstable();
        ranges
    }
}

/// Takes the entries with an index in `from..=to` out of `entries`.
fn take_range(
    entries: &mut BTreeMap<u64, Location>,
    from: u64,
    to: u64,
) -> BTreeMap<u64, Location> {
    if from > to {
        return BTreeMap::new();
    }
    let mut taken = entries.split_off(&from);
    if let Some(after) = to.checked_add(1) {
        entries.append(&mut taken.split_off(&after));
    }
    taken
}

/// The segment being written.
#[derive(Debug)]
struct Writer {
    id: u64,
    file: Arc<File>,
    length: u64,
    buffer: Vec<u8>,
}

/// The raft logs of a node's partitions. Shared by the partitions' log handles (which read)
/// and the log writer (which writes).
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    segment_bytes: u64,
    index: Mutex<Index>,
    writer: Mutex<Writer>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

fn damaged(path: &Path, offset: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the raft log segment {} is damaged at byte {offset}: {what}\nhint: restore the node's data directory from a backup, or remove the node from the cluster and add it back empty so that it copies the partitions from the others",
            path.display()
        ),
    )
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buffer.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buffer, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            read => {
                buffer = &mut buffer[read..];
                offset += read as u64;
            }
        }
    }
    Ok(())
}

/// Makes a created or removed file's name durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Appends one framed record to `buffer`; answers where its payload starts in it.
fn frame(buffer: &mut Vec<u8>, tag: u8, partition: u32, head: &[u8], payload: &[u8]) -> usize {
    let start = buffer.len();
    let body_len = 1 + 4 + head.len() + payload.len();
    buffer.extend_from_slice(&(body_len as u32).to_le_bytes());
    buffer.extend_from_slice(&[0; 4]);
    buffer.push(tag);
    buffer.extend_from_slice(&partition.to_le_bytes());
    buffer.extend_from_slice(head);
    let payload_at = buffer.len();
    buffer.extend_from_slice(payload);
    let crc = crc32fast::hash(&buffer[start + HEADER..]);
    buffer[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    payload_at
}

fn encode(buffer: &mut Vec<u8>, op: &Op<'_>) -> usize {
    match *op {
        Op::Append {
            partition,
            index,
            bytes,
        } => frame(buffer, APPEND, partition, &index.to_le_bytes(), bytes),
        Op::Meta {
            partition,
            name,
            bytes,
        } => {
            let mut head = vec![name.len() as u8];
            head.extend_from_slice(name.as_bytes());
            frame(buffer, META, partition, &head, bytes)
        }
        Op::Remove {
            partition,
            from,
            to,
        } => {
            let mut head = from.to_le_bytes().to_vec();
            head.extend_from_slice(&to.to_le_bytes());
            frame(buffer, REMOVE, partition, &head, &[])
        }
    }
}

fn checkpoint(buffer: &mut Vec<u8>, index: &Index) {
    let mut payload = Vec::new();
    for (partition, first, last) in index.ranges() {
        payload.extend_from_slice(&partition.to_le_bytes());
        payload.extend_from_slice(&first.to_le_bytes());
        payload.extend_from_slice(&last.to_le_bytes());
    }
    frame(buffer, CHECKPOINT, 0, &[], &payload);
    let mut metas: Vec<(u32, &String, &Vec<u8>)> = index
        .partitions
        .iter()
        .flat_map(|(partition, log)| {
            log.meta
                .iter()
                .map(move |(name, bytes)| (*partition, name, bytes))
        })
        .collect();
    metas.sort_unstable();
    for (partition, name, bytes) in metas {
        encode(
            buffer,
            &Op::Meta {
                partition,
                name,
                bytes,
            },
        );
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Applies one record read back from segment `segment` (its body at `offset` of the file);
/// `None` when the body does not parse.
fn replay(index: &mut Index, segment: u64, offset: u64, body: &[u8]) -> Option<()> {
    let tag = *body.first()?;
    let partition = u32_at(body, 1)?;
    let rest = &body[5..];
    // Where the record's payload starts in the file: after the tag, the partition and the head.
    let payload_at = |head: usize| offset + 5 + head as u64;
    match tag {
        APPEND => {
            let op = Op::Append {
                partition,
                index: u64_at(rest, 0)?,
                bytes: rest.get(8..)?,
            };
            index.apply(&op, segment, payload_at(8));
        }
        META => {
            let name_len = usize::from(*rest.first()?);
            let op = Op::Meta {
                partition,
                name: std::str::from_utf8(rest.get(1..1 + name_len)?).ok()?,
                bytes: rest.get(1 + name_len..)?,
            };
            index.apply(&op, segment, payload_at(1 + name_len));
        }
        REMOVE => {
            let op = Op::Remove {
                partition,
                from: u64_at(rest, 0)?,
                to: u64_at(rest, 8)?,
            };
            index.apply(&op, segment, payload_at(16));
        }
        CHECKPOINT => {
            if !rest.len().is_multiple_of(20) {
                return None;
            }
            let ranges: HashMap<u32, (u64, u64)> = rest
                .chunks_exact(20)
                .filter_map(|range| {
                    Some((u32_at(range, 0)?, (u64_at(range, 4)?, u64_at(range, 12)?)))
                })
                .collect();
            index.keep_ranges(&ranges);
            for log in index.partitions.values_mut() {
                log.meta.clear();
            }
        }
        _ => return None,
    }
    Some(())
}

/// Reads a segment's records into the index; answers the length of its whole records (where
/// a torn tail starts), or an error naming what is damaged when `last` is false.
fn load(index: &mut Index, id: u64, path: &Path, last: bool) -> io::Result<u64> {
    let bytes = std::fs::read(path)?;
    let mut at = 0usize;
    loop {
        if at == bytes.len() {
            return Ok(at as u64);
        }
        let torn = |what: &str| {
            if last {
                tracing::warn!(
                    path = %path.display(),
                    offset = at,
                    "the raft log ends in a write a crash cut short ({what}); it is dropped"
                );
                Ok(at as u64)
            } else {
                Err(damaged(path, at as u64, what))
            }
        };
        let (Some(len), Some(crc)) = (u32_at(&bytes, at), u32_at(&bytes, at + 4)) else {
            return torn("a frame's header is cut");
        };
        if len > MAX_RECORD || at + HEADER + len as usize > bytes.len() {
            return torn("a frame is longer than what follows it");
        }
        let body = &bytes[at + HEADER..at + HEADER + len as usize];
        if crc32fast::hash(body) != crc {
            return torn("a frame's checksum does not match");
        }
        if replay(index, id, (at + HEADER) as u64, body).is_none() {
            return Err(damaged(path, at as u64, "a record does not parse"));
        }
        at += HEADER + len as usize;
    }
}

fn open_segment(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

impl Wal {
    /// Opens the logs in `dir` (created when missing), reading every segment back.
    pub fn open(dir: &Path) -> io::Result<Wal> {
        Wal::open_with(dir, SEGMENT_BYTES)
    }

    /// [`Wal::open`] with segments closed at `segment_bytes`.
    pub fn open_with(dir: &Path, segment_bytes: u64) -> io::Result<Wal> {
        std::fs::create_dir_all(dir)?;
        let mut ids: Vec<u64> = std::fs::read_dir(dir)?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        ids.sort_unstable();
        let mut index = Index::default();
        let mut writer = None;
        for (at, id) in ids.iter().enumerate() {
            let path = segment_path(dir, *id);
            let file = Arc::new(open_segment(&path)?);
            index.segments.insert(
                *id,
                Segment {
                    file: Arc::clone(&file),
                    live_bytes: 0,
                    live: 0,
                    size: 0,
                },
            );
            let last = at + 1 == ids.len();
            let length = load(&mut index, *id, &path, last)?;
            if last {
                if file.metadata()?.len() > length {
                    file.set_len(length)?;
                    file.sync_all()?;
                }
                writer = Some(Writer {
                    id: *id,
                    file,
                    length,
                    buffer: Vec::new(),
                });
            }
            if let Some(segment) = index.segments.get_mut(id) {
                segment.size = length;
            }
        }
        let wal = Wal {
            dir: dir.to_owned(),
            segment_bytes,
            writer: Mutex::new(match writer {
                Some(writer) => writer,
                None => Wal::begin(dir, 1, &mut index)?,
            }),
            index: Mutex::new(index),
        };
        Ok(wal)
    }

    /// Starts segment `id` with a checkpoint of what `index` holds.
    fn begin(dir: &Path, id: u64, index: &mut Index) -> io::Result<Writer> {
        let path = segment_path(dir, id);
        let file = Arc::new(open_segment(&path)?);
        let mut buffer = Vec::new();
        checkpoint(&mut buffer, index);
        (&*file).write_all(&buffer)?;
        file.sync_data()?;
        sync_dir(dir)?;
        let length = buffer.len() as u64;
        index.segments.insert(
            id,
            Segment {
                file: Arc::clone(&file),
                live_bytes: 0,
                live: 0,
                size: length,
            },
        );
        buffer.clear();
        Ok(Writer {
            id,
            file,
            length,
            buffer,
        })
    }

    /// Writes `ops` in order as one append, made durable (one fsync) unless `durable` is false.
    /// Once it returns, reads see them.
    pub fn write(&self, ops: &[Op<'_>], durable: bool) -> io::Result<()> {
        let mut writer = lock(&self.writer);
        self.append(&mut writer, ops, durable)?;
        if writer.length >= self.segment_bytes {
            self.roll(&mut writer)?;
        }
        Ok(())
    }

    /// Appends `ops` to the segment being written, then records them in the index.
    fn append(&self, writer: &mut Writer, ops: &[Op<'_>], durable: bool) -> io::Result<()> {
        writer.buffer.clear();
        let payloads: Vec<usize> = ops
            .iter()
            .map(|op| encode(&mut writer.buffer, op))
            .collect();
        let written = (&*writer.file).write_all(&writer.buffer).and_then(|()| {
            if durable {
                writer.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(error) = written {
            // Whatever part of the append reached the file is cut off, so the next append
            // follows the last whole one.
            let _ = writer.file.set_len(writer.length);
            return Err(error);
        }
        let base = writer.length;
        writer.length += writer.buffer.len() as u64;
        let mut index = lock(&self.index);
        if let Some(segment) = index.segments.get_mut(&writer.id) {
            segment.size = writer.length;
        }
        for (op, payload) in ops.iter().zip(payloads) {
            index.apply(op, writer.id, base + payload as u64);
        }
        Ok(())
    }

    /// Closes the segment being written and begins the next; then copies forward the live
    /// entries of sparse segments and deletes the segments left without any.
    fn roll(&self, writer: &mut Writer) -> io::Result<()> {
        writer.file.sync_data()?;
        let next = {
            let mut index = lock(&self.index);
            Wal::begin(&self.dir, writer.id + 1, &mut index)?
        };
        *writer = next;
        self.copy_sparse(writer)?;
        let dead: Vec<u64> = lock(&self.index)
            .segments
            .iter()
            .filter(|(id, segment)| **id != writer.id && segment.live == 0)
            .map(|(id, _)| *id)
            .collect();
        if dead.is_empty() {
            return Ok(());
        }
        for id in dead {
            lock(&self.index).segments.remove(&id);
            std::fs::remove_file(segment_path(&self.dir, id))?;
        }
        sync_dir(&self.dir)
    }

    /// Appends again, to the segment being written, the live entries of closed segments that
    /// are mostly dead.
    fn copy_sparse(&self, writer: &mut Writer) -> io::Result<()> {
        let moving: Vec<(u32, u64, Location, Arc<File>)> = {
            let index = lock(&self.index);
            let sparse: HashMap<u64, Arc<File>> = index
                .segments
                .iter()
                .filter(|(id, segment)| {
                    **id != writer.id
                        && segment.live > 0
                        && segment.live_bytes * SPARSE < segment.size
                })
                .map(|(id, segment)| (*id, Arc::clone(&segment.file)))
                .collect();
            if sparse.is_empty() {
                return Ok(());
            }
            index
                .partitions
                .iter()
                .flat_map(|(partition, log)| {
                    log.entries
                        .iter()
                        .map(move |(at, location)| (*partition, *at, *location))
                })
                .filter_map(|(partition, at, location)| {
                    let file = sparse.get(&location.segment)?;
                    Some((partition, at, location, Arc::clone(file)))
                })
                .collect()
        };
        let mut copies = Vec::with_capacity(moving.len());
        for (partition, at, location, file) in &moving {
            let mut bytes = vec![0; location.len as usize];
            read_at(file, &mut bytes, location.offset)?;
            copies.push((*partition, *at, bytes));
        }
        let ops: Vec<Op<'_>> = copies
            .iter()
            .map(|(partition, index, bytes)| Op::Append {
                partition: *partition,
                index: *index,
                bytes,
            })
            .collect();
        self.append(writer, &ops, true)
    }

    /// The encoded entries of `partition` with an index in `from..=to` that are in the log.
    pub fn entries(&self, partition: u32, from: u64, to: u64) -> io::Result<Vec<Vec<u8>>> {
        let places: Vec<(Location, Arc<File>)> = {
            let index = lock(&self.index);
            let Some(log) = index.partitions.get(&partition) else {
                return Ok(Vec::new());
            };
            log.entries
                .range(from..=to)
                .filter_map(|(_, location)| {
                    let segment = index.segments.get(&location.segment)?;
                    Some((*location, Arc::clone(&segment.file)))
                })
                .collect()
        };
        places
            .into_iter()
            .map(|(location, file)| {
                let mut bytes = vec![0; location.len as usize];
                read_at(&file, &mut bytes, location.offset)?;
                Ok(bytes)
            })
            .collect()
    }

    /// The encoded last entry of `partition`.
    pub fn last_entry(&self, partition: u32) -> io::Result<Option<Vec<u8>>> {
        let last = lock(&self.index)
            .partitions
            .get(&partition)
            .and_then(|log| log.entries.last_key_value().map(|(at, _)| *at));
        match last {
            Some(at) => Ok(self.entries(partition, at, at)?.pop()),
            None => Ok(None),
        }
    }

    /// A partition's named value.
    pub fn meta(&self, partition: u32, name: &str) -> Option<Vec<u8>> {
        lock(&self.index)
            .partitions
            .get(&partition)?
            .meta
            .get(name)
            .cloned()
    }

    /// Whether no partition has an entry or a value.
    pub fn is_empty(&self) -> bool {
        lock(&self.index)
            .partitions
            .values()
            .all(|log| log.entries.is_empty() && log.meta.is_empty())
    }

    /// The segment files, oldest first.
    pub fn segments(&self) -> Vec<PathBuf> {
        lock(&self.index)
            .segments
            .keys()
            .map(|id| segment_path(&self.dir, *id))
            .collect()
    }

    /// Holds every write back until the answer is dropped: tests queue writes behind it.
    pub fn hold_writes(&self) -> impl Drop + '_ {
        lock(&self.writer)
    }
}
