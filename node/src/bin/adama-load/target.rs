//! The node under load: a child process running this binary with `--serve-node`, a running
//! node given by `--connect`, or one in this process.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use adama_node::{Config, SpaceSource};
use std::io::{BufRead, BufReader, Read};

use crate::Options;
use crate::client;

pub const COUNTER: &str = include_str!("../../../../examples/counter/counter.a");

/// The first argument that makes this binary a node for a parent load client.
pub const SERVE_NODE: &str = "--serve-node";

/// A node to load.
#[derive(Debug)]
pub struct Target {
    pub address: String,
    /// Its process, to read its memory.
    pub pid: Option<u32>,
    _child: Option<std::process::Child>,
    _running: Option<adama_node::Running>,
    data: Option<PathBuf>,
}

/// The counter space, served from `data`.
pub fn config(data: PathBuf, history: Option<u64>) -> Config {
    let text = match history {
        // The counter with another history length, for the reload measure.
        Some(history) => COUNTER.replacen(
            "@static {",
            &format!("@static {{\n  maximum_history = {history};"),
            1,
        ),
        None => COUNTER.to_owned(),
    };
    let spaces = vec![SpaceSource {
        name: "counter".into(),
        file: "counter.a".into(),
        text,
        watch: None,
        budget: Default::default(),
    }];
    let mut config = Config::new("127.0.0.1:0".parse().expect("an address"), data, spaces);
    // Documents stay loaded through a measure.
    config.idle_unload = Duration::from_secs(3600);
    config
}

fn fresh_data(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("adama-{what}-{}", std::process::id()))
}

impl Target {
    pub async fn start(options: &Options) -> Result<Target, String> {
        if let Some(address) = &options.connect {
            return Ok(Target {
                address: address.clone(),
                pid: options.pid,
                _child: None,
                _running: None,
                data: None,
            });
        }
        let data = fresh_data("load");
        if options.in_process {
            let running = adama_node::start(config(data.clone(), None)).await?;
            return Ok(Target {
                address: running.address.to_string(),
                pid: Some(std::process::id()),
                _child: None,
                _running: Some(running),
                data: Some(data),
            });
        }
        Target::child(data, None).await
    }

    /// A read replica of the node at `primary`, in a child process.
    pub async fn start_replica(primary: &str) -> Result<Target, String> {
        Target::child(fresh_data("replica"), Some(primary)).await
    }

    /// The transport floor's server (`floor.rs`), in a child process.
    pub async fn start_floor(work_us: u64) -> Result<Target, String> {
        let work = work_us.to_string();
        Target::spawn(&[crate::floor::SERVE_FLOOR.as_ref(), work.as_ref()]).await
    }

    async fn child(data: PathBuf, replica_of: Option<&str>) -> Result<Target, String> {
        let mut args = vec![std::ffi::OsStr::new(SERVE_NODE), data.as_os_str()];
        args.extend(replica_of.map(std::ffi::OsStr::new));
        let mut target = Target::spawn(&args).await?;
        target.data = Some(data);
        Ok(target)
    }

    /// This binary in a child process with `args`, once it printed where it listens.
    async fn spawn(args: &[&std::ffi::OsStr]) -> Result<Target, String> {
        let exe = std::env::current_exe()
            .map_err(|error| format!("cannot find this program: {error}"))?;
        let mut child = std::process::Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start the node: {error}"))?;
        let stdout = child.stdout.take().ok_or("the node has no output")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|_| "reading the node's address stopped unexpectedly")?
        .map_err(|error| format!("cannot read the node's address: {error}"))?;
        let address = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("the node did not start: '{}'", line.trim()))?
            .to_owned();
        Ok(Target {
            address,
            pid: Some(child.id()),
            _child: Some(child),
            _running: None,
            data: None,
        })
    }

    /// A counter of the node's `/metrics`, by its line's name (labels included).
    pub async fn metric(&self, name: &str) -> Result<f64, String> {
        let (status, body) = client::http(&self.address, "GET", "/metrics", "").await?;
        if status != 200 {
            return Err(format!("/metrics answered {status}"));
        }
        body.lines()
            .find_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                (key == name).then(|| value.parse().ok()).flatten()
            })
            .ok_or_else(|| format!("/metrics has no {name}"))
    }

    /// Transactions committed and fsyncs, so far.
    pub async fn commits(&self) -> Result<(f64, f64), String> {
        let committed = self
            .metric("adama_transactions_total{outcome=\"committed\"}")
            .await?;
        let fsyncs = self.metric("adama_store_fsyncs_total").await?;
        Ok((committed, fsyncs))
    }

    /// The CPU time the node's threads have used so far, when its process is known (summed
    /// from each thread's `schedstat`, in nanoseconds).
    pub fn cpu(&self) -> Option<Duration> {
        process_cpu(self.pid?)
    }

    /// The node's resident memory in bytes, when its process is known.
    pub fn resident(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kilobytes * 1024)
    }
}

/// The CPU time a process's threads have used so far, summed from each thread's `schedstat`
/// (in nanoseconds).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for thread in threads.flatten() {
        let stat = std::fs::read_to_string(thread.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(Duration::from_nanos(total))
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(running) = &self._running {
            running.task.abort();
        }
        if let Some(child) = &mut self._child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

/// The child's side: serve the counter space from `data` until the parent closes stdin; with
/// `replica_of`, as a read replica of the node at that address.
pub async fn serve_node(data: Option<String>, replica_of: Option<String>) {
    let data = data.map_or_else(|| fresh_data("node"), PathBuf::from);
    let mut config = config(data, None);
    config.replica_of = replica_of;
    let running = match adama_node::start(config).await {
        Ok(running) => running,
        Err(message) => {
            println!("error {message}");
            std::process::exit(2);
        }
    };
    println!("listening {}", running.address);
    wait_for_parent().await;
    running.task.abort();
}

/// Returns when the parent goes: it holds the other end of stdin.
pub async fn wait_for_parent() {
    let parent_gone = tokio::task::spawn_blocking(|| {
        let mut buffer = [0u8; 64];
        let mut stdin = std::io::stdin();
        while let Ok(read) = stdin.read(&mut buffer) {
            if read == 0 {
                break;
            }
        }
    });
    let _ = parent_gone.await;
}
