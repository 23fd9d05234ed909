//! Deploys land between rounds. On a partition's leader every round of a document (the
//! transactions taken together and the commit of their writes) runs under a shared permit of
//! the partition; a deploy takes the permit whole: it waits for the rounds in flight to commit,
//! proposes the new code, and lets rounds go on only once the entry is applied. Each round
//! starts by moving its document to the code the partition deployed last, so no record that
//! ran on the old code follows the deploy entry in the log, and the document's first record
//! after it is the move (`load` with `"reason":"deploy"`).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// A round of one of the partition's documents is running.
pub type RoundPermit = OwnedRwLockReadGuard<()>;

/// The partition takes no round: a deploy is being proposed.
pub type DeployPermit = OwnedRwLockWriteGuard<()>;

/// The round gate of every partition of a node.
#[derive(Debug, Default)]
pub struct Rounds {
    gates: HashMap<u32, Arc<RwLock<()>>>,
}

impl Rounds {
    pub fn new(partitions: u32) -> Rounds {
        Rounds {
            gates: (0..partitions)
                .map(|partition| (partition, Arc::new(RwLock::new(()))))
                .collect(),
        }
    }

    /// Waits while a deploy of the partition is being proposed. The lock is fair: a deploy
    /// waiting for the rounds in flight holds the next rounds back, so it is never starved.
    pub async fn round(&self, partition: u32) -> Option<RoundPermit> {
        let gate = self.gates.get(&partition)?;
        Some(Arc::clone(gate).read_owned().await)
    }

    /// Waits until no round of the partition is in flight, and keeps new ones from starting.
    pub async fn deploy(&self, partition: u32) -> Option<DeployPermit> {
        let gate = self.gates.get(&partition)?;
        Some(Arc::clone(gate).write_owned().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_deploy_waits_for_the_rounds_in_flight_and_holds_the_next_back() {
        let rounds = Arc::new(Rounds::new(2));
        let in_flight = rounds.round(0).await.expect("a partition");
        let deploying = {
            let rounds = Arc::clone(&rounds);
            tokio::spawn(async move { rounds.deploy(0).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!deploying.is_finished(), "the deploy waits for the round");
        // A round that starts while the deploy waits is held back behind it.
        let later = {
            let rounds = Arc::clone(&rounds);
            tokio::spawn(async move { rounds.round(0).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!later.is_finished(), "a new round waits for the deploy");
        // Another partition's rounds go on.
        assert!(rounds.round(1).await.is_some());
        drop(in_flight);
        deploying
            .await
            .expect("the deploy ends")
            .expect("a partition");
        later.await.expect("the round ends").expect("a partition");
        assert!(rounds.round(7).await.is_none(), "no such partition");
    }
}
