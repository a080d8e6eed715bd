//! From a document's text to a document that may run: every check that
//! depends on the text alone, cheapest first, each linear in the text.
//!
//! 1. The token count, before parsing.
//! 2. The syntax (a syntax error is GRAPHQL_PARSE_FAILED; a document that is
//!    valid syntax but breaks a rule async-graphql's parser enforces, such
//!    as two operations of one name, is GRAPHQL_VALIDATION_FAILED).
//! 3. The alias and directive counts, as written, and no U+0000 in a string.
//! 4. The fragments measured (see [`super::expansion`]): a cycle is refused,
//!    then the expanded size, the field depth and the nesting against their
//!    limits. Nothing before this point expands a fragment.
//! 5. Validation, every rule of the spec (see [`super::validate`]).
//!
//! A document over a limit gets one error and goes no further. What passes
//! may be kept by its text (see [`super::documents`]): nothing here depends
//! on the variables or the caller.

use std::sync::Arc;

use async_graphql::{parser::Error as SyntaxError, ServerError, ServerResult};

use super::{
    documents::Parsed,
    expansion::{self, Unmeasurable},
    lexer::count_tokens,
    limits::{request_error, PARSE_FAILED, VALIDATION_FAILED},
    shape::{check_shape, refuse_nul_literals, within},
    validate::{is_valid_syntax, Validator},
};
use crate::config::Limits;

/// How deep selection sets of any kind (fields, inline fragments and the
/// fragments spreads bring in) may nest: what bounds the recursion of every
/// pass over a document, the executor's included.
pub const MAX_NESTING: usize = 64;

/// The document `query` is, if it may run.
pub fn admit(query: &str, limits: &Limits, validator: &Validator) -> ServerResult<Arc<Parsed>> {
    within(
        count_tokens(query, limits.max_tokens),
        limits.max_tokens,
        "tokens or more",
    )?;
    let document =
        async_graphql::parser::parse_query(query).map_err(|e| refusal_of_parse(query, e))?;
    check_shape(&document, limits)?;
    refuse_nul_literals(&document)?;
    let measure = match expansion::of_document(&document) {
        Ok(measure) => measure,
        Err(Unmeasurable::Cycle(name)) => {
            let message = format!("Cannot spread fragment \"{name}\" within itself.");
            return Err(request_error(message, VALIDATION_FAILED));
        }
    };
    within(
        measure.selections,
        limits.max_selections,
        "selections once its fragments are expanded",
    )?;
    within(measure.depth, limits.max_depth, "levels of nested fields")?;
    within(
        measure.nesting,
        MAX_NESTING,
        "levels of nested selections, fragments included",
    )?;
    validator.validate(query).map_err(first_of)?;
    let mut document = document;
    super::subscription_root::write_out(&mut document);
    Ok(Arc::new(Parsed::new(query, document, measure)))
}

/// A request error carries its first problem (every one of them, when they
/// are several of validation, joined into one list would be no clearer).
fn first_of(mut errors: Vec<ServerError>) -> ServerError {
    errors.swap_remove(0)
}

/// Why async-graphql's parser refused `query`: a syntax error, or valid
/// syntax that breaks a rule of validation the parser enforces.
fn refusal_of_parse(query: &str, err: SyntaxError) -> ServerError {
    if !is_valid_syntax(query) {
        let position = err
            .positions()
            .next()
            .map(|pos| format!(" at line {}, column {}", pos.line, pos.column))
            .unwrap_or_default();
        let expected = match &err {
            SyntaxError::Syntax { message, .. } => {
                message.rsplit("= ").next().unwrap_or("").trim().to_owned()
            }
            other => other.to_string(),
        };
        let mut refusal =
            request_error(format!("Syntax error{position}: {expected}"), PARSE_FAILED);
        refusal.locations = err.positions().take(1).collect();
        return refusal;
    }
    let message = match &err {
        SyntaxError::MultipleOperations { .. } => {
            "This anonymous operation must be the only defined operation.".to_owned()
        }
        SyntaxError::OperationDuplicated { operation, .. } => {
            format!("There can be only one operation named \"{operation}\".")
        }
        SyntaxError::FragmentDuplicated { fragment, .. } => {
            format!("There can be only one fragment named \"{fragment}\".")
        }
        SyntaxError::MissingOperation => "The document defines no operation.".to_owned(),
        SyntaxError::RecursionLimitExceeded => format!(
            "the document has more than {MAX_NESTING} levels of nested selections, fragments included; at most {MAX_NESTING} are allowed"
        ),
        // Valid GraphQL that async-graphql's grammar does not take: type
        // definitions in a request (5.1.1, Executable Definitions), or a
        // directive on a variable definition (no directive of this schema
        // may stand there: 5.7.2).
        _ => "The document holds what is not executable here: only operations and fragments are, and no directive may stand on a variable definition.".to_owned(),
    };
    let mut refusal = request_error(message, VALIDATION_FAILED);
    refusal.locations = err.positions().take(1).collect();
    refusal
}

#[cfg(test)]
mod tests;
