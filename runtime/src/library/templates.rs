//! The `Templates` namespace (language §6.8): canned HTML emails a document can send through a
//! service. Every argument is text and is escaped, so user data cannot inject markup; URLs are
//! also escaped for the attribute they land in.

use super::BuiltinFn;
use super::args::{Outcome, lifted, string, text};
use super::html::escape_attribute;
use crate::value::Value;

/// `Templates.function`.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "accountRecoveryDefaultEmail" => lifted!(account_recovery),
        "multilineEmailWithButton" => lifted!(multiline_with_button),
        _ => None,
    }
}

const HEAD: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
<body style=\"font-family: sans-serif; margin: 0; padding: 24px; background: #f4f4f4;\">\
<table role=\"presentation\" width=\"100%\" style=\"max-width: 560px; margin: 0 auto; background: #ffffff; padding: 24px;\"><tr><td>";

const TAIL: &str = "</td></tr></table></body></html>";

fn button(url: &str, label: &str) -> String {
    format!(
        "<p style=\"margin: 24px 0;\"><a href=\"{}\" style=\"background: #1a73e8; color: #ffffff; \
padding: 12px 20px; text-decoration: none; border-radius: 4px;\">{}</a></p>",
        escape_attribute(url),
        escape_attribute(label)
    )
}

fn paragraph(content: &str) -> String {
    if content.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", escape_attribute(content))
    }
}

/// `(temporary password, reset URL, instant-login URL)`.
fn account_recovery(arguments: &[Value]) -> Outcome {
    let password = text(arguments, 0);
    let reset = text(arguments, 1);
    let instant = text(arguments, 2);
    let mut body = String::from(HEAD);
    body.push_str("<h1>Account recovery</h1>");
    body.push_str(&paragraph(
        "Someone asked to recover this account. If it was not you, ignore this email.",
    ));
    body.push_str(&format!(
        "<p>Your temporary password is <strong>{}</strong></p>",
        escape_attribute(password)
    ));
    body.push_str(&button(reset, "Reset your password"));
    body.push_str(&button(instant, "Log in now"));
    body.push_str(TAIL);
    Ok(string(body))
}

/// `(title, first line, second line, body, button URL, button label, closing line)`.
fn multiline_with_button(arguments: &[Value]) -> Outcome {
    let [title, first, second, content, url, label, closing] =
        [0, 1, 2, 3, 4, 5, 6].map(|index| text(arguments, index));
    let mut body = String::from(HEAD);
    body.push_str(&format!("<h1>{}</h1>", escape_attribute(title)));
    for line in [first, second, content] {
        body.push_str(&paragraph(line));
    }
    body.push_str(&button(url, label));
    body.push_str(&paragraph(closing));
    body.push_str(TAIL);
    Ok(string(body))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, s};

    #[test]
    fn emails_escape_their_arguments() {
        let email = run(
            "Templates.accountRecoveryDefaultEmail",
            &[s("p<w>"), s("https://x/reset?a=1&b=2"), s("https://x/go")],
        );
        let html = email.as_str();
        assert!(html.contains("<strong>p&lt;w&gt;</strong>"));
        assert!(html.contains("href=\"https://x/reset?a=1&amp;b=2\""));
        let email = run(
            "Templates.multilineEmailWithButton",
            &["Hi", "one", "two", "<b>", "https://x", "Go", "Bye"].map(s),
        );
        let html = email.as_str();
        assert!(html.contains("<h1>Hi</h1>"));
        assert!(html.contains("<p>&lt;b&gt;</p>"));
        assert!(html.ends_with("</html>"));
    }
}
