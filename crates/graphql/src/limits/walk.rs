//! The walk of a parsed document: aliases and literal depth per selection set, and each
//! operation's shape (fields after expansion, depth, cost) with every fragment expanded once.

use std::collections::HashMap;

use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::{Name, Positioned};
use async_graphql_value::{ConstValue, Value as GqlValue};
use serde_json::Value;

use super::{CONNECTIONS, SHORT_LISTS};

/// Counts aliases and the deepest argument literal in one selection set, fragments not followed
/// (every fragment definition is visited once on its own).
pub(super) fn visit_fields(set: &SelectionSet, aliases: &mut usize, input_depth: &mut usize) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    *aliases += 1;
                }
                for (_, value) in &field.node.arguments {
                    *input_depth = (*input_depth).max(value_depth(&value.node));
                }
                visit_fields(&field.node.selection_set.node, aliases, input_depth);
            }
            Selection::InlineFragment(inline) => {
                visit_fields(&inline.node.selection_set.node, aliases, input_depth);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

pub(super) fn value_depth(value: &GqlValue) -> usize {
    match value {
        GqlValue::List(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        GqlValue::Object(fields) => 1 + fields.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

pub(super) fn const_depth(value: &ConstValue) -> usize {
    match value {
        ConstValue::List(items) => 1 + items.iter().map(const_depth).max().unwrap_or(0),
        ConstValue::Object(fields) => 1 + fields.values().map(const_depth).max().unwrap_or(0),
        _ => 0,
    }
}

pub(super) fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// What a selection set amounts to once expanded.
#[derive(Clone, Copy, Default)]
pub(super) struct Shape {
    pub(super) fields: u64,
    pub(super) depth: u64,
    pub(super) cost: u64,
}

pub(super) struct Walker<'a> {
    pub(super) fragments:
        &'a HashMap<Name, Positioned<async_graphql::parser::types::FragmentDefinition>>,
    pub(super) variables: Option<&'a Value>,
    pub(super) defaults: HashMap<String, ConstValue>,
    /// Each fragment's shape, computed once: this keeps doubling spreads linear.
    pub(super) done: HashMap<Name, Shape>,
    pub(super) in_progress: Vec<Name>,
}

impl Walker<'_> {
    pub(super) fn shape(&mut self, set: &SelectionSet) -> Shape {
        let mut total = Shape::default();
        for item in &set.items {
            let shape = match &item.node {
                Selection::Field(field) => {
                    let inner = self.shape(&field.node.selection_set.node);
                    let name = field.node.name.node.as_str();
                    let items = self.list_size(name, &field.node.arguments);
                    Shape {
                        fields: 1u64.saturating_add(inner.fields),
                        // Leaves count as a level, as async-graphql's own depth limit did.
                        depth: 1 + inner.depth,
                        cost: 1u64.saturating_add(items.saturating_mul(inner.cost)),
                    }
                }
                Selection::InlineFragment(inline) => self.shape(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            total.fields = total.fields.saturating_add(shape.fields);
            total.cost = total.cost.saturating_add(shape.cost);
            total.depth = total.depth.max(shape.depth);
        }
        total
    }

    fn fragment(&mut self, name: &Name) -> Shape {
        if let Some(shape) = self.done.get(name) {
            return *shape;
        }
        // A cycle or an unknown fragment adds nothing here; validation refuses both.
        if self.in_progress.contains(name) {
            return Shape::default();
        }
        let Some(definition) = self.fragments.get(name) else {
            return Shape::default();
        };
        self.in_progress.push(name.clone());
        let shape = self.shape(&definition.node.selection_set.node);
        self.in_progress.pop();
        self.done.insert(name.clone(), shape);
        shape
    }

    /// How many items a field's list may hold (1 for a field that is not a list).
    fn list_size(&self, name: &str, arguments: &[(Positioned<Name>, Positioned<GqlValue>)]) -> u64 {
        if let Some((_, items)) = SHORT_LISTS.iter().find(|(n, _)| *n == name) {
            return *items;
        }
        let Some(&(_, default_page, max_page)) = CONNECTIONS.iter().find(|(n, ..)| *n == name)
        else {
            return 1;
        };
        let first = arguments
            .iter()
            .find(|(n, _)| n.node.as_str() == "first")
            .and_then(|(_, value)| match &value.node {
                GqlValue::Number(n) => n.as_u64(),
                GqlValue::Variable(variable) => self
                    .variables
                    .and_then(|v| v.get(variable.as_str()))
                    .and_then(Value::as_u64)
                    .or_else(|| match self.defaults.get(variable.as_str()) {
                        Some(ConstValue::Number(n)) => n.as_u64(),
                        _ => None,
                    }),
                _ => None,
            });
        first.unwrap_or(default_page).clamp(1, max_page)
    }
}
