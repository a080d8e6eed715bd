//! All Variable Usages Are Allowed (5.8.5) wherever a variable stands:
//! apollo-compiler checks a variable given as an argument, but not one
//! inside an input object or list literal (`input: { events: $e }`), where
//! a `[String]` would reach a `[String!]!`.
//!
//! Each fragment's usages are collected once; an operation then checks the
//! usages of its own selection and of every fragment it reaches.

use std::collections::{HashMap, HashSet};

use apollo_compiler::{
    ast::{Argument, InputValueDefinition, Type, Value, VariableDefinition},
    executable::{DirectiveList, Selection, SelectionSet},
    schema::ExtendedType,
    ExecutableDocument, Name, Node, Schema,
};

/// A variable standing where a value of `location` is expected.
struct Usage<'d> {
    variable: &'d Name,
    location: Type,
    /// The argument or input field there has a default of its own.
    location_default: bool,
}

/// What a selection set holds: its usages and the fragments it spreads.
#[derive(Default)]
struct Found<'d> {
    usages: Vec<Usage<'d>>,
    spreads: Vec<&'d Name>,
}

/// Every usage a variable's type does not allow, in words.
pub fn disallowed(doc: &ExecutableDocument, schema: &Schema) -> Vec<String> {
    let walker = Walker { schema };
    let fragments: HashMap<&Name, Found> = doc
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut found = Found::default();
            walker.set(&fragment.selection_set, &mut found);
            walker.directives(&fragment.directives, &mut found);
            (name, found)
        })
        .collect();
    let mut problems = Vec::new();
    for op in doc.operations.iter() {
        let mut own = Found::default();
        walker.set(&op.selection_set, &mut own);
        walker.directives(&op.directives, &mut own);
        let definitions: HashMap<&Name, &Node<VariableDefinition>> =
            op.variables.iter().map(|v| (&v.name, v)).collect();
        let mut check = |usage: &Usage| {
            let Some(definition) = definitions.get(usage.variable) else {
                return; // undefined: 5.8.3 reports it
            };
            if !allowed(definition, usage) {
                problems.push(format!(
                    "Variable \"${}\" of type \"{}\" used in position expecting type \"{}\".",
                    usage.variable, definition.ty, usage.location
                ));
            }
        };
        own.usages.iter().for_each(&mut check);
        let mut seen: HashSet<&Name> = HashSet::new();
        let mut next: Vec<&Name> = own.spreads.clone();
        while let Some(name) = next.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(found) = fragments.get(name) {
                found.usages.iter().for_each(&mut check);
                next.extend(found.spreads.iter().copied());
            }
        }
    }
    problems
}

/// IsVariableUsageAllowed: a nullable variable reaches a non-null place only
/// through a default (its own, not null, or the place's).
fn allowed(definition: &VariableDefinition, usage: &Usage) -> bool {
    let variable = &*definition.ty;
    if usage.location.is_non_null() && !variable.is_non_null() {
        let own_default = definition
            .default_value
            .as_ref()
            .is_some_and(|d| !matches!(**d, Value::Null));
        if !own_default && !usage.location_default {
            return false;
        }
        return compatible(variable, &usage.location.clone().nullable());
    }
    compatible(variable, &usage.location)
}

/// AreTypesCompatible.
fn compatible(variable: &Type, location: &Type) -> bool {
    match (variable, location) {
        (_, Type::NonNullNamed(_) | Type::NonNullList(_)) => {
            variable.is_non_null()
                && compatible(&variable.clone().nullable(), &location.clone().nullable())
        }
        (Type::NonNullNamed(_) | Type::NonNullList(_), _) => {
            compatible(&variable.clone().nullable(), location)
        }
        (Type::List(item), Type::List(place)) => compatible(item, place),
        (Type::Named(a), Type::Named(b)) => a == b,
        _ => false,
    }
}

struct Walker<'s> {
    schema: &'s Schema,
}

impl<'s> Walker<'s> {
    fn set<'d>(&self, set: &'d SelectionSet, found: &mut Found<'d>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    self.arguments(&field.arguments, &field.definition.arguments, found);
                    self.directives(&field.directives, found);
                    self.set(&field.selection_set, found);
                }
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.directives, found);
                    self.set(&inline.selection_set, found);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives(&spread.directives, found);
                    found.spreads.push(&spread.fragment_name);
                }
            }
        }
    }

    fn directives<'d>(&self, directives: &'d DirectiveList, found: &mut Found<'d>) {
        for directive in directives.iter() {
            if let Some(definition) = self.schema.directive_definitions.get(&directive.name) {
                self.arguments(&directive.arguments, &definition.arguments, found);
            }
        }
    }

    fn arguments<'d>(
        &self,
        arguments: &'d [Node<Argument>],
        definitions: &[Node<InputValueDefinition>],
        found: &mut Found<'d>,
    ) {
        for argument in arguments {
            if let Some(definition) = definitions.iter().find(|d| d.name == argument.name) {
                let has_default = definition.default_value.is_some();
                self.value(&argument.value, &definition.ty, has_default, found);
            }
        }
    }

    fn value<'d>(
        &self,
        value: &'d Value,
        location: &Type,
        location_default: bool,
        found: &mut Found<'d>,
    ) {
        match value {
            Value::Variable(variable) => found.usages.push(Usage {
                variable,
                location: location.clone(),
                location_default,
            }),
            Value::List(items) if location.is_list() => {
                for item in items {
                    self.value(item, location.item_type(), false, found);
                }
            }
            // A single value where a list is expected stands for its item.
            Value::List(_) => {}
            Value::Object(fields) => {
                let named = location.inner_named_type();
                let Some(ExtendedType::InputObject(object)) = self.schema.types.get(named) else {
                    return;
                };
                for (name, inner) in fields {
                    if let Some(field) = object.fields.get(name) {
                        self.value(inner, &field.ty, field.default_value.is_some(), found);
                    }
                }
            }
            _ => {}
        }
    }
}
