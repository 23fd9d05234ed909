//! `adama serve`: run a node that hosts the documents of one or more spaces over the client
//! protocol (docs/node.md). With no space named it serves the examples built into the binary.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use adama_node::{Config, MemoryBudget, SpaceSource};
use clap::Args;
use serde_json::Value as Json;

use super::Outcome;

/// The example spaces, built in so that `adama serve` works from any directory.
const EXAMPLES: [(&str, &str); 4] = [
    ("chat", include_str!("../../../examples/chat/chat.a")),
    (
        "counter",
        include_str!("../../../examples/counter/counter.a"),
    ),
    (
        "tictactoe",
        include_str!("../../../examples/tictactoe/tictactoe.a"),
    ),
    ("cards", include_str!("../../../examples/cards/cards.a")),
];

/// Arguments of `adama serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A devbox directory holding `local.verse.json` (its spaces and domain document).
    #[arg(value_name = "DIR")]
    directory: Option<PathBuf>,
    /// The address to listen on (default 127.0.0.1:8080, or this node's address in the
    /// cluster file).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Where documents are stored.
    #[arg(long, value_name = "DIR", default_value = "adama-data")]
    data: PathBuf,
    /// A space to serve, as `NAME=FILE.a` (repeatable).
    #[arg(long = "space", value_name = "NAME=FILE")]
    spaces: Vec<String>,
    /// Accept the devbox identities (unsigned `document/…` forms; anything else is `@no_one`).
    /// On by default only when listening on a loopback address.
    #[arg(long)]
    dev: Option<bool>,
    /// Public keys that sign ES256 identities: `{"keys":[{"issuer","kid","pem"}]}`.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// How long the identities this node's documents issue (logins, `sign`) stay valid:
    /// seconds, or a number with s, m, h or d (default 30d).
    #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
    token_lifetime: Option<std::time::Duration>,
    /// The largest uploaded file, in bytes (the files of one posted form together); uploads
    /// are written to DIR/uploads as they arrive, so this bounds disk, not memory.
    #[arg(long, value_name = "BYTES", default_value_t = adama_node::attachments::DEFAULT_MAX_UPLOAD)]
    max_upload: u64,
    /// Seconds a document without viewers stays in memory.
    #[arg(long, default_value_t = 30)]
    idle_unload: u64,
    /// Bytes of values and records one transaction may allocate, for every space (an estimate;
    /// a space in local.verse.json may set its own "transaction_bytes").
    #[arg(long, value_name = "BYTES")]
    transaction_bytes: Option<u64>,
    /// Bytes of values and records one document may hold, for every space (a space in
    /// local.verse.json may set its own "document_bytes").
    #[arg(long, value_name = "BYTES")]
    document_bytes: Option<u64>,
    /// Serve the documents of the primary at ADDR (host:port) as live read replicas: viewers
    /// see a local copy that follows the primary, and their writes go to the primary.
    #[arg(long, value_name = "ADDR")]
    replica_of: Option<String>,
    /// The secret a replica presents to follow this node's documents (and presents to its
    /// primary); without it, only replicas on the same machine may follow. Read from the
    /// ADAMA_REPLICA_SECRET environment variable when the flag is absent.
    #[arg(long, value_name = "SECRET")]
    replica_secret: Option<String>,
    /// This node's id in the cluster file (with --cluster).
    #[arg(long, value_name = "ID", requires = "cluster")]
    node_id: Option<u64>,
    /// Serve as a member of the cluster this TOML file describes (docs/cluster.md).
    #[arg(long, value_name = "FILE", requires = "node_id")]
    cluster: Option<PathBuf>,
    /// Join a cluster that is running: start no partition's group and wait for `adama cluster
    /// add` to make this node a member (with --cluster).
    #[arg(long, requires = "cluster")]
    join: bool,
}

/// `--token-lifetime`: `3600`, `90s`, `45m`, `12h` or `30d`.
fn parse_lifetime(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "'{text}': expected seconds, or a number with s, m, h or d (like 30d)"
            ));
        }
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .filter(|seconds| *seconds > 0)
        .and_then(|seconds| seconds.checked_mul(scale))
        .ok_or_else(|| format!("'{text}': expected a whole number above 0, like 3600 or 30d"))?;
    Ok(std::time::Duration::from_secs(seconds))
}

/// The cluster membership the flags ask for.
fn cluster(args: &ServeArgs) -> Result<Option<adama_node::cluster::ClusterConfig>, String> {
    let (Some(path), Some(node_id)) = (&args.cluster, args.node_id) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let file = adama_node::cluster::ClusterFile::parse(&path.display().to_string(), &text)?;
    if !file.nodes.contains_key(&node_id) {
        return Err(format!(
            "{}: there is no node {node_id}\nhint: --node-id must be one of the file's ids: {:?}",
            path.display(),
            file.nodes.keys().collect::<Vec<_>>()
        ));
    }
    Ok(Some(adama_node::cluster::ClusterConfig {
        node_id,
        file,
        join: args.join,
    }))
}

impl ServeArgs {
    /// The memory budget the flags give every space.
    fn budget(&self) -> MemoryBudget {
        let default = MemoryBudget::default();
        MemoryBudget {
            transaction_bytes: self.transaction_bytes.unwrap_or(default.transaction_bytes),
            document_bytes: self.document_bytes.unwrap_or(default.document_bytes),
        }
    }
}

fn read_space(name: &str, path: &Path, budget: MemoryBudget) -> Result<SpaceSource, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let name = name.trim().to_lowercase();
    if name.len() < 3
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "'{name}' is not a space name (hint: at least 3 of a-z, 0-9 and '-')"
        ));
    }
    Ok(SpaceSource {
        name,
        file: path.display().to_string(),
        text,
        watch: Some(path.to_owned()),
        budget,
    })
}

/// The spaces and domain document of a devbox `local.verse.json`.
/// The spaces to serve and the domain document (space, key), if one is configured.
type Served = (Vec<SpaceSource>, Option<(String, String)>);

fn read_verse(directory: &Path, budget: MemoryBudget) -> Result<Served, String> {
    let path = directory.join("local.verse.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let verse: Json = serde_json::from_str(&text)
        .map_err(|error| format!("{}: not JSON: {error}", path.display()))?;
    let mut spaces = Vec::new();
    for space in verse["spaces"].as_array().into_iter().flatten() {
        let (Some(name), Some(main)) = (space["name"].as_str(), space["main"].as_str()) else {
            return Err(format!(
                "{}: each space needs a \"name\" and a \"main\" file",
                path.display()
            ));
        };
        let bytes =
            |field: &str| -> Result<Option<u64>, String> {
                match &space[field] {
                Json::Null => Ok(None),
                value => value.as_u64().filter(|bytes| *bytes > 0).map(Some).ok_or_else(|| {
                    format!(
                        "{}: space '{name}': \"{field}\" must be a positive number of bytes",
                        path.display()
                    )
                }),
            }
            };
        let budget = MemoryBudget {
            transaction_bytes: bytes("transaction_bytes")?.unwrap_or(budget.transaction_bytes),
            document_bytes: bytes("document_bytes")?.unwrap_or(budget.document_bytes),
        };
        spaces.push(read_space(name, &directory.join(main), budget)?);
    }
    let domain = verse["documents"]
        .as_array()
        .into_iter()
        .flatten()
        // The devbox takes an entry with a `domain` property (whatever its value, a host name
        // or `true`) as the domain document; `false` or null says it is none.
        .find(|document| !matches!(document["domain"], Json::Null | Json::Bool(false)))
        .and_then(|document| {
            Some((
                document["space"].as_str()?.to_lowercase(),
                document["key"].as_str()?.to_owned(),
            ))
        });
    Ok((spaces, domain))
}

fn spaces(args: &ServeArgs) -> Result<Served, String> {
    let mut spaces = Vec::new();
    let mut domain = None;
    if let Some(directory) = &args.directory {
        if directory.join("local.verse.json").is_file() {
            (spaces, domain) = read_verse(directory, args.budget())?;
        } else {
            return Err(format!(
                "{} has no local.verse.json (hint: name spaces with --space NAME=FILE.a)",
                directory.display()
            ));
        }
    }
    for space in &args.spaces {
        let Some((name, file)) = space.split_once('=') else {
            return Err(format!("--space {space}: expected NAME=FILE.a"));
        };
        spaces.push(read_space(name, Path::new(file), args.budget())?);
    }
    if spaces.is_empty() {
        spaces = EXAMPLES
            .iter()
            .map(|(name, text)| SpaceSource {
                name: (*name).to_owned(),
                file: format!("examples/{name}/{name}.a"),
                text: (*text).to_owned(),
                watch: None,
                budget: args.budget(),
            })
            .collect();
    }
    Ok((spaces, domain))
}

/// Runs the command until interrupted.
pub fn run(args: &ServeArgs) -> Outcome {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,adama_node=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (spaces, domain) = match spaces(args) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let cluster = match cluster(args) {
        Ok(cluster) => cluster,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let listen = args
        .listen
        .or_else(|| {
            cluster
                .as_ref()
                .map(|cluster| cluster.file.nodes[&cluster.node_id])
        })
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let mut config = Config::new(listen, args.data.clone(), spaces);
    config.cluster = cluster;
    config.domain = domain;
    config.demo_pages = args.directory.is_none() && args.spaces.is_empty();
    config.idle_unload = std::time::Duration::from_secs(args.idle_unload);
    config.replica_of = args.replica_of.clone();
    config.replica_secret = args
        .replica_secret
        .clone()
        .or_else(|| std::env::var("ADAMA_REPLICA_SECRET").ok());
    if let Some(dev) = args.dev {
        config.dev = dev;
    }
    config.max_upload = args.max_upload;
    if let Some(lifetime) = args.token_lifetime {
        config.token_lifetime = lifetime;
    }
    if let Some(path) = &args.keys {
        let keys = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))
            .and_then(|text| {
                adama_node::identity::read_keys(&text)
                    .map_err(|error| format!("{}: {error}", path.display()))
            });
        match keys {
            Ok(keys) => config.keys = keys,
            Err(message) => {
                eprintln!("error: {message}");
                return Outcome::Failure;
            }
        }
    }
    let runtime = match adama_node::runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return Outcome::Failure;
        }
    };
    runtime.block_on(async move {
        let running = match adama_node::start(config).await {
            Ok(running) => running,
            Err(message) => {
                eprintln!("error: {message}");
                return Outcome::Failure;
            }
        };
        let address = running.address;
        // The banner is for whoever started the node; a closed stdout (a supervisor that read
        // only the first line, `adama serve | head -1`) must not stop it.
        let banner = format!(
            "Adama node on http://{address}/ (data in {})\n  spaces: {}\n  open http://{address}/ in a browser to try the chat room\n  WebSocket: ws://{address}/~s   metrics: http://{address}/metrics\n",
            args.data.display(),
            running.node.space_names().join(", ")
        );
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
        drop(stdout);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                let _ = writeln!(std::io::stdout(), "stopping");
                running.node.shutdown().await;
                Outcome::Clean
            }
            _ = running.task => Outcome::Failure,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain_of(documents: &str) -> Option<(String, String)> {
        let directory = tempfile::tempdir().expect("a directory");
        std::fs::write(directory.path().join("room.a"), "public int n;").expect("writes");
        let verse =
            format!(r#"{{"spaces":[{{"name":"room","main":"room.a"}}],"documents":{documents}}}"#);
        std::fs::write(directory.path().join("local.verse.json"), verse).expect("writes");
        read_verse(directory.path(), MemoryBudget::default())
            .expect("the verse reads")
            .1
    }

    #[test]
    fn an_entry_with_a_domain_property_is_the_domain_document() {
        let room = Some(("room".to_owned(), "main".to_owned()));
        for documents in [
            r#"[{"space":"Room","key":"main","domain":true}]"#,
            r#"[{"space":"room","key":"other"},{"space":"room","key":"main","domain":"localhost"}]"#,
        ] {
            assert_eq!(domain_of(documents), room, "{documents}");
        }
        for documents in [
            r#"[{"space":"room","key":"main"}]"#,
            r#"[{"space":"room","key":"main","domain":false}]"#,
            r#"[{"space":"room","key":"main","domain":null}]"#,
        ] {
            assert_eq!(domain_of(documents), None, "{documents}");
        }
    }
}
