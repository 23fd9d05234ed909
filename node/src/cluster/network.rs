//! How the members of a partition reach each other: HTTP/1.1 requests to the other node's own
//! address, under `/~cluster/<partition>/…`, with bodies in the cluster's [`codec`]. Each raft
//! replication stream
//! (one per partition and peer) keeps its own connection and opens a new one when it breaks.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use openraft::alias::{SnapshotOf, VoteOf};
use openraft::errors::{
    NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftNetworkFactory, RaftNetworkV2};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec;
use super::state_machine::PartitionSnapshot;
use super::types::TypeConfig;

/// The least time a peer gets to answer a raft message.
const MIN_RPC_TTL: Duration = Duration::from_secs(1);

/// Why a call to a peer did not get an answer.
#[derive(Debug)]
pub enum CallError {
    /// No connection: the peer is down or not yet up.
    Unreachable(String),
    /// The connection broke or the answer was not understood.
    Network(String),
    Timeout,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unreachable(reason) => write!(f, "cannot connect: {reason}"),
            CallError::Network(reason) => f.write_str(reason),
            CallError::Timeout => f.write_str("no answer in time"),
        }
    }
}

/// One HTTP/1.1 connection to a peer, reopened when it breaks.
#[derive(Debug)]
pub struct Peer {
    address: SocketAddr,
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl Peer {
    pub fn new(address: SocketAddr) -> Peer {
        Peer {
            address,
            connection: None,
        }
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, CallError> {
        if self.connection.as_ref().is_none_or(SendRequest::is_closed) {
            let stream = tokio::net::TcpStream::connect(self.address)
                .await
                .map_err(|error| CallError::Unreachable(format!("{}: {error}", self.address)))?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|error| CallError::Unreachable(format!("{}: {error}", self.address)))?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.connection = Some(sender);
        }
        self.connection
            .as_mut()
            .ok_or_else(|| CallError::Unreachable(self.address.to_string()))
    }

    /// POSTs `body` to `path` and reads the answer, within `ttl`.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &Req,
        ttl: Duration,
    ) -> Result<Resp, CallError> {
        let bytes = codec::encode(body).map_err(CallError::Network)?;
        self.request(hyper::Method::POST, path, bytes, ttl).await
    }

    /// GETs `path` and reads the JSON answer, within `ttl`.
    pub async fn get<Resp: DeserializeOwned>(
        &mut self,
        path: &str,
        ttl: Duration,
    ) -> Result<Resp, CallError> {
        self.request(hyper::Method::GET, path, Vec::new(), ttl)
            .await
    }

    async fn request<Resp: DeserializeOwned>(
        &mut self,
        method: hyper::Method,
        path: &str,
        bytes: Vec<u8>,
        ttl: Duration,
    ) -> Result<Resp, CallError> {
        let address = self.address;
        let attempt = async {
            let sender = self.connect().await?;
            sender
                .ready()
                .await
                .map_err(|error| CallError::Network(error.to_string()))?;
            let request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, address.to_string())
                .header(hyper::header::CONTENT_TYPE, codec::CONTENT_TYPE)
                .body(Full::new(Bytes::from(bytes)))
                .map_err(|error| CallError::Network(error.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|error| CallError::Network(error.to_string()))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| CallError::Network(error.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(CallError::Network(format!(
                    "{address}{path} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            codec::decode(&body).map_err(|error| {
                CallError::Network(format!(
                    "{address}{path} answered what is not understood: {error}"
                ))
            })
        };
        match tokio::time::timeout(ttl, attempt).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => {
                self.connection = None;
                Err(error)
            }
            Err(_) => {
                self.connection = None;
                Err(CallError::Timeout)
            }
        }
    }
}

/// Makes the clients of one partition's raft group.
#[derive(Debug, Clone)]
pub struct NetworkFactory {
    pub partition: u32,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Network;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Network {
        let address = node
            .addr
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        Network {
            partition: self.partition,
            target,
            peer: Peer::new(address),
        }
    }
}

/// The client of one partition's raft group to one peer.
#[derive(Debug)]
pub struct Network {
    partition: u32,
    target: u64,
    peer: Peer,
}

/// The body of a snapshot sent whole.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct SnapshotRequest {
    pub vote: VoteOf<TypeConfig>,
    pub meta: openraft::alias::SnapshotMetaOf<TypeConfig>,
    pub data: PartitionSnapshot,
}

type Answer<T, E> = Result<T, E>;

impl Network {
    fn path(&self, what: &str) -> String {
        format!("/~cluster/{}/{what}", self.partition)
    }

    fn rpc_error<E: std::error::Error>(&self, error: CallError) -> RPCError<TypeConfig, E> {
        match error {
            CallError::Unreachable(reason) => {
                RPCError::Unreachable(Unreachable::from_string(reason))
            }
            CallError::Network(reason) => RPCError::Network(NetworkError::from_string(reason)),
            CallError::Timeout => RPCError::Network(NetworkError::from_string(format!(
                "node {} did not answer in time",
                self.target
            ))),
        }
    }

    async fn rpc<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        what: &str,
        body: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>> {
        let path = self.path(what);
        // openraft's deadline is the heartbeat interval; an append that waits on the peer's
        // fsync on a busy machine may take longer, and giving up on it stalls the group.
        let ttl = option.soft_ttl().max(MIN_RPC_TTL);
        let answer: Answer<Resp, RaftError<TypeConfig>> = self
            .peer
            .call(&path, body, ttl)
            .await
            .map_err(|error| self.rpc_error(error))?;
        answer.map_err(|error| {
            RPCError::Network(NetworkError::from_string(format!(
                "node {} failed the request: {error}",
                self.target
            )))
        })
    }
}

impl RaftNetworkV2<TypeConfig> for Network {
    type SnapshotData = PartitionSnapshot;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc("append", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc("vote", &rpc, &option).await
    }

    /// A leader hands its partition over (`cluster/balance.rs`): every member hears it, and
    /// the named one stands for election at once.
    async fn transfer_leader(
        &mut self,
        rpc: openraft::raft::TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<openraft::raft::TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc("transfer", &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, PartitionSnapshot>,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let body = SnapshotRequest {
            vote,
            meta: snapshot.meta,
            data: snapshot.snapshot,
        };
        let path = self.path("snapshot");
        // A snapshot may be large: it gets more time than a heartbeat.
        let ttl = option.hard_ttl().max(Duration::from_secs(60));
        let call = self
            .peer
            .call::<_, Answer<SnapshotResponse<TypeConfig>, openraft::errors::Fatal<TypeConfig>>>(
                &path, &body, ttl,
            );
        let answer = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            answer = call => answer,
        };
        match answer {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(fatal)) => Err(StreamingError::Network(NetworkError::from_string(format!(
                "node {} cannot install the snapshot: {fatal}",
                self.target
            )))),
            Err(CallError::Unreachable(reason)) => Err(StreamingError::Unreachable(
                Unreachable::from_string(reason),
            )),
            Err(CallError::Network(reason)) => {
                Err(StreamingError::Network(NetworkError::from_string(reason)))
            }
            Err(CallError::Timeout) => Err(StreamingError::Network(NetworkError::from_string(
                format!("node {} did not take the snapshot in time", self.target),
            ))),
        }
    }
}
