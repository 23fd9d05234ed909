//! A document's timer outlives the node that ran it: three `adama serve --cluster` processes,
//! a document created with a timer due a few seconds later, its partition's leader killed with
//! SIGKILL at once (the document loaded there, its timer pending), and the partition's new
//! leader running the timer when it is due, with nobody asking for the document.

mod cluster_support;

use std::time::Duration;

use cluster_support::{Client, Nodes};

const PARTITIONS: u32 = 4;
const KEY: &str = "alarm";

const ALARM: &str = r#"
@static {
  create { return true; }
}
@connected {
  return true;
}
public int rang;
@construct {
  transition #ring in 4;
}
#ring {
  rang++;
}
"#;

#[test]
fn the_new_leader_runs_the_timer_of_a_document_whose_leader_died() {
    let mut cluster = Nodes::start_with_space(3, PARTITIONS, "alarm", ALARM);
    let everyone = [1, 2, 3];
    cluster.wait_all_led(
        "every partition has a leader",
        &everyone,
        Duration::from_secs(60),
    );
    let partition = adama_node::cluster::partition_of(&format!("alarm/{KEY}"), PARTITIONS);
    let leader = cluster.leader(partition, &everyone).expect("a leader");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut client = Client::connect(cluster.address(leader), KEY).await;
        client.space = "alarm".into();
        let created = client.create().await;
        assert!(created.is_ok(), "the document is created: {created:?}");
    });

    // The leader dies with the document loaded and its timer pending.
    cluster.kill(leader);
    let survivors: Vec<u64> = everyone.into_iter().filter(|id| *id != leader).collect();
    let rang = cluster.wait_for(
        "a survivor's copy shows the timer ran",
        Duration::from_secs(30),
        || {
            survivors.iter().find_map(|id| {
                let stored = cluster.document(*id, "alarm", KEY)?;
                let rang = stored["document"]["rang"].as_i64()?;
                (rang >= 1).then_some(rang)
            })
        },
    );
    assert_eq!(rang, 1, "the timer ran once");
}
