//! The `Principal` namespace (language §6.6), also the methods of principals.
//!
//! Identities are told apart by their authority: platform identities carry fixed authorities
//! (`adama` for developers, `anonymous`, `overlord`, `region` for the hosts), and identities a
//! document mints for itself carry `doc/<space>/<key>`, which is what ties them to the document
//! and its space.

use super::args::{Outcome, arg, lifted, string, text};
use super::{BuiltinFn, Host};
use crate::value::{Principal, Value};

/// `Principal.function`, and the principal methods that are its extension form.
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "isAdamaDeveloper" => lifted!(is_adama_developer),
        "isAnonymous" => lifted!(is_anonymous),
        "isOverlord" => lifted!(is_overlord),
        "isAdamaHost" => lifted!(is_adama_host),
        "fromAuthority" => lifted!(from_authority),
        "agent" => lifted!(agent),
        "authority" => lifted!(authority),
        "isFromDocument" => Some(is_from_document),
        "isFromSpace" => Some(is_from_space),
        "principalOf" => Some(principal_of),
        _ => None,
    }
}

fn principal_arg(arguments: &[Value]) -> Principal {
    arg(arguments, 0).as_principal()
}

fn authority_is(arguments: &[Value], expected: &str) -> Outcome {
    Ok(Value::Bool(
        &*principal_arg(arguments).authority == expected,
    ))
}

fn is_adama_developer(arguments: &[Value]) -> Outcome {
    authority_is(arguments, "adama")
}

fn is_anonymous(arguments: &[Value]) -> Outcome {
    authority_is(arguments, "anonymous")
}

fn is_overlord(arguments: &[Value]) -> Outcome {
    authority_is(arguments, "overlord")
}

fn is_adama_host(arguments: &[Value]) -> Outcome {
    authority_is(arguments, "region")
}

fn from_authority(arguments: &[Value]) -> Outcome {
    authority_is(arguments, text(arguments, 1))
}

fn agent(arguments: &[Value]) -> Outcome {
    Ok(string(principal_arg(arguments).agent))
}

fn authority(arguments: &[Value]) -> Outcome {
    Ok(string(principal_arg(arguments).authority))
}

/// The authority of identities minted by this document.
fn document_authority(host: &dyn Host) -> String {
    format!("doc/{}/{}", host.document_space(), host.document_key())
}

fn is_from_document(host: &mut dyn Host, arguments: &[Value]) -> Outcome {
    let principal = principal_arg(arguments);
    Ok(Value::Bool(
        *principal.authority == *document_authority(host),
    ))
}

fn is_from_space(host: &mut dyn Host, arguments: &[Value]) -> Outcome {
    let principal = principal_arg(arguments);
    let prefix = format!("doc/{}/", host.document_space());
    Ok(Value::Bool(principal.authority.starts_with(&prefix)))
}

/// `Principal.principalOf(agent)` and `agent.principalOf()`: an identity of this document.
fn principal_of(host: &mut dyn Host, arguments: &[Value]) -> Outcome {
    Ok(match arg(arguments, 0) {
        Value::Maybe(None) => Value::empty_maybe(),
        agent => {
            let principal = Principal::new(agent.as_str(), &document_authority(host));
            let value = Value::principal(principal);
            if matches!(agent, Value::Maybe(_)) {
                Value::some(value)
            } else {
                value
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, run1, s, same};
    use crate::value::{Principal, Value};

    fn p(agent: &str, authority: &str) -> Value {
        Value::principal(Principal::new(agent, authority))
    }

    #[test]
    fn platform_identities_are_told_by_authority() {
        same(
            &run("principal.isAdamaDeveloper", &[p("jo", "adama")]),
            &Value::Bool(true),
        );
        same(
            &run("Principal.isAnonymous", &[p("jo", "anonymous")]),
            &Value::Bool(true),
        );
        same(
            &run("principal.isOverlord", &[p("jo", "adama")]),
            &Value::Bool(false),
        );
        same(
            &run("principal.isAdamaHost", &[p("host", "region")]),
            &Value::Bool(true),
        );
        same(
            &run("principal.fromAuthority", &[p("jo", "acme"), s("acme")]),
            &Value::Bool(true),
        );
        same(&run("principal.agent", &[p("jo", "acme")]), &s("jo"));
        same(&run("principal.authority", &[p("jo", "acme")]), &s("acme"));
    }

    #[test]
    fn minted_identities_belong_to_the_document() {
        let minted = run("Principal.principalOf", &[s("bot")]);
        same(&minted, &p("bot", "doc/space/key"));
        same(&run("string.principalOf", &[s("bot")]), &minted);
        same(
            &run1("principal.isFromDocument", &minted),
            &Value::Bool(true),
        );
        same(&run("principal.isFromSpace", &[minted]), &Value::Bool(true));
        same(
            &run("principal.isFromSpace", &[p("bot", "doc/other/key")]),
            &Value::Bool(false),
        );
        same(
            &run("principal.isFromDocument", &[p("bot", "doc/space/other")]),
            &Value::Bool(false),
        );
    }
}
