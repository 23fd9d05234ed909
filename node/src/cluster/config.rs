//! The cluster file: the nodes, their addresses, and how documents spread over partitions.
//!
//! ```toml
//! partitions = 64          # optional, default 64
//! replicas = 3             # members per partition, optional, default min(3, nodes)
//! hot_viewers = 8          # viewers on a non-member node that make it follow a document
//!
//! [[node]]
//! id = 1
//! address = "127.0.0.1:9001"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;

pub const DEFAULT_PARTITIONS: u32 = 64;
const DEFAULT_REPLICAS: usize = 3;
pub const DEFAULT_HOT_VIEWERS: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    partitions: Option<u32>,
    replicas: Option<usize>,
    hot_viewers: Option<usize>,
    #[serde(default)]
    node: Vec<NodeForm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeForm {
    id: u64,
    address: String,
}

/// A parsed, checked cluster file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFile {
    pub partitions: u32,
    pub replicas: usize,
    /// How many viewers of one document a node outside its partition must have for the
    /// document to count as hot there, so that the node follows it and serves its viewers
    /// from a local copy (`cluster::hot`).
    pub hot_viewers: usize,
    /// Node id → its address (the one it serves clients and other nodes on).
    pub nodes: BTreeMap<u64, SocketAddr>,
}

impl ClusterFile {
    /// Parses the file's text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<ClusterFile, String> {
        let form: FileForm = toml::from_str(text).map_err(|error| {
            format!("{path}: {error}\nhint: a cluster file lists `[[node]]` tables with `id` and `address`, and may set `partitions`, `replicas` and `hot_viewers`")
        })?;
        let mut nodes = BTreeMap::new();
        for node in form.node {
            if node.id == 0 {
                return Err(format!(
                    "{path}: node ids start at 1\nhint: give each `[[node]]` an `id` of 1 or more"
                ));
            }
            let address: SocketAddr = node.address.parse().map_err(|error| {
                format!(
                    "{path}: node {}: '{}' is not an address: {error}\nhint: write it as IP:PORT, such as \"127.0.0.1:9001\"",
                    node.id, node.address
                )
            })?;
            if nodes.insert(node.id, address).is_some() {
                return Err(format!(
                    "{path}: node {} is listed twice\nhint: each `[[node]]` needs its own `id`",
                    node.id
                ));
            }
        }
        if nodes.is_empty() {
            return Err(format!(
                "{path}: the cluster has no node\nhint: add `[[node]]` tables with `id` and `address`"
            ));
        }
        let partitions = form.partitions.unwrap_or(DEFAULT_PARTITIONS);
        if partitions == 0 {
            return Err(format!(
                "{path}: `partitions` must be at least 1\nhint: leave it out for {DEFAULT_PARTITIONS}"
            ));
        }
        let replicas = form.replicas.unwrap_or(DEFAULT_REPLICAS.min(nodes.len()));
        if replicas == 0 || replicas > nodes.len() {
            return Err(format!(
                "{path}: `replicas` is {replicas} but the cluster has {} node(s)\nhint: set it between 1 and the number of nodes",
                nodes.len()
            ));
        }
        let hot_viewers = form.hot_viewers.unwrap_or(DEFAULT_HOT_VIEWERS);
        if hot_viewers == 0 {
            return Err(format!(
                "{path}: `hot_viewers` must be at least 1\nhint: leave it out for {DEFAULT_HOT_VIEWERS}"
            ));
        }
        Ok(ClusterFile {
            partitions,
            replicas,
            hot_viewers,
            nodes,
        })
    }

    /// The members of a partition: `replicas` consecutive nodes (in id order), starting at a
    /// node that moves by one per partition, so that each node leads and follows an even share
    /// and the partitions of a lost node spread over all the others. The first member is the
    /// one that starts the group.
    pub fn members(&self, partition: u32) -> Vec<u64> {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        let start = partition as usize % ids.len();
        (0..self.replicas)
            .map(|offset| ids[(start + offset) % ids.len()])
            .collect()
    }

    /// The same partitions and replicas over another set of nodes (after a node is added or
    /// removed); the replicas are never more than the nodes.
    pub fn with_nodes(&self, nodes: BTreeMap<u64, SocketAddr>) -> ClusterFile {
        ClusterFile {
            partitions: self.partitions,
            replicas: self.replicas.min(nodes.len()).max(1),
            hot_viewers: self.hot_viewers,
            nodes,
        }
    }

    /// The file's text, as `adama cluster add` and `remove` write it back.
    pub fn render(&self) -> String {
        let mut text = format!(
            "partitions = {}\nreplicas = {}\n",
            self.partitions, self.replicas
        );
        if self.hot_viewers != DEFAULT_HOT_VIEWERS {
            text.push_str(&format!("hot_viewers = {}\n", self.hot_viewers));
        }
        for (id, address) in &self.nodes {
            text.push_str(&format!("\n[[node]]\nid = {id}\naddress = \"{address}\"\n"));
        }
        text
    }

    /// The partitions of which `node` is a member.
    pub fn partitions_of(&self, node: u64) -> Vec<u32> {
        (0..self.partitions)
            .filter(|partition| self.members(*partition).contains(&node))
            .collect()
    }
}

/// The partition of a document (`space/key`): FNV-1a of the name, so that every node and every
/// version agrees without configuration.
pub fn partition_of(document: &str, partitions: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in document.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(partitions)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = r#"
partitions = 6
[[node]]
id = 1
address = "127.0.0.1:9001"
[[node]]
id = 2
address = "127.0.0.1:9002"
[[node]]
id = 3
address = "127.0.0.1:9003"
"#;

    #[test]
    fn members_rotate_so_each_node_starts_an_equal_share() {
        let file = ClusterFile::parse("c.toml", THREE).expect("parses");
        assert_eq!(file.replicas, 3);
        let firsts: Vec<u64> = (0..6).map(|p| file.members(p)[0]).collect();
        assert_eq!(firsts, vec![1, 2, 3, 1, 2, 3]);
        assert_eq!(file.partitions_of(2).len(), 6);
    }

    #[test]
    fn with_fewer_replicas_a_lost_node_spreads_over_the_others() {
        let text = THREE.replace("partitions = 6", "partitions = 6\nreplicas = 2");
        let file = ClusterFile::parse("c.toml", &text).expect("parses");
        let with_one: Vec<Vec<u64>> = file
            .partitions_of(1)
            .into_iter()
            .map(|p| file.members(p))
            .collect();
        assert!(with_one.iter().any(|m| m.contains(&2)));
        assert!(with_one.iter().any(|m| m.contains(&3)));
    }

    #[test]
    fn the_partition_of_a_document_is_stable_and_in_range() {
        assert_eq!(
            partition_of("chat/lobby", 64),
            partition_of("chat/lobby", 64)
        );
        let spread: std::collections::HashSet<u32> = (0..200)
            .map(|i| partition_of(&format!("chat/{i}"), 8))
            .collect();
        assert_eq!(spread.len(), 8);
    }

    #[test]
    fn a_file_written_back_reads_the_same() {
        let file = ClusterFile::parse("c.toml", THREE).expect("parses");
        let mut nodes = file.nodes.clone();
        nodes.remove(&2);
        let smaller = file.with_nodes(nodes);
        assert_eq!(smaller.replicas, 2);
        assert_eq!(
            ClusterFile::parse("c.toml", &smaller.render()).expect("parses"),
            smaller
        );
    }

    #[test]
    fn mistakes_are_named_with_a_hint() {
        let error = ClusterFile::parse("c.toml", "[[node]]\nid = 1\naddress = \"nowhere\"")
            .expect_err("a bad address");
        assert!(
            error.contains("c.toml: node 1: 'nowhere' is not an address"),
            "{error}"
        );
        assert!(error.contains("hint:"));
        let error = ClusterFile::parse("c.toml", "").expect_err("no node");
        assert!(error.contains("no node"), "{error}");
        let error = ClusterFile::parse(
            "c.toml",
            "replicas = 2\n[[node]]\nid = 1\naddress = \"127.0.0.1:1\"",
        )
        .expect_err("too many replicas");
        assert!(error.contains("`replicas` is 2"), "{error}");
        let error = ClusterFile::parse("c.toml", &format!("hot_viewers = 0\n{THREE}"))
            .expect_err("no viewer is never hot");
        assert!(
            error.contains("`hot_viewers` must be at least 1"),
            "{error}"
        );
    }

    #[test]
    fn hot_viewers_is_read_or_defaults() {
        let file = ClusterFile::parse("c.toml", THREE).expect("parses");
        assert_eq!(file.hot_viewers, DEFAULT_HOT_VIEWERS);
        let file =
            ClusterFile::parse("c.toml", &format!("hot_viewers = 3\n{THREE}")).expect("parses");
        assert_eq!(file.hot_viewers, 3);
    }
}
