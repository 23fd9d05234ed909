//! Starting a node: compile, open the store, bind, serve.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::node::{Config, Node};

/// A node that is serving.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (the real port when the configured one was 0).
    pub address: SocketAddr,
    pub node: Arc<Node>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts a node on the current tokio runtime.
pub async fn start(config: Config) -> Result<Running, String> {
    let listen = config.listen;
    let node = Node::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    // Without TCP_NODELAY a reply written right after a delta waits for the client's delayed
    // acknowledgement of the delta.
    let listener =
        axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
    let app = crate::http::router(Arc::clone(&node));
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, service).await {
            tracing::error!(%error, "the server stopped");
        }
    });
    tracing::info!(%address, spaces = ?node.space_names(), "the node is serving");
    Ok(Running {
        address,
        node,
        task,
    })
}

/// Threads for blocking work (store reads and commits, password hashes, uploads). A burst of
/// document loads otherwise starts hundreds, each keeping the allocator's memory of its own
/// (a thousand documents loaded at once held five times the memory).
const BLOCKING_THREADS: usize = 8;

/// A tokio runtime whose threads have stacks deep enough for the interpreter.
///
/// The process takes no transparent huge pages: each thread's deep stack is one large mapping,
/// and the first touch of it faulted in a whole 2 MB page, so every blocking thread a request
/// passed through for the first time (a file served, a store read) grew the node by 2 MB.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    crate::allocator::no_huge_pages();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(crate::engine::STACK_BYTES)
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
}
