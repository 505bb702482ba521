//! The served SDL is the checked-in `schema.graphql`, and it keeps the frontend contract:
//! no breaking change against `contract/schema.graphql` in the sense of graphql-js
//! `findBreakingChanges`.

use std::collections::BTreeMap;
use std::path::Path;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    BaseType, Type, TypeDefinition, TypeKind, TypeSystemDefinition,
};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn types(sdl: &str) -> BTreeMap<String, TypeDefinition> {
    parse_schema(sdl)
        .expect("SDL parses")
        .definitions
        .into_iter()
        .filter_map(|d| match d {
            TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node)),
            _ => None,
        })
        .collect()
}

fn kind(t: &TypeDefinition) -> &'static str {
    match t.kind {
        TypeKind::Scalar => "scalar",
        TypeKind::Object(_) => "type",
        TypeKind::Interface(_) => "interface",
        TypeKind::Union(_) => "union",
        TypeKind::Enum(_) => "enum",
        TypeKind::InputObject(_) => "input",
    }
}

/// An output field may become non-null, never nullable; its named type must stay.
fn output_compatible(old: &Type, new: &Type) -> bool {
    if !old.nullable && new.nullable {
        return false;
    }
    match (&old.base, &new.base) {
        (BaseType::Named(a), BaseType::Named(b)) => a == b,
        (BaseType::List(a), BaseType::List(b)) => output_compatible(a, b),
        _ => false,
    }
}

/// An input may become nullable, never required; its named type must stay.
fn input_compatible(old: &Type, new: &Type) -> bool {
    if old.nullable && !new.nullable {
        return false;
    }
    match (&old.base, &new.base) {
        (BaseType::Named(a), BaseType::Named(b)) => a == b,
        (BaseType::List(a), BaseType::List(b)) => input_compatible(a, b),
        _ => false,
    }
}

/// Every breaking change from `old` to `new`.
fn breaking_changes(old: &str, new: &str) -> Vec<String> {
    let (old, new) = (types(old), types(new));
    let mut found = Vec::new();
    for (name, old_type) in &old {
        let Some(new_type) = new.get(name) else {
            found.push(format!("type {name} was removed"));
            continue;
        };
        if kind(old_type) != kind(new_type) {
            found.push(format!(
                "{name} changed from {} to {}",
                kind(old_type),
                kind(new_type)
            ));
            continue;
        }
        match (&old_type.kind, &new_type.kind) {
            (TypeKind::Object(a), TypeKind::Object(b)) => {
                for field in &a.fields {
                    let field = &field.node;
                    let fname = field.name.node.as_str();
                    let Some(other) = b
                        .fields
                        .iter()
                        .find(|f| f.node.name.node == field.name.node)
                    else {
                        found.push(format!("{name}.{fname} was removed"));
                        continue;
                    };
                    let other = &other.node;
                    if !output_compatible(&field.ty.node, &other.ty.node) {
                        found.push(format!(
                            "{name}.{fname} changed type from {} to {}",
                            field.ty.node, other.ty.node
                        ));
                    }
                    for arg in &field.arguments {
                        let arg = &arg.node;
                        match other
                            .arguments
                            .iter()
                            .find(|x| x.node.name.node == arg.name.node)
                        {
                            None => {
                                found.push(format!("{name}.{fname}({}) was removed", arg.name.node))
                            }
                            Some(x) if !input_compatible(&arg.ty.node, &x.node.ty.node) => found
                                .push(format!(
                                    "{name}.{fname}({}) changed type from {} to {}",
                                    arg.name.node, arg.ty.node, x.node.ty.node
                                )),
                            Some(_) => {}
                        }
                    }
                    for arg in &other.arguments {
                        let known = field
                            .arguments
                            .iter()
                            .any(|x| x.node.name.node == arg.node.name.node);
                        if !known && !arg.node.ty.node.nullable && arg.node.default_value.is_none()
                        {
                            found.push(format!(
                                "{name}.{fname}({}) is a new required argument",
                                arg.node.name.node
                            ));
                        }
                    }
                }
            }
            (TypeKind::InputObject(a), TypeKind::InputObject(b)) => {
                for field in &a.fields {
                    let field = &field.node;
                    match b
                        .fields
                        .iter()
                        .find(|f| f.node.name.node == field.name.node)
                    {
                        None => found.push(format!("{name}.{} was removed", field.name.node)),
                        Some(x) if !input_compatible(&field.ty.node, &x.node.ty.node) => found
                            .push(format!(
                                "{name}.{} changed type from {} to {}",
                                field.name.node, field.ty.node, x.node.ty.node
                            )),
                        Some(_) => {}
                    }
                }
                for field in &b.fields {
                    let known = a
                        .fields
                        .iter()
                        .any(|x| x.node.name.node == field.node.name.node);
                    if !known && !field.node.ty.node.nullable && field.node.default_value.is_none()
                    {
                        found.push(format!(
                            "{name}.{} is a new required input field",
                            field.node.name.node
                        ));
                    }
                }
            }
            (TypeKind::Enum(a), TypeKind::Enum(b)) => {
                for value in &a.values {
                    if !b
                        .values
                        .iter()
                        .any(|v| v.node.value.node == value.node.value.node)
                    {
                        found.push(format!("{name}.{} was removed", value.node.value.node));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

#[test]
fn the_checked_in_schema_is_what_the_server_serves() {
    let checked_in =
        std::fs::read_to_string(root().join("schema.graphql")).expect("schema.graphql");
    assert!(
        checked_in == promohub_graphql::schema::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[test]
fn the_served_schema_keeps_the_frontend_contract() {
    let contract =
        std::fs::read_to_string(root().join("contract/schema.graphql")).expect("contract");
    let changes = breaking_changes(&contract, &promohub_graphql::schema::sdl());
    assert!(
        changes.is_empty(),
        "breaking changes against the contract:\n{}",
        changes.join("\n")
    );
}

#[test]
fn the_comparison_finds_breaking_changes() {
    let old = "type Query { a(x: Int): String!  b: Int }\ninput I { f: Int }\nenum E { A B }";
    let new = "type Query { a(x: Int!, y: Int!): String  c: Int }\ninput I { f: Int!, g: Int! }\nenum E { A }";
    let mut changes = breaking_changes(old, new);
    changes.sort();
    assert_eq!(
        changes,
        [
            "E.B was removed",
            "I.f changed type from Int to Int!",
            "I.g is a new required input field",
            "Query.a changed type from String! to String",
            "Query.a(x) changed type from Int to Int!",
            "Query.a(y) is a new required argument",
            "Query.b was removed",
        ]
    );
    assert!(breaking_changes(new, new).is_empty());
}
