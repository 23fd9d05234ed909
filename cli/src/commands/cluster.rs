//! `adama cluster status --cluster FILE`: every partition's leader, term, members and their lag,
//! as the cluster's nodes report them; `adama cluster add` and `remove`: a node joins or leaves
//! the running cluster, and the file is written back with the cluster's nodes (docs/cluster.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use adama_node::cluster::ClusterFile;
use adama_node::cluster::membership::{AddNode, RemoveNode};
use adama_node::cluster::network::Peer;

use super::Outcome;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show partitions, leaders, terms, lag and membership.
    Status(StatusArgs),
    /// Add a node (started with `adama serve --join`) to the running cluster.
    Add(AddArgs),
    /// Remove a node from the running cluster; it may be stopped afterwards.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The cluster file; it is written back with the new node.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// The new node's id.
    #[arg(long, value_name = "ID")]
    node_id: u64,
    /// The new node's address (IP:PORT), the one it serves on.
    #[arg(long, value_name = "ADDR")]
    addr: SocketAddr,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The cluster file; it is written back without the node.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// The id of the node to remove.
    #[arg(long, value_name = "ID")]
    node_id: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cluster file the nodes were started with.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// Print each node's report as JSON (one object per node) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(command: &ClusterCommand) -> Outcome {
    let done = match command {
        ClusterCommand::Status(args) => status(args),
        ClusterCommand::Add(args) => add(args),
        ClusterCommand::Remove(args) => remove(args),
    };
    done.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        Outcome::Failure
    })
}

fn read_file(path: &std::path::Path) -> Result<ClusterFile, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))
        .and_then(|text| ClusterFile::parse(&path.display().to_string(), &text))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

/// How long an addition or a removal may take: every partition changes members, a new one
/// catching up with each partition's log first.
const CHANGE_WAIT: Duration = Duration::from_secs(300);

/// Asks the first node of the file that answers (but `skip`) to coordinate a change; on
/// success writes the file back with `nodes`.
fn change<B: serde::Serialize>(
    path: &std::path::Path,
    file: &ClusterFile,
    skip: u64,
    route: &str,
    body: &B,
    nodes: std::collections::BTreeMap<u64, SocketAddr>,
) -> Result<Outcome, String> {
    let runtime = runtime()?;
    let mut unreachable = Vec::new();
    for (id, address) in file.nodes.iter().filter(|(id, _)| **id != skip) {
        let answer = runtime.block_on(async {
            Peer::new(*address)
                .call::<_, Result<String, String>>(route, body, CHANGE_WAIT)
                .await
        });
        match answer {
            Ok(Ok(done)) => {
                println!("{done}");
                let text = file.with_nodes(nodes).render();
                if let Err(error) = std::fs::write(path, text) {
                    eprintln!(
                        "error: the cluster changed but {} cannot be written: {error} (hint: list the nodes `adama cluster status --json` reports)",
                        path.display()
                    );
                    return Ok(Outcome::Failure);
                }
                return Ok(Outcome::Clean);
            }
            Ok(Err(refused)) => return Err(format!("node {id} refused: {refused}")),
            Err(error) => unreachable.push(format!("node {id}: {error}")),
        }
    }
    Err(format!(
        "no node of the cluster took the change ({})\nhint: are they running with `adama serve --node-id ID --cluster FILE`?",
        unreachable.join("; ")
    ))
}

fn add(args: &AddArgs) -> Result<Outcome, String> {
    let file = read_file(&args.cluster)?;
    let mut nodes = file.nodes.clone();
    nodes.insert(args.node_id, args.addr);
    let body = AddNode {
        id: args.node_id,
        address: args.addr,
    };
    change(
        &args.cluster,
        &file,
        args.node_id,
        "/~cluster/admin/add",
        &body,
        nodes,
    )
}

fn remove(args: &RemoveArgs) -> Result<Outcome, String> {
    let file = read_file(&args.cluster)?;
    let mut nodes = file.nodes.clone();
    nodes.remove(&args.node_id);
    let body = RemoveNode { id: args.node_id };
    change(
        &args.cluster,
        &file,
        args.node_id,
        "/~cluster/admin/remove",
        &body,
        nodes,
    )
}

fn status(args: &StatusArgs) -> Result<Outcome, String> {
    let file = read_file(&args.cluster)?;
    let runtime = runtime()?;
    let status = runtime.block_on(adama_node::cluster::status::collect(&file));
    if args.json {
        let nodes: serde_json::Map<String, serde_json::Value> = status
            .nodes
            .iter()
            .map(|(id, node)| {
                let value = match node {
                    Ok(node) => serde_json::to_value(node).unwrap_or(serde_json::Value::Null),
                    Err(error) => serde_json::json!({"unreachable": error}),
                };
                (id.to_string(), value)
            })
            .collect();
        println!("{}", serde_json::Value::Object(nodes));
    } else {
        print!("{}", status.render());
    }
    if status.nodes.values().all(Result::is_err) {
        return Err(
            "no node of the cluster answered (hint: are they running with `adama serve --node-id ID --cluster FILE`?)".into(),
        );
    }
    Ok(Outcome::Clean)
}
