//! Many viewers of one document: each receives every state on its own stream, and a sender is
//! never acknowledged before its socket carried the state its send made.

mod support;

use serde_json::{Value as Json, json};
use support::{COUNTER, Client, config, run, space};

/// The count a stream item shows, if its delta carries one.
fn count_of(frame: &Json) -> Option<i64> {
    frame["response"]["delta"]["data"]["count"].as_i64()
}

#[test]
fn viewers_with_equal_stream_ids_on_different_sockets_each_get_every_state() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("counter", COUNTER)]))
            .await
            .expect("the node starts");
        let mut creator = Client::connect(node.address).await;
        let created = creator.create_document(1, "counter", "shared").await;
        assert_eq!(created, json!({"deliver": 1, "done": true, "response": {}}));

        // Four sockets name their stream 1, one names it 7: the same delta reaches each under
        // its own stream id.
        let mut viewers = Vec::new();
        for (index, stream) in [1, 1, 1, 1, 7].into_iter().enumerate() {
            let mut viewer = Client::connect(node.address).await;
            let identity = format!("anonymous:viewer{index}");
            let first = viewer.open(stream, &identity, "counter", "shared").await;
            assert_eq!(count_of(&first), Some(0), "{first}");
            viewers.push((viewer, stream));
        }

        // The first viewer sends three bumps at once; each is acknowledged only after its
        // socket carried a delta that shows it.
        let sender = &mut viewers[0].0;
        for id in 10..13 {
            sender
                .request(
                    json!({"method": "connection/send", "id": id, "connection": 1,
                    "channel": "bump", "message": {"by": 1}}),
                )
                .await;
        }
        let mut shown = 0;
        let mut acknowledged = 0;
        while acknowledged < 3 {
            let frame = sender.next().await.expect("the socket stays open");
            if frame["deliver"] == 1 && frame["done"] == false {
                shown = count_of(&frame).unwrap_or(shown);
            } else if (10..13).contains(&frame["deliver"].as_i64().unwrap_or(0)) {
                assert_eq!(frame["done"], true, "{frame}");
                acknowledged += 1;
                assert!(
                    shown >= acknowledged,
                    "send {acknowledged} acknowledged while its socket showed {shown}: {frame}"
                );
            } else {
                panic!("an unexpected frame: {frame}");
            }
        }
        assert_eq!(shown, 3);

        for (viewer, stream) in viewers.iter_mut().skip(1) {
            let stream = *stream;
            let last = viewer
                .until(|frame| frame["deliver"] == stream && count_of(frame) == Some(3))
                .await;
            assert_eq!(last["done"], false, "{last}");
            assert!(
                viewer.seen.iter().all(|frame| frame["deliver"] == stream),
                "a frame of another stream: {:?}",
                viewer.seen
            );
        }
        node.task.abort();
    });
}
