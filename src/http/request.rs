//! Reading a GraphQL request from a JSON body or a query string, strictly:
//! wrong JSON types are refused (400), never coerced.

use async_graphql::{
    parser::{parse_query, types::OperationType},
    Request, Variables,
};
use serde_json::{Map, Value};

use crate::graphql::{documents::DocumentCache, lexer::count_tokens, variables::chosen};

pub(crate) fn request_from_json(value: Value) -> Result<Request, String> {
    let Value::Object(mut map) = value else {
        return Err("the body must be a JSON object".into());
    };
    let query = match map.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Err("query must be a string".into()),
        None => return Err("query is required".into()),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("operationName must be a string".into()),
    };
    let variables = object_or_null(map.remove("variables"), "variables")?;
    let extensions = object_or_null(map.remove("extensions"), "extensions")?;
    build_request(query, operation_name, variables, extensions)
}

pub(crate) fn request_from_params(params: Vec<(String, String)>) -> Result<Request, String> {
    let (mut query, mut operation_name, mut variables, mut extensions) = (None, None, None, None);
    for (key, value) in params {
        match key.as_str() {
            "query" => query = Some(value),
            "operationName" => operation_name = Some(value).filter(|v| !v.is_empty()),
            "variables" => variables = parse_param(&value, "variables")?,
            "extensions" => extensions = parse_param(&value, "extensions")?,
            _ => {}
        }
    }
    let query = query.ok_or("the query parameter is required")?;
    build_request(query, operation_name, variables, extensions)
}

fn parse_param(value: &str, what: &str) -> Result<Option<Map<String, Value>>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let parsed =
        serde_json::from_str(value).map_err(|e| format!("{what} is not valid JSON: {e}"))?;
    object_or_null(Some(parsed), what)
}

fn object_or_null(value: Option<Value>, what: &str) -> Result<Option<Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!("{what} must be an object")),
    }
}

fn build_request(
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
) -> Result<Request, String> {
    let mut request = Request::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    for (key, value) in extensions.unwrap_or_default() {
        let value =
            async_graphql::Value::from_json(value).map_err(|e| format!("extensions: {e}"))?;
        request.extensions.insert(key, value);
    }
    Ok(request)
}

/// Whether the operation a GET would run is a mutation. A document that does
/// not parse is left to the executor, which reports it properly; one parsed
/// before comes from `documents`.
pub(crate) fn is_mutation(request: &Request, max_tokens: usize, documents: &DocumentCache) -> bool {
    operation_type(request, max_tokens, documents) == Some(OperationType::Mutation)
}

/// The type of the operation `request` would run; `None` when the document
/// does not parse or names no single operation (the executor says why).
pub(crate) fn operation_type(
    request: &Request,
    max_tokens: usize,
    documents: &DocumentCache,
) -> Option<OperationType> {
    let name = request.operation_name.as_deref();
    if let Some(parsed) = documents.get(&request.query) {
        return chosen(&parsed.document, name).map(|op| op.node.ty);
    }
    if count_tokens(&request.query, max_tokens) > max_tokens {
        return None;
    }
    let doc = parse_query(&request.query).ok()?;
    chosen(&doc, name).map(|op| op.node.ty)
}
