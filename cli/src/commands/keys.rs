//! `adama keys`: the keys a node signs identities with, kept in its data directory
//! (docs/node.md, "Node keys"). A running node reads the files again within seconds.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Outcome;

/// The subcommands of `adama keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Retire the current key (it keeps verifying the tokens it signed until they expire) and
    /// make a new one to sign with.
    Rotate(DataArgs),
    /// Show the current key's id and the retired keys still accepted.
    List(DataArgs),
    /// Stop accepting the tokens of a retired key.
    Remove(RemoveArgs),
}

/// Where the keys are.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", default_value = "adama-data")]
    data: PathBuf,
}

/// Arguments of `adama keys remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The id of the retired key (`adama keys list` shows them).
    #[arg(long)]
    kid: i64,
}

/// Runs the command.
pub fn run(command: &KeysCommand) -> Outcome {
    let done = match command {
        KeysCommand::Rotate(args) => adama_node::signing::rotate(&args.data).map(|rotation| {
            println!(
                "key {} retired (its tokens verify until they expire); key {} signs from now on",
                rotation.retired, rotation.current
            );
        }),
        KeysCommand::List(args) => {
            adama_node::signing::list(&args.data).map(|(current, retired)| {
                match current {
                    Some(kid) => println!("current {kid}"),
                    None => println!(
                        "no current key yet in {} (a node makes one on its first start)",
                        args.data.display()
                    ),
                }
                for key in retired {
                    let since = key
                        .retired
                        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or_else(String::new, |at| format!(" (retired at {}s)", at.as_secs()));
                    println!("retired {}{since}", key.kid);
                }
            })
        }
        KeysCommand::Remove(args) => {
            adama_node::signing::remove(&args.data.data, args.kid).map(|()| {
                println!(
                    "key {} removed: its tokens are refused from now on",
                    args.kid
                );
            })
        }
    };
    match done {
        Ok(()) => Outcome::Clean,
        Err(message) => {
            eprintln!("error: {message}");
            Outcome::Failure
        }
    }
}
