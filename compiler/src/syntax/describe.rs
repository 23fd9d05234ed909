//! Names of tree nodes as a person would say them, for messages such as "after the field
//! declaration".

/// A phrase with an article for a node kind: `field_declaration` becomes "the field declaration".
pub fn node_phrase(kind: &str) -> String {
    let special = match kind {
        "document" => Some("the top level of the document"),
        "block" => Some("the block"),
        "record_body" => Some("the record"),
        "message_body" => Some("the message"),
        "field_declaration" => Some("the field declaration"),
        "message_field" => Some("the message field"),
        "local_declaration" => Some("the variable declaration"),
        "inferred_declaration" => Some("the variable declaration"),
        "expression_statement" => Some("the statement"),
        "assignment_statement" => Some("the assignment"),
        "ingestion_statement" => Some("the ingestion"),
        "arguments" => Some("the argument list"),
        "parameters" => Some("the parameter list"),
        "condition" => Some("the condition"),
        "guard" => Some("the policy guard"),
        "object_expression" => Some("the anonymous message"),
        "array_expression" => Some("the array"),
        "enum_declaration" => Some("the enum"),
        "static_block" => Some("the @static block"),
        "web_handler" => Some("the @web handler"),
        "cron_declaration" => Some("the @cron job"),
        "constructor_declaration" => Some("the @construct block"),
        "channel_declaration" => Some("the channel handler"),
        "async_channel_declaration" => Some("the channel declaration"),
        "state_block" => Some("the state block"),
        _ => None,
    };
    match special {
        Some(phrase) => phrase.to_owned(),
        None => format!("the {}", kind.trim_start_matches('_').replace('_', " ")),
    }
}

/// How a token kind is quoted in a message: punctuation and keywords in quotes, token classes by
/// name.
pub fn token_phrase(kind: &str) -> String {
    match kind {
        "identifier" => "a name".to_owned(),
        "type_identifier" => "a type name".to_owned(),
        "number" => "a number".to_owned(),
        "string" => "a string".to_owned(),
        "label" => "a state label such as '#next'".to_owned(),
        "template_literal" => "a template literal".to_owned(),
        other
            if other.starts_with('_')
                || other.contains('_')
                    && other.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            node_phrase(other).trim_start_matches("the ").to_owned()
        }
        other => format!("'{other}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_phrases() {
        assert_eq!(node_phrase("field_declaration"), "the field declaration");
        assert_eq!(node_phrase("while_statement"), "the while statement");
        assert_eq!(token_phrase(";"), "';'");
        assert_eq!(token_phrase("identifier"), "a name");
    }
}
