//! `adama deploy --space S FILE.a`: hands a space's new source to a running node, which
//! compiles it and moves the space's loaded documents to it (docs/node.md).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Outcome;

/// Arguments of `adama deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The space to upgrade.
    #[arg(long)]
    space: String,
    /// The new source.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The node's address (deploys are accepted from the node's own machine).
    #[arg(long, default_value = "127.0.0.1:8080")]
    node: String,
}

/// Runs the command.
pub fn run(args: &DeployArgs) -> Outcome {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", args.file.display());
            return Outcome::Failure;
        }
    };
    let request = format!(
        "PUT /~adama/deploy/{} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        args.space,
        args.node,
        text.len()
    );
    let exchange = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect(&args.node)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    let response = match exchange() {
        Ok(response) => response,
        Err(error) => {
            eprintln!(
                "error: cannot reach the node at {}: {error} (hint: is `adama serve` running there?)",
                args.node
            );
            return Outcome::Failure;
        }
    };
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).unwrap_or("");
    match status {
        "200" => {
            println!("deployed {} to space '{}'", args.file.display(), args.space);
            Outcome::Clean
        }
        "400" => {
            eprintln!("{body}");
            Outcome::Errors
        }
        other => {
            eprintln!("error: the node answered {other}: {body}");
            Outcome::Failure
        }
    }
}
