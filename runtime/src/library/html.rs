//! The `HTML` namespace (language §6.7): attribute escaping and a JSON form of HTML.
//!
//! An element is `{"tag": name, "attributes": {…}, "children": […]}` (empty attributes and
//! children are left out) and a text node is a JSON string. `convertHTMLtoJSON(html, root)`
//! answers the first element named `root`, or an element named `root` holding the whole fragment
//! when the fragment is not rooted there; `convertJSONtoHTML` writes such a tree back as markup.
//! The parser is forgiving, as browsers are: unclosed elements close with their parent, stray end
//! tags are ignored, and nesting deeper than [`MAX_DEPTH`] is flattened.

use super::BuiltinFn;
use super::args::{Outcome, lifted, string, text};
use crate::value::Value;
use serde_json::{Map as JsonMap, Value as Json};
use std::sync::Arc;

/// `HTML.function`.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "escapeHTMLAttributeValue" => lifted!(escape_attribute_value),
        "convertHTMLtoJSON" => lifted!(html_to_json),
        "convertJSONtoHTML" => lifted!(json_to_html),
        _ => None,
    }
}

/// Elements nest at most this deep; deeper ones are dropped and their content kept in place.
pub const MAX_DEPTH: usize = 256;

const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

const RAW_TEXT_ELEMENTS: &[&str] = &["script", "style", "textarea", "title"];

pub fn escape_attribute(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn escape_text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn escape_attribute_value(arguments: &[Value]) -> Outcome {
    Ok(string(escape_attribute(text(arguments, 0))))
}

/// An element being parsed.
struct Open {
    tag: String,
    attributes: JsonMap<String, Json>,
    children: Vec<Json>,
}

impl Open {
    fn new(tag: String, attributes: JsonMap<String, Json>) -> Open {
        Open {
            tag,
            attributes,
            children: Vec::new(),
        }
    }

    fn into_json(self) -> Json {
        let mut object = JsonMap::new();
        object.insert("tag".to_string(), Json::String(self.tag));
        if !self.attributes.is_empty() {
            object.insert("attributes".to_string(), Json::Object(self.attributes));
        }
        if !self.children.is_empty() {
            object.insert("children".to_string(), Json::Array(self.children));
        }
        Json::Object(object)
    }
}

/// Decodes the character references the parser understands; others stay as written.
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        decoded.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let reference = after
            .find(';')
            .filter(|end| *end <= 10)
            .and_then(|end| Some((end, character_reference(after.get(..end)?)?)));
        match reference {
            Some((end, character)) => {
                decoded.push(character);
                rest = &after[end + 1..];
            }
            None => {
                decoded.push('&');
                rest = after;
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

fn character_reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// A tokenizer over the markup, by byte offset (every cut is at an ASCII delimiter, so it is
/// always on a character boundary).
struct Parser<'a> {
    html: &'a str,
    at: usize,
    stack: Vec<Open>,
    /// Opened elements dropped for depth: their end tags must not close an ancestor.
    dropped: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.html.get(self.at..).unwrap_or_default()
    }

    fn push_child(&mut self, child: Json) {
        if let Some(top) = self.stack.last_mut() {
            top.children.push(child);
        }
    }

    fn close_top(&mut self) {
        if self.stack.len() > 1
            && let Some(done) = self.stack.pop()
        {
            self.push_child(done.into_json());
        }
    }

    fn text(&mut self, raw: &str) {
        if !raw.trim().is_empty() {
            self.push_child(Json::String(decode_entities(raw)));
        }
    }

    fn run(mut self) -> Open {
        while !self.rest().is_empty() {
            let rest = self.rest();
            let Some(open) = rest.find('<') else {
                self.text(rest);
                break;
            };
            self.text(&rest[..open]);
            self.at += open;
            self.markup();
        }
        while self.stack.len() > 1 {
            self.close_top();
        }
        self.stack
            .pop()
            .unwrap_or_else(|| Open::new(String::new(), JsonMap::new()))
    }

    /// At a `<`: a comment, a declaration, an end tag, a start tag, or a plain `<` in text.
    fn markup(&mut self) {
        let rest = self.rest();
        if let Some(comment) = rest.strip_prefix("<!--") {
            self.at += 4 + comment.find("-->").map_or(comment.len(), |end| end + 3);
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            self.at += rest.find('>').map_or(rest.len(), |end| end + 1);
        } else if let Some(end_tag) = rest.strip_prefix("</") {
            let close = end_tag.find('>').map_or(end_tag.len(), |end| end + 1);
            let name = tag_name(end_tag);
            self.at += 2 + close;
            self.end_tag(&name);
        } else if rest[1..].starts_with(|character: char| character.is_ascii_alphabetic()) {
            self.start_tag();
        } else {
            self.text("<");
            self.at += 1;
        }
    }

    fn end_tag(&mut self, name: &str) {
        if self.dropped > 0 {
            self.dropped -= 1;
            return;
        }
        if let Some(depth) = self.stack.iter().skip(1).rposition(|open| open.tag == name) {
            while self.stack.len() > depth + 1 {
                self.close_top();
            }
        }
    }

    fn start_tag(&mut self) {
        let after_bracket = &self.rest()[1..];
        let name = tag_name(after_bracket);
        self.at += 1 + name.len();
        let (attributes, self_closing) = self.attributes();
        if VOID_ELEMENTS.contains(&name.as_str()) || self_closing {
            self.push_child(Open::new(name, attributes).into_json());
            return;
        }
        if RAW_TEXT_ELEMENTS.contains(&name.as_str()) {
            let rest = self.rest();
            let closing = format!("</{name}");
            let end = rest
                .to_ascii_lowercase()
                .find(&closing)
                .unwrap_or(rest.len());
            let mut element = Open::new(name, attributes);
            if !rest[..end].is_empty() {
                element.children.push(Json::String(rest[..end].to_string()));
            }
            self.push_child(element.into_json());
            let after = &rest[end..];
            self.at += end + after.find('>').map_or(after.len(), |close| close + 1);
            return;
        }
        if self.stack.len() > MAX_DEPTH {
            self.dropped += 1;
            return;
        }
        self.stack.push(Open::new(name, attributes));
    }

    /// Reads attributes up to the end of the start tag; true when it ends with `/>`.
    fn attributes(&mut self) -> (JsonMap<String, Json>, bool) {
        let mut attributes = JsonMap::new();
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.at += rest.len() - trimmed.len();
            if trimmed.is_empty() {
                return (attributes, false);
            }
            if trimmed.starts_with("/>") {
                self.at += 2;
                return (attributes, true);
            }
            if trimmed.starts_with('>') {
                self.at += 1;
                return (attributes, false);
            }
            let name_end = trimmed
                .find(|character: char| {
                    character.is_whitespace() || matches!(character, '=' | '>' | '/')
                })
                .unwrap_or(trimmed.len());
            if name_end == 0 {
                // A stray `=` or a `/` not followed by `>` (both ASCII) is skipped.
                self.at += 1;
                continue;
            }
            let name = trimmed[..name_end].to_ascii_lowercase();
            self.at += name_end;
            let rest = self.rest();
            let value = match rest.trim_start().strip_prefix('=') {
                Some(after_equals) => {
                    let value_text = after_equals.trim_start();
                    self.at += rest.len() - value_text.len();
                    self.attribute_value(value_text)
                }
                None => String::new(),
            };
            attributes.insert(name, Json::String(decode_entities(&value)));
        }
    }

    fn attribute_value(&mut self, value_text: &str) -> String {
        match value_text.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = &value_text[1..];
                let end = body.find(quote).unwrap_or(body.len());
                self.at += 1 + end + usize::from(end < body.len());
                body[..end].to_string()
            }
            _ => {
                let end = value_text
                    .find(|character: char| character.is_whitespace() || character == '>')
                    .unwrap_or(value_text.len());
                self.at += end;
                value_text[..end].to_string()
            }
        }
    }
}

/// The lower-cased tag name at the start of the text.
fn tag_name(text: &str) -> String {
    let end = text
        .find(|character: char| {
            !(character.is_ascii_alphanumeric() || matches!(character, '-' | ':' | '_'))
        })
        .unwrap_or(text.len());
    text[..end].to_ascii_lowercase()
}

/// Parses a fragment into its top-level nodes.
pub fn parse_fragment(html: &str) -> Vec<Json> {
    let parser = Parser {
        html,
        at: 0,
        stack: vec![Open::new(String::new(), JsonMap::new())],
        dropped: 0,
    };
    parser.run().children
}

/// The first element named `tag`, depth first.
fn find_element<'a>(nodes: &'a [Json], tag: &str) -> Option<&'a Json> {
    let mut pending: Vec<&Json> = nodes.iter().rev().collect();
    while let Some(node) = pending.pop() {
        if node.get("tag").and_then(Json::as_str) == Some(tag) {
            return Some(node);
        }
        if let Some(children) = node.get("children").and_then(Json::as_array) {
            pending.extend(children.iter().rev());
        }
    }
    None
}

fn html_to_json(arguments: &[Value]) -> Outcome {
    let nodes = parse_fragment(text(arguments, 0));
    let root = text(arguments, 1).to_ascii_lowercase();
    if tag_name(&root) != root || root.is_empty() {
        return Ok(Value::empty_maybe());
    }
    let element = match find_element(&nodes, &root) {
        Some(element) => element.clone(),
        None => {
            let mut wrapper = Open::new(root, JsonMap::new());
            wrapper.children = nodes;
            wrapper.into_json()
        }
    };
    Ok(Value::some(Value::Dynamic(Arc::new(element))))
}

/// Writes the JSON form of HTML as markup; JSON that is not an element is written as text.
pub fn render(json: &Json, output: &mut String, depth: usize) {
    match json {
        Json::Null => {}
        Json::String(text) => output.push_str(&escape_text(text)),
        Json::Array(items) => {
            for item in items {
                render(item, output, depth);
            }
        }
        Json::Object(object) => {
            let tag = object
                .get("tag")
                .and_then(Json::as_str)
                .filter(|tag| !tag.is_empty() && tag_name(tag) == tag.to_ascii_lowercase());
            let children = object.get("children");
            let Some(tag) = tag.filter(|_| depth < MAX_DEPTH) else {
                if let Some(children) = children {
                    render(children, output, depth);
                }
                return;
            };
            output.push('<');
            output.push_str(tag);
            if let Some(Json::Object(attributes)) = object.get("attributes") {
                for (name, value) in attributes {
                    if name.is_empty() || tag_name(name) != name.to_ascii_lowercase() {
                        continue;
                    }
                    let value = match value {
                        Json::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    output.push_str(&format!(" {name}=\"{}\"", escape_attribute(&value)));
                }
            }
            output.push('>');
            if VOID_ELEMENTS.contains(&tag.to_ascii_lowercase().as_str()) {
                return;
            }
            if let Some(children) = children {
                render(children, output, depth + 1);
            }
            output.push_str(&format!("</{tag}>"));
        }
        other => output.push_str(&escape_text(&other.to_string())),
    }
}

fn json_to_html(arguments: &[Value]) -> Outcome {
    let mut output = String::new();
    if let Some(Value::Dynamic(json)) = arguments.first() {
        render(json, &mut output, 0);
    }
    Ok(string(output))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, s, same};
    use crate::value::Value;

    #[test]
    fn attribute_values_are_escaped() {
        same(
            &run("HTML.escapeHTMLAttributeValue", &[s(r#"a "b" & <c> 'd'"#)]),
            &s("a &quot;b&quot; &amp; &lt;c&gt; &#39;d&#39;"),
        );
    }

    fn to_json(html: &str, root: &str) -> String {
        match run("HTML.convertHTMLtoJSON", &[s(html), s(root)]) {
            Value::Maybe(Some(json)) => json.to_text(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn html_becomes_an_element_tree() {
        assert_eq!(
            to_json(r#"<div class="x">Hi &amp; <b>bye</b><br></div>"#, "div"),
            r#"{"tag":"div","attributes":{"class":"x"},"children":["Hi & ",{"tag":"b","children":["bye"]},{"tag":"br"}]}"#
        );
        assert_eq!(
            to_json("<p>one</p><p>two", "body"),
            r#"{"tag":"body","children":[{"tag":"p","children":["one"]},{"tag":"p","children":["two"]}]}"#
        );
        assert_eq!(
            to_json("<ul><li>a<li>b</ul></span>x < y", "ul"),
            r#"{"tag":"ul","children":[{"tag":"li","children":["a",{"tag":"li","children":["b"]}]}]}"#
        );
        assert_eq!(
            to_json("<script>if (a < b) {}</script><!-- c -->", "script"),
            r#"{"tag":"script","children":["if (a < b) {}"]}"#
        );
        same(
            &run("HTML.convertHTMLtoJSON", &[s("<p>"), s("not a tag!")]),
            &Value::empty_maybe(),
        );
    }

    #[test]
    fn deep_or_broken_markup_does_not_fail() {
        let deep = "<div>".repeat(10_000);
        let json = to_json(&deep, "div");
        assert!(json.starts_with(r#"{"tag":"div""#));
        for broken in [
            "<",
            "<a",
            "<a href=",
            "<a href=\"x",
            "</",
            "<!--",
            "&#xFFFFFFFF;",
            "<a/ b>",
        ] {
            let _ = to_json(broken, "a");
        }
    }

    #[test]
    fn json_becomes_markup_again() {
        let html = r#"<div class="x">Hi &amp; <b>bye</b><br></div>"#;
        let json = run("HTML.convertHTMLtoJSON", &[s(html), s("div")]);
        let Value::Maybe(Some(json)) = json else {
            panic!("converted")
        };
        same(&run("HTML.convertJSONtoHTML", &[*json]), &s(html));
    }
}
