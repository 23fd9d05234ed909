//! Asking a partition's leader to do something (propose new code, change the group's members):
//! here when this node leads the partition, else over `POST /~cluster/<partition>/<what>` to the
//! node that does, tried again while leadership moves.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::network::Peer;
use super::{Cluster, Route};

/// How long a member asked to act for a partition keeps trying before it answers.
pub(crate) const FORWARDED_WAIT: Duration = Duration::from_secs(8);

impl Cluster {
    /// Runs `here` on this node when it leads `partition`, else sends `body` to the leader's
    /// `/~cluster/<partition>/<what>`, until one answers `Ok` or `wait` is over.
    pub(crate) async fn on_leader<B, T, F, Fut>(
        &self,
        partition: u32,
        what: &str,
        body: &B,
        wait: Duration,
        here: F,
    ) -> Result<T, String>
    where
        B: Serialize + Sync,
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + wait;
        loop {
            let attempt = match self.route_partition(partition).await {
                Ok(Route::Local) => here().await,
                Ok(Route::Remote { node, address }) => {
                    let path = format!("/~cluster/{partition}/{what}");
                    let ttl = wait.min(FORWARDED_WAIT * 4) + Duration::from_secs(2);
                    match Peer::new(address)
                        .call::<_, Result<T, String>>(&path, body, ttl)
                        .await
                    {
                        Ok(answer) => answer,
                        Err(error) => Err(format!("node {node}: {error}")),
                    }
                }
                Err(error) => Err(error),
            };
            match attempt {
                Ok(done) => return Ok(done),
                Err(error) if Instant::now() >= deadline => {
                    return Err(format!("partition {partition}: {error}"));
                }
                Err(error) => {
                    tracing::debug!(partition, what, %error, "asked of the leader again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
