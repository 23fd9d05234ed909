//! The document-bound namespaces that only read the host (`Document.key/space/seq`, `Random`,
//! `Runtime`) and the methods of assets (language §6.1, §6.8).
//!
//! `Random` draws from the transaction's generator, so a replayed transaction draws the same
//! numbers. The `Document` functions that change the document (`destroy`, `rewind`, `patch`,
//! `disconnect`) belong to the interpreter.

use super::args::{Outcome, arg, int, lifted, string};
use super::{BuiltinFn, Host};
use crate::value::{Asset, Value};

/// `Document.*`, `Random.*` and `Runtime.*`.
pub fn namespace(scope: &str, function: &str) -> Option<BuiltinFn> {
    match (scope, function) {
        ("Document", "key") => Some(document_key),
        ("Document", "space") => Some(document_space),
        ("Document", "seq") => Some(document_seq),
        ("Random", "genInt") => Some(gen_int),
        ("Random", "genBoundInt") => Some(gen_bound_int),
        ("Random", "genLong") => Some(gen_long),
        ("Random", "genDouble") => Some(gen_double),
        ("Random", "getDoubleGaussian") => Some(gen_gaussian),
        ("Runtime", "isBeta") => Some(is_beta),
        _ => None,
    }
}

/// Methods of `asset` values.
pub fn asset_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "name" => lifted!(asset_name),
        "id" => lifted!(asset_id),
        "type" => lifted!(asset_type),
        "md5" => lifted!(asset_md5),
        "sha384" => lifted!(asset_sha384),
        "size" => lifted!(asset_size),
        "valid" => lifted!(asset_valid),
        _ => None,
    }
}

fn document_key(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(string(host.document_key()))
}

fn document_space(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(string(host.document_space()))
}

fn document_seq(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Int(host.seq()))
}

fn gen_int(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Int(host.random().next_int()))
}

/// `nextInt(bound)`; a bound of zero or less draws nothing and gives 0.
fn gen_bound_int(host: &mut dyn Host, arguments: &[Value]) -> Outcome {
    let bound = int(arguments, 0);
    Ok(Value::Int(host.random().next_int_bounded(bound)))
}

fn gen_long(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Long(host.random().next_long()))
}

fn gen_double(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Double(host.random().next_double()))
}

fn gen_gaussian(host: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Double(host.random().next_gaussian()))
}

/// This runtime is not deployed on a beta channel.
fn is_beta(_: &mut dyn Host, _: &[Value]) -> Outcome {
    Ok(Value::Bool(false))
}

fn asset_of(arguments: &[Value]) -> Asset {
    match arg(arguments, 0) {
        Value::Asset(asset) => (**asset).clone(),
        _ => Asset::default(),
    }
}

fn asset_name(arguments: &[Value]) -> Outcome {
    Ok(string(asset_of(arguments).name))
}

fn asset_id(arguments: &[Value]) -> Outcome {
    Ok(string(asset_of(arguments).id))
}

fn asset_type(arguments: &[Value]) -> Outcome {
    Ok(string(asset_of(arguments).content_type))
}

fn asset_md5(arguments: &[Value]) -> Outcome {
    Ok(string(asset_of(arguments).md5))
}

fn asset_sha384(arguments: &[Value]) -> Outcome {
    Ok(string(asset_of(arguments).sha384))
}

fn asset_size(arguments: &[Value]) -> Outcome {
    Ok(Value::Long(asset_of(arguments).size))
}

/// `@nothing` (the default asset) has no id.
fn asset_valid(arguments: &[Value]) -> Outcome {
    Ok(Value::Bool(!asset_of(arguments).id.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, call_with, run, run1, s, same};
    use crate::random::JavaRandom;
    use crate::value::{Asset, Value};
    use std::sync::Arc;

    #[test]
    fn document_identity_comes_from_the_host() {
        same(&run("Document.key", &[]), &s("key"));
        same(&run("Document.space", &[]), &s("space"));
        same(&run("Document.seq", &[]), &Value::Int(42));
        same(&run("Runtime.isBeta", &[]), &Value::Bool(false));
        assert!(super::super::lookup("Document.destroy").is_none());
    }

    #[test]
    fn random_draws_from_the_transaction_generator() {
        let mut host = TestHost::default();
        let mut expected = JavaRandom::new(0);
        let drawn = call_with(&mut host, "Random.genInt", &[]).expect("genInt");
        same(&drawn, &Value::Int(expected.next_int()));
        let drawn = call_with(&mut host, "Random.genBoundInt", &[Value::Int(10)]).expect("bound");
        same(&drawn, &Value::Int(expected.next_int_bounded(10)));
        let drawn = call_with(&mut host, "Random.genLong", &[]).expect("genLong");
        same(&drawn, &Value::Long(expected.next_long()));
        let drawn = call_with(&mut host, "Random.genDouble", &[]).expect("genDouble");
        same(&drawn, &Value::Double(expected.next_double()));
        let drawn = call_with(&mut host, "Random.getDoubleGaussian", &[]).expect("gaussian");
        same(&drawn, &Value::Double(expected.next_gaussian()));
        let drawn = call_with(&mut host, "Random.genBoundInt", &[Value::Int(-3)]).expect("bound");
        same(&drawn, &Value::Int(0));
    }

    #[test]
    fn asset_parts() {
        let asset = Value::Asset(Arc::new(Asset {
            id: Arc::from("id1"),
            size: 12,
            name: Arc::from("a.png"),
            content_type: Arc::from("image/png"),
            md5: Arc::from("m"),
            sha384: Arc::from("h"),
        }));
        same(&run1("asset.name", &asset), &s("a.png"));
        same(&run1("asset.type", &asset), &s("image/png"));
        same(&run1("asset.size", &asset), &Value::Long(12));
        same(&run("asset.valid", &[asset]), &Value::Bool(true));
        same(
            &run("asset.valid", &[Value::Asset(Arc::default())]),
            &Value::Bool(false),
        );
    }
}
