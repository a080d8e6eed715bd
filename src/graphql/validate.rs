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
}

impl Validator {
    /// Reads the schema's SDL (as async-graphql prints it).
    pub fn new(sdl: &str) -> Result<Validator, String> {
        Schema::parse_and_validate(sdl, "schema.graphql")
            .map(|schema| Validator { schema })
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
                let mut err = request_error(json.message, code);
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
        errors.extend(
            super::rules::check(&doc)
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

/// Whether `query` is a syntactically valid GraphQL document: what tells a
/// syntax error from a document async-graphql's parser refuses for a rule
/// of validation (two operations of one name, say).
pub fn is_valid_syntax(query: &str) -> bool {
    apollo_parser::Parser::new(query).parse().errors().len() == 0
}

/// The validator of the schema `ctx` runs, built once.
pub fn of_schema(
    slot: &std::sync::OnceLock<Result<Validator, String>>,
    sdl: impl FnOnce() -> String,
) -> Result<&Validator, ServerError> {
    slot.get_or_init(|| Validator::new(&sdl()))
        .as_ref()
        .map_err(|why| {
            tracing::error!(%why, "the schema cannot be read for validation");
            ServerError::new(crate::error::INTERNAL_MESSAGE, None)
        })
}

#[cfg(test)]
mod tests;
