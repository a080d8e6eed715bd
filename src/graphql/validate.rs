//! Validation as section 5 of the GraphQL spec (October 2021) has it, by
//! apollo-compiler, whose rules follow graphql-js's.
//!
//! async-graphql's own validator skips rules (`__typename` is never
//! checked, duplicate input fields, repeated directives, enum values given as
//! strings) and refuses valid documents (a variable used only in a directive
//! counts as unused), so the schema's validation runs in its fast mode
//! (cache control alone) and this is the one that decides. It only ever sees
//! a document whose fragments were measured and found within the limits
//! (see [`super::expansion`]), so its passes, which expand fragments, are
//! bounded by that measure.

use apollo_compiler::{validation::Valid, ExecutableDocument, Schema};
use async_graphql::{Pos, ServerError};

use super::limits::{request_error, PARSE_FAILED, VALIDATION_FAILED};

/// The schema, as apollo-compiler reads it, to validate documents against.
pub struct Validator {
    schema: Valid<Schema>,
    /// Whether an unknown field's error suggests the names it may have
    /// meant (not in production, where they would map the schema).
    suggestions: bool,
}

impl Validator {
    /// Reads the schema's SDL (as async-graphql prints it).
    pub fn new(sdl: &str, suggestions: bool) -> Result<Validator, String> {
        Schema::parse_and_validate(sdl, "schema.graphql")
            .map(|schema| Validator {
                schema,
                suggestions,
            })
            .map_err(|with| with.errors.to_string())
    }

    /// Every rule of section 5, or each broken one as a GRAPHQL_VALIDATION_FAILED
    /// error (GRAPHQL_PARSE_FAILED for what apollo-compiler's stricter parser
    /// finds: async-graphql's takes `fragment on on Query`).
    pub fn validate(&self, query: &str) -> Result<(), Vec<ServerError>> {
        let (doc, diagnostics) =
            match ExecutableDocument::parse_and_validate(&self.schema, query, "query") {
                Ok(valid) => (valid.into_inner(), None),
                Err(with) => (with.partial, Some(with.errors)),
            };
        let mut errors: Vec<ServerError> = diagnostics
            .iter()
            .flat_map(|list| list.iter())
            .map(|diagnostic| diagnostic.to_json())
            .filter(|json| !super::rules::is_replaced(&json.message))
            .map(|json| {
                let code = if json.message.starts_with("syntax error") {
                    PARSE_FAILED
                } else {
                    VALIDATION_FAILED
                };
                let message = self.with_suggestion(json.message);
                let mut err = request_error(message, code);
                err.locations = json
                    .locations
                    .iter()
                    .map(|at| Pos {
                        line: at.line,
                        column: at.column,
                    })
                    .collect();
                err
            })
            .collect();
        // apollo-compiler leaves an unknown field out of the document it
        // builds, so its parent then has "no subselection" too: only the
        // first is the client's mistake.
        if errors
            .iter()
            .any(|e| e.message.contains("` does not have a field `"))
        {
            errors.retain(|e| !e.message.ends_with("must have a subselection set"));
        }
        errors.extend(
            super::rules::check(&doc, &self.schema)
                .into_iter()
                .map(|problem| request_error(problem, VALIDATION_FAILED)),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl Validator {
    /// An unknown field's error, with the fields of that type whose names
    /// are close to it, as graphql-js suggests them (when suggestions are on).
    fn with_suggestion(&self, message: String) -> String {
        let names: Vec<&str> = message.split('`').collect();
        let (true, [_, ty, middle, field, _]) = (self.suggestions, names.as_slice()) else {
            return message;
        };
        if *middle != " does not have a field " {
            return message;
        }
        let Some(fields) = self.schema.types.get(*ty).and_then(field_names) else {
            return message;
        };
        match super::suggest::closest(field, &fields).as_slice() {
            [] => message,
            found => format!("{message}. Did you mean {}?", super::suggest::quoted(found)),
        }
    }
}

fn field_names(ty: &apollo_compiler::schema::ExtendedType) -> Option<Vec<String>> {
    use apollo_compiler::schema::ExtendedType;
    let names = match ty {
        ExtendedType::Object(object) => object.fields.keys().map(|n| n.to_string()).collect(),
        ExtendedType::Interface(interface) => {
            interface.fields.keys().map(|n| n.to_string()).collect()
        }
        _ => return None,
    };
    Some(names)
}

/// Whether `query` is a syntactically valid GraphQL document: what tells a
/// syntax error from a document async-graphql's parser refuses for a rule
/// of validation (two operations of one name, say).
pub fn is_valid_syntax(query: &str) -> bool {
    apollo_parser::Parser::new(query).parse().errors().len() == 0
}

/// The validator of the schema `ctx` runs, built once.
pub fn of_schema(
    slot: &std::sync::OnceLock<Result<Validator, String>>,
    suggestions: bool,
    sdl: impl FnOnce() -> String,
) -> Result<&Validator, ServerError> {
    slot.get_or_init(|| Validator::new(&sdl(), suggestions))
        .as_ref()
        .map_err(|why| {
            tracing::error!(%why, "the schema cannot be read for validation");
            ServerError::new(crate::error::INTERNAL_MESSAGE, None)
        })
}

#[cfg(test)]
mod tests;
