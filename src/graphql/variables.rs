//! Coercing a request's variables before anything runs (GraphQL spec
//! 6.1.2, "Coercing Variable Values").
//!
//! async-graphql coerces a variable only when a field reads it, so a missing
//! required variable surfaced as a failed field (INTERNAL), and a wrong one
//! only if some field happened to use it. Here every variable of the
//! operation is coerced against its declared type first, as graphql-js
//! does: one that fails is a request error (BAD_USER_INPUT, no `data`), and
//! nothing runs. Values are checked, not rewritten: async-graphql reads the
//! same JSON afterwards and, once this passed, reads it the same way.

use async_graphql::{
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
    registry::{MetaType, MetaTypeName, Registry},
    Positioned, ServerError, Variables,
};
use async_graphql_value::ConstValue;

use super::limits::{request_error, BAD_USER_INPUT};

/// Checks the variables of the operation the request runs (the one it
/// names, or the only one); an unknown operation is left to the executor.
pub fn coerce(
    registry: &Registry,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<(), ServerError> {
    let Some(operation) = chosen(doc, operation_name) else {
        return Ok(());
    };
    for definition in &operation.node.variable_definitions {
        let definition = &definition.node;
        let name = definition.name.node.as_str();
        let ty = definition.var_type.node.to_string();
        let refuse = |why: String| {
            let message = format!("Variable \"${name}\" got invalid value; {why}");
            Err(request_error(message, BAD_USER_INPUT))
        };
        match variables.get(&definition.name.node) {
            None if definition.default_value.is_some() || definition.var_type.node.nullable => {}
            None => {
                let message =
                    format!("Variable \"${name}\" of required type \"{ty}\" was not provided.");
                return Err(request_error(message, BAD_USER_INPUT));
            }
            Some(value) => {
                if let Err(why) = (Coercion { registry }).value(value, &ty, &mut Vec::new()) {
                    return refuse(why);
                }
            }
        }
    }
    Ok(())
}

/// The operation a request runs.
pub fn chosen<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d Positioned<OperationDefinition>> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Some(op),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

struct Coercion<'r> {
    registry: &'r Registry,
}

impl Coercion<'_> {
    /// Whether `value` coerces to the type written `ty` (`[Int!]!`, say);
    /// `path` names where inside the variable a failure is.
    fn value(&self, value: &ConstValue, ty: &str, path: &mut Vec<String>) -> Result<(), String> {
        match MetaTypeName::create(ty) {
            MetaTypeName::NonNull(inner) => match value {
                ConstValue::Null => Err(self.at(
                    path,
                    format!("Expected non-nullable type \"{ty}\" not to be null."),
                )),
                _ => self.value(value, inner, path),
            },
            _ if *value == ConstValue::Null => Ok(()),
            MetaTypeName::List(item) => match value {
                ConstValue::List(items) => items.iter().enumerate().try_for_each(|(i, v)| {
                    path.push(i.to_string());
                    let result = self.value(v, item, path);
                    path.pop();
                    result
                }),
                // A single value where a list is expected is a list of one.
                single => self.value(single, item, path),
            },
            MetaTypeName::Named(name) => self.named(value, name, path),
        }
    }

    fn named(&self, value: &ConstValue, name: &str, path: &mut Vec<String>) -> Result<(), String> {
        if let Some(ok) = builtin_scalar(name, value) {
            return if ok {
                Ok(())
            } else {
                Err(self.at(
                    path,
                    format!("{} cannot represent {}", name, describe(value)),
                ))
            };
        }
        match self.registry.types.get(name) {
            Some(MetaType::Scalar { is_valid, .. }) => match is_valid {
                Some(valid) if !valid(value) => Err(self.at(
                    path,
                    format!("Expected type \"{name}\", found {}.", describe(value)),
                )),
                _ => Ok(()),
            },
            Some(MetaType::Enum { enum_values, .. }) => match value {
                ConstValue::String(s) if enum_values.contains_key(s.as_str()) => Ok(()),
                ConstValue::Enum(s) if enum_values.contains_key(s.as_str()) => Ok(()),
                _ => Err(self.at(
                    path,
                    format!(
                        "Value {} does not exist in \"{name}\" enum.",
                        describe(value)
                    ),
                )),
            },
            Some(MetaType::InputObject {
                input_fields,
                oneof,
                ..
            }) => {
                let ConstValue::Object(fields) = value else {
                    return Err(self.at(path, format!("Expected type \"{name}\" to be an object.")));
                };
                if let Some(unknown) = fields
                    .keys()
                    .find(|k| !input_fields.contains_key(k.as_str()))
                {
                    return Err(self.at(
                        path,
                        format!("Field \"{unknown}\" is not defined by type \"{name}\"."),
                    ));
                }
                if *oneof {
                    let set = fields.values().filter(|v| **v != ConstValue::Null).count();
                    if fields.len() != 1 || set != 1 {
                        return Err(self.at(
                            path,
                            format!("Exactly one key must be specified for OneOf type \"{name}\"."),
                        ));
                    }
                }
                for (field, meta) in input_fields {
                    match fields.get(field.as_str()) {
                        None if meta.default_value.is_some() || !meta.ty.ends_with('!') => {}
                        None => {
                            return Err(self.at(
                                path,
                                format!(
                                    "Field \"{field}\" of required type \"{}\" was not provided.",
                                    meta.ty
                                ),
                            ))
                        }
                        Some(inner) => {
                            path.push(field.clone());
                            let result = self.value(inner, &meta.ty, path);
                            path.pop();
                            result?;
                        }
                    }
                }
                Ok(())
            }
            // Validation refuses a variable of an unknown or output type.
            _ => Err(self.at(path, format!("\"{name}\" is not an input type."))),
        }
    }

    fn at(&self, path: &[String], why: String) -> String {
        if path.is_empty() {
            why
        } else {
            format!("{why} At \"value.{}\".", path.join("."))
        }
    }
}

/// Whether `value` is one the built-in scalar `name` accepts from JSON, as
/// graphql-js has it (an integral float is an Int: JSON does not tell 1.0
/// from 1); `None` for any other type.
fn builtin_scalar(name: &str, value: &ConstValue) -> Option<bool> {
    let number = match value {
        ConstValue::Number(n) => n.as_f64(),
        _ => None,
    };
    let integral = number.filter(|n| n.fract() == 0.0);
    Some(match name {
        "Int" => integral.is_some_and(|n| (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&n)),
        "Float" => number.is_some_and(f64::is_finite),
        "String" => matches!(value, ConstValue::String(_)),
        "Boolean" => matches!(value, ConstValue::Boolean(_)),
        "ID" => matches!(value, ConstValue::String(_)) || integral.is_some(),
        _ => return None,
    })
}

fn describe(value: &ConstValue) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let short: String = text.chars().take(60).collect();
        format!("{short}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests;

/// JSON numbers with no fraction as integers: JSON does not tell `1.0`
/// from `1`, and graphql-js reads both as the Int 1, but async-graphql's
/// Int would refuse a float.
pub fn integral_numbers(variables: &mut Variables) {
    fn normalize(value: &mut ConstValue) {
        match value {
            ConstValue::Number(n) if !n.is_i64() && !n.is_u64() => {
                let whole = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15);
                if let Some(whole) = whole {
                    *n = serde_json::Number::from(whole as i64);
                }
            }
            ConstValue::List(items) => items.iter_mut().for_each(normalize),
            ConstValue::Object(fields) => fields.values_mut().for_each(normalize),
            _ => {}
        }
    }
    for value in variables.values_mut() {
        normalize(value);
    }
}
