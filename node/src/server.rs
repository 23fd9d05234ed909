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
    let app = crate::http::router(Arc::clone(&node));
    let task = tokio::spawn(accept(listener, app));
    tracing::info!(%address, spaces = ?node.space_names(), "the node is serving");
    Ok(Running {
        address,
        node,
        task,
    })
}

/// Serves HTTP/1.1 on every connection `listener` accepts. The node serves the connections
/// itself (rather than through `axum::serve`) so that an upgraded connection comes back as the
/// TCP stream it is: the sockets at `/~s` are read and written on it directly.
async fn accept(listener: tokio::net::TcpListener, app: axum::Router) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, most likely: wait for some to close rather than spin.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        // Without TCP_NODELAY a reply written right after a delta waits for the client's
        // delayed acknowledgement of the delta.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower_service::Service::call(&mut app.clone(), request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
        });
    }
}

/// Threads for blocking work (store reads, password hashes, uploads). A burst of
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
