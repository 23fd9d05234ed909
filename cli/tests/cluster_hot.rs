//! Read replicas driven by the cluster, with real processes: four `adama serve --cluster`
//! nodes with three members per partition, so each document has a node outside its partition.
//! Once that node has `hot_viewers` viewers of a document it follows the document from the
//! partition's leader and opens the next viewers on its local copy: they see every change, in
//! order, with the lag measured; their sends still go to the leader, over one socket the node
//! shares for all of them; the node stops following
//! when the copy's viewers leave; when the partition's first member (its first leader) dies, the
//! outside node still reaches the document and follows it from the new leader.

mod cluster_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use adama_node::cluster::ClusterFile;
use cluster_support::Nodes;
use cluster_support::faults::RetryingClient;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const PARTITIONS: u32 = 8;
const SENDS: usize = 200;

type Socket = cluster_support::Socket;

/// A viewer on its own socket: the counts its stream shows, with when each arrived.
struct Viewer {
    counts: mpsc::UnboundedReceiver<(i64, Instant)>,
    requests: mpsc::UnboundedSender<Json>,
    answers: mpsc::UnboundedReceiver<Json>,
}

/// Opens a viewer of `counter/KEY` on a node and keeps reading its frames.
async fn viewer(address: SocketAddr, key: &str, name: &str) -> Viewer {
    let (mut socket, _): (Socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/~s"))
            .await
            .expect("the socket opens");
    let create = json!({"method": "connection/create", "id": 1,
        "identity": format!("anonymous:{name}"), "space": "counter", "key": key,
        "viewer-state": {}});
    socket
        .send(Message::Text(create.to_string().into()))
        .await
        .expect("sent");
    let (counts_in, counts) = mpsc::unbounded_channel();
    let (requests, mut requests_out) = mpsc::unbounded_channel::<Json>();
    let (answers_in, answers) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                request = requests_out.recv() => {
                    let Some(request) = request else { break };
                    if socket.send(Message::Text(request.to_string().into())).await.is_err() {
                        break;
                    }
                }
                message = socket.next() => {
                    let Some(Ok(Message::Text(text))) = message else { break };
                    let Ok(frame) = serde_json::from_str::<Json>(text.as_str()) else { continue };
                    if frame.get("ping").is_some() {
                        let pong = json!({"ping": frame["ping"], "pong": true}).to_string();
                        let _ = socket.send(Message::Text(pong.into())).await;
                        continue;
                    }
                    if frame["deliver"] == 1 {
                        if let Some(count) = frame["response"]["delta"]["data"]["count"].as_i64() {
                            let _ = counts_in.send((count, Instant::now()));
                        }
                        continue;
                    }
                    if frame.get("deliver").is_some() || frame.get("failure").is_some() {
                        let _ = answers_in.send(frame);
                    }
                }
            }
        }
    });
    Viewer {
        counts,
        requests,
        answers,
    }
}

impl Viewer {
    async fn next_count(&mut self) -> (i64, Instant) {
        tokio::time::timeout(Duration::from_secs(15), self.counts.recv())
            .await
            .expect("a delta within 15 s")
            .expect("the viewer's stream goes on")
    }

    /// The failure that ends the viewer's stream.
    async fn failure(&mut self) -> Json {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), self.answers.recv())
                .await
                .expect("the stream fails within 20 s")
                .expect("the viewer's socket is open");
            if frame["failure"] == 1 {
                return frame;
            }
        }
    }

    async fn answer(&mut self, request: Json) -> Json {
        self.requests.send(request).expect("the viewer is open");
        tokio::time::timeout(Duration::from_secs(15), self.answers.recv())
            .await
            .expect("an answer within 15 s")
            .expect("the viewer's socket is open")
    }
}

/// A key whose partition leaves out one node, and that node.
fn key_and_outsider(file: &ClusterFile) -> (String, u64) {
    let key = "hot".to_owned();
    let partition = adama_node::cluster::partition_of(&format!("counter/{key}"), PARTITIONS);
    let members = file.members(partition);
    let outsider = (1..=4)
        .find(|id| !members.contains(id))
        .expect("a node outside the partition");
    (key, outsider)
}

fn replica_status(cluster: &Nodes, id: u64, query: &str) -> Option<Json> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(cluster.address(id)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /~replica/status{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    serde_json::from_str(response.split_once("\r\n\r\n")?.1).ok()
}

/// The leader's document as a new follower receives it first.
async fn leader_dump(address: SocketAddr, key: &str) -> Json {
    let url = format!("ws://{address}/~replica/follow?space=counter&key={key}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the leader lets a peer on its machine follow");
    let first = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a first frame");
    let Some(Ok(Message::Text(text))) = first else {
        panic!("a first frame: {first:?}");
    };
    let frame: Json = serde_json::from_str(text.as_str()).expect("JSON");
    assert_eq!(frame["kind"], "reset", "{frame}");
    let _ = socket.close(None).await;
    frame
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[test]
fn a_hot_document_is_served_from_a_local_copy_on_a_node_outside_its_partition() {
    let mut cluster = Nodes::start_with(4, PARTITIONS, "replicas = 3\nhot_viewers = 2", |_, _| {
        Vec::new()
    });
    let text = std::fs::read_to_string(&cluster.file).expect("the cluster file");
    let file = ClusterFile::parse("cluster.toml", &text).expect("the cluster file parses");
    let everyone = cluster.ids();
    cluster.wait_all_led(
        "every partition has a leader",
        &everyone,
        Duration::from_secs(60),
    );
    let (key, outsider) = key_and_outsider(&file);
    let document = format!("counter/{key}");
    let partition = adama_node::cluster::partition_of(&document, PARTITIONS);
    let leader = cluster
        .leader(partition, &file.members(partition))
        .expect("a leader");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut writer = RetryingClient::new(vec![cluster.address(leader)], 0, "anonymous:writer");
        assert!(
            writer
                .create("counter", &key, Duration::from_secs(30))
                .await,
            "the document is created"
        );

        // The first viewer on the outsider is proxied; the second makes the document hot there.
        let mut proxied = viewer(cluster.address(outsider), &key, "first").await;
        let (start, _) = proxied.next_count().await;
        assert!(
            replica_status(&cluster, outsider, "").expect("the outsider answers")["following"]
                .as_array()
                .is_some_and(Vec::is_empty),
            "one viewer does not make the document hot"
        );
        let mut hot = viewer(cluster.address(outsider), &key, "second").await;
        let mut third = viewer(cluster.address(outsider), &key, "third").await;
        assert_eq!(hot.next_count().await.0, start);
        assert_eq!(third.next_count().await.0, start);
        let status = replica_status(&cluster, outsider, "").expect("the outsider answers");
        assert_eq!(status["following"], json!([document]), "{status}");
        let primary = replica_status(&cluster, leader, "").expect("the leader answers");
        assert_eq!(
            primary["followers"], 1,
            "one follow stream serves both copy viewers: {primary}"
        );
        // The copy's viewers share one socket to the leader for their writes: one more copy
        // viewer opens a connection on the leader, not a socket.
        let sockets = cluster
            .metric(leader, "adama_connections")
            .expect("the leader's sockets");
        let streams = cluster
            .metric(leader, "adama_document_streams")
            .expect("the leader's streams");
        let mut fourth = viewer(cluster.address(outsider), &key, "fourth").await;
        assert_eq!(fourth.next_count().await.0, start);
        assert_eq!(
            cluster.metric(leader, "adama_document_streams"),
            Some(streams + 1),
            "the fourth viewer has its connection on the leader"
        );
        assert_eq!(
            cluster.metric(leader, "adama_connections"),
            Some(sockets),
            "the fourth viewer's connection goes over the copy's shared socket"
        );
        drop(fourth);

        // The writer sends on the leader at a steady pace; the copy's viewers see each change.
        let stream = writer
            .stream("counter", &key)
            .await
            .expect("the writer's stream opens");
        let mut acknowledged: Vec<Instant> = Vec::with_capacity(SENDS);
        let pace = Duration::from_millis(10);
        for _ in 0..SENDS {
            let sent = Instant::now();
            let answer = writer
                .call(
                    json!({"method": "connection/send", "connection": stream,
                        "channel": "bump", "message": {"by": 1}}),
                    Duration::from_secs(15),
                )
                .await;
            assert!(
                matches!(&answer, Ok(response) if response["seq"].is_number()),
                "a send is acknowledged: {answer:?}"
            );
            acknowledged.push(Instant::now());
            if let Some(rest) = pace.checked_sub(sent.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        // A viewer is owed the document's state, not every state on the way: a copy that
        // takes a fresh dump (a follower that fell behind, new code) shows the changes it
        // covers as one delta. So each viewer's counts rise and end at the last send's; each
        // one the first viewer sees is timed against the acknowledgement of the send that made
        // it.
        let last = start + SENDS as i64;
        let mut lags = Vec::with_capacity(SENDS);
        for (which, viewer) in [&mut hot, &mut third].into_iter().enumerate() {
            let mut previous = start;
            let mut skipped = 0;
            while previous < last {
                let (count, seen) = viewer.next_count().await;
                assert!(
                    count > previous && count <= last,
                    "the copy's viewer sees the changes in order: {count} after {previous}"
                );
                skipped += count - previous - 1;
                if which == 0 {
                    let acked = acknowledged[(count - start - 1) as usize];
                    lags.push(seen.saturating_duration_since(acked));
                }
                previous = count;
            }
            assert!(
                skipped * 10 <= SENDS as i64,
                "most changes reach the copy's viewer one by one: {skipped} of {SENDS} were not seen alone"
            );
        }
        lags.sort();
        eprintln!(
            "replica lag over {SENDS} sends (acknowledgement on the leader to the delta on the outsider's copy): p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
            percentile(&lags, 0.5),
            percentile(&lags, 0.9),
            percentile(&lags, 0.99),
            lags[lags.len() - 1]
        );
        assert!(
            percentile(&lags, 0.99) < Duration::from_secs(2),
            "the copy keeps up: p99 lag {:?}",
            percentile(&lags, 0.99)
        );

        // A copy viewer's send goes to the leader, which acknowledges it with its seq.
        let answer = hot
            .answer(json!({"method": "connection/send", "id": 7, "connection": 1,
                "channel": "bump", "message": {"by": 1}}))
            .await;
        assert_eq!(answer["deliver"], 7, "{answer}");
        assert!(answer["response"]["seq"].is_number(), "{answer}");
        let after = start + SENDS as i64 + 1;
        assert_eq!(hot.next_count().await.0, after);
        assert_eq!(third.next_count().await.0, after);
        let mut last_proxied = 0;
        while last_proxied < after {
            last_proxied = proxied.next_count().await.0;
        }

        // The copy is the leader's document.
        let copy = replica_status(
            &cluster,
            outsider,
            &format!("?space=counter&key={key}"),
        )
        .expect("the copy");
        let original = leader_dump(cluster.address(leader), &key).await;
        assert_eq!(copy["seq"], original["seq"]);
        assert_eq!(
            copy["dump"].to_string(),
            original["dump"].to_string(),
            "the copy is the leader's document, byte for byte"
        );

        // Cooling: the copy's viewers leave, and the node stops following.
        drop(hot);
        drop(third);
        cluster.wait_for(
            "the outsider stops following once the copy has no viewer",
            Duration::from_secs(15),
            || {
                replica_status(&cluster, outsider, "")?["following"]
                    .as_array()?
                    .is_empty()
                    .then_some(())
            },
        );
        cluster.wait_for(
            "the leader loses its follower",
            Duration::from_secs(15),
            || (replica_status(&cluster, leader, "")?["followers"] == 0).then_some(()),
        );
        // The proxied viewer goes on.
        let answer = proxied
            .answer(json!({"method": "connection/send", "id": 9, "connection": 1,
                "channel": "bump", "message": {"by": 1}}))
            .await;
        assert!(answer["response"]["seq"].is_number(), "{answer}");
        assert_eq!(proxied.next_count().await.0, after + 1);

        // The partition's first member dies (it started the group, so it most likely leads).
        let mut fourth = viewer(cluster.address(outsider), &key, "fourth").await;
        // At least the last send; the counter's own minute timer may have bumped it since on a
        // machine slow enough for the test to pass a minute.
        assert!(fourth.next_count().await.0 > after);
        let status = replica_status(&cluster, outsider, "").expect("the outsider answers");
        assert_eq!(status["following"], json!([document]), "hot again: {status}");
        let first = file.members(partition)[0];
        let survivors: Vec<u64> = file
            .members(partition)
            .into_iter()
            .filter(|id| *id != first)
            .collect();
        cluster.kill(first);
        if first == leader {
            let failed = fourth.failure().await;
            assert_eq!(failed["retry"], true, "the copy's viewer may retry: {failed}");
            let failed = proxied.failure().await;
            assert_eq!(failed["retry"], true, "the proxied viewer may retry: {failed}");
        }
        let new_leader = cluster.wait_for("a leader among the survivors", Duration::from_secs(30), || {
            cluster.leader(partition, &survivors)
        });
        eprintln!("node {first} killed (the leader was node {leader}); node {new_leader} leads now");
        // Viewers arriving on the outside node reach the document through the members left,
        // and once it is hot there, from a copy followed from the new leader.
        let (mut fifth, _) = open_viewer(cluster.address(outsider), &key, "fifth").await;
        let (mut sixth, shown) = open_viewer(cluster.address(outsider), &key, "sixth").await;
        let status = replica_status(&cluster, outsider, "").expect("the outsider answers");
        assert_eq!(status["following"], json!([document]), "{status}");
        let answer = sixth
            .answer(json!({"method": "connection/send", "id": 11, "connection": 1,
                "channel": "bump", "message": {"by": 1}}))
            .await;
        assert!(answer["response"]["seq"].is_number(), "{answer}");
        assert_eq!(sixth.next_count().await.0, shown + 1);
        let mut seen = 0;
        while seen < shown + 1 {
            seen = fifth.next_count().await.0;
        }

        // Viewers that leave end their streams on the leader too, proxied or on the copy.
        assert!(cluster.metric(new_leader, "adama_document_streams").is_some_and(|open| open >= 2));
        drop(fifth);
        drop(sixth);
        cluster.wait_for(
            "the leader ends the streams of the viewers that left",
            Duration::from_secs(15),
            || (cluster.metric(new_leader, "adama_document_streams")? == 0).then_some(()),
        );
    });
}

/// Opens a viewer, again until the document shows (it may fail while the partition elects a
/// leader); the viewer and the count it first showed.
async fn open_viewer(address: SocketAddr, key: &str, name: &str) -> (Viewer, i64) {
    let start = Instant::now();
    loop {
        let mut opened = viewer(address, key, name).await;
        tokio::select! {
            count = opened.counts.recv() => {
                if let Some((count, _)) = count {
                    return (opened, count);
                }
            }
            failed = opened.answers.recv() => {
                eprintln!("{name}: {failed:?}");
            }
            () = tokio::time::sleep(Duration::from_secs(15)) => {}
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{name} sees the document within a minute"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
