//! `adama cluster status --cluster FILE`: every partition's leader, term, members and their lag,
//! as the cluster's nodes report them (docs/cluster.md).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Outcome;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show partitions, leaders, terms, lag and membership.
    Status(StatusArgs),
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
    match command {
        ClusterCommand::Status(args) => status(args),
    }
}

fn status(args: &StatusArgs) -> Outcome {
    let file = std::fs::read_to_string(&args.cluster)
        .map_err(|error| format!("cannot read {}: {error}", args.cluster.display()))
        .and_then(|text| {
            adama_node::cluster::ClusterFile::parse(&args.cluster.display().to_string(), &text)
        });
    let file = match file {
        Ok(file) => file,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return Outcome::Failure;
        }
    };
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
        eprintln!(
            "error: no node of the cluster answered (hint: are they running with `adama serve --node-id ID --cluster FILE`?)"
        );
        return Outcome::Failure;
    }
    Outcome::Clean
}
