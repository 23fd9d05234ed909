//! `space/reflect`: the compiled schema of a space.

mod support;

use serde_json::json;
use support::{Client, config, run, space};

const GAME: &str = r#"
@static { create { return true; } }
enum Color { Red, Blue }
record Card {
  public int id;
  public string title;
  private principal owner;
  viewer_is<owner> int secret;
  use_policy<mine> int hidden;
  policy mine { return @who == owner; }
  public maybe<Color> color;
}
table<Card> _cards;
public int count;
private string note;
public formula cards = iterate _cards;
bubble hello = "hi " + @viewer.tag;
view string tag;
message Init { string name; }
message Move { int x; list<string> tags; }
@construct (Init i) { note = i.name; }
channel move(Move m) { count += m.x; }
channel<Move> asked;
#idle { }
#playing { }
"#;

#[test]
fn a_space_reflects_its_types_channels_constructors_and_labels() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("game", GAME)]))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client
            .request(
                json!({"method": "space/reflect", "id": 1, "identity": "anonymous:a",
                "space": "game", "key": "any"}),
            )
            .await;
        let reply = client.reply(1).await;
        let reflection = &reply["response"]["reflection"];
        let types = &reflection["types"];
        let root = &types["__Root"];
        assert_eq!(root["nature"], "reactive_record");
        assert_eq!(
            root["fields"]["count"],
            json!({"type": {"nature": "reactive_value", "type": "int"},
                "computed": false, "privacy": "public"})
        );
        assert_eq!(root["fields"]["note"]["privacy"], "private");
        assert_eq!(root["fields"]["hello"]["privacy"], "bubble");
        assert_eq!(root["fields"]["hello"]["computed"], true);
        assert_eq!(root["fields"]["cards"]["computed"], true);
        assert_eq!(root["fields"]["cards"]["type"]["nature"], "native_list");
        assert_eq!(
            root["fields"]["_cards"]["type"],
            json!({"nature": "reactive_table", "record_name": "Card"})
        );
        let card = &types["Card"]["fields"];
        assert_eq!(card["secret"]["privacy"], "viewer_is<owner>");
        assert_eq!(card["hidden"]["privacy"], "use_policy<mine>");
        assert_eq!(
            card["color"]["type"],
            json!({"nature": "reactive_maybe", "type": {"nature": "reactive_enum", "enum": "Color"}})
        );
        assert_eq!(types["Move"]["nature"], "native_message");
        assert_eq!(
            types["Move"]["fields"]["tags"]["type"],
            json!({"nature": "native_list", "type": {"nature": "native_value", "type": "string"}})
        );
        assert_eq!(
            types["__ViewerType"]["fields"]["tag"]["type"],
            json!({"nature": "native_value", "type": "string"})
        );
        assert_eq!(
            reflection["channels"],
            json!({"move": "Move", "asked": "Move"})
        );
        assert_eq!(reflection["channels-privacy"]["move"]["open"], false);
        assert_eq!(reflection["constructors"], json!(["Init"]));
        assert_eq!(reflection["labels"], json!(["idle", "playing"]));

        // Bad input: each with its code; the socket stays usable.
        for (request, code) in [
            (
                json!({"method": "space/reflect", "id": 2, "identity": "anonymous:a",
                "space": "nowhere", "key": "k"}),
                134_214,
            ),
            (
                json!({"method": "space/reflect", "id": 3, "space": "game", "key": "k"}),
                458_759,
            ),
            (
                json!({"method": "space/reflect", "id": 4, "identity": "anonymous:a",
                "key": "k"}),
                461_828,
            ),
            (
                json!({"method": "space/reflect", "id": 5, "identity": "anonymous:a",
                "space": "game"}),
                466_947,
            ),
        ] {
            let id = request["id"].as_i64().expect("an id");
            client.request(request).await;
            assert_eq!(client.reply(id).await["reason"], code);
        }
        client
            .request(
                json!({"method": "space/reflect", "id": 6, "identity": "anonymous:a",
                "space": "game", "key": "k"}),
            )
            .await;
        assert!(client.reply(6).await["response"]["reflection"].is_object());
        node.task.abort();
    });
}
