//! A call's arguments checked against its tool's JSON Schema: a JSON object
//! that the schema accepts. The schemas of MCP servers come from outside, so
//! they are bounded in size when stored and compiled without fetching
//! anything (no remote `$ref`).

use serde_json::Value;

/// Largest input schema accepted from an MCP server, in bytes of JSON.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Largest arguments of one call, in bytes of JSON.
pub const MAX_ARGUMENTS_BYTES: usize = 16 * 1024;

/// Whether `schema` is a JSON Schema this server can check arguments against.
pub fn usable_schema(schema: &Value) -> Result<(), String> {
    if serde_json::to_vec(schema).map_or(usize::MAX, |b| b.len()) > MAX_SCHEMA_BYTES {
        return Err(format!("its input schema is over {MAX_SCHEMA_BYTES} bytes"));
    }
    if !schema.is_object() {
        return Err("its input schema is not a JSON object".into());
    }
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| format!("its input schema is not a valid JSON Schema: {e}"))
}

/// Checks `arguments` for the tool `name` with `schema`; the error says what is wrong.
pub fn check(name: &str, schema: &Value, arguments: &Value) -> Result<(), String> {
    if !arguments.is_object() {
        return Err(format!("the arguments of {name} must be a JSON object"));
    }
    if serde_json::to_vec(arguments).map_or(usize::MAX, |b| b.len()) > MAX_ARGUMENTS_BYTES {
        return Err(format!(
            "the arguments of {name} are over {MAX_ARGUMENTS_BYTES} bytes"
        ));
    }
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("{name} has an unusable input schema: {e}"))?;
    validator.validate(arguments).map_err(|e| {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/".to_owned() } else { at };
        format!("the arguments of {name} do not match its schema at {at}: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": { "query": { "type": "string", "minLength": 1 } },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    #[test]
    fn arguments_that_match_the_schema_pass() {
        assert_eq!(check("s", &schema(), &json!({ "query": "launch" })), Ok(()));
    }

    #[test]
    fn arguments_that_do_not_match_say_where() {
        let missing = check("s", &schema(), &json!({})).unwrap_err();
        assert!(missing.contains("query"), "{missing}");
        let wrong = check("s", &schema(), &json!({ "query": 3 })).unwrap_err();
        assert!(wrong.contains("/query"), "{wrong}");
        let extra = check("s", &schema(), &json!({ "query": "a", "x": 1 })).unwrap_err();
        assert!(extra.contains("s do not match"), "{extra}");
        assert!(check("s", &schema(), &json!(["query"])).is_err());
        let huge = json!({ "query": "x".repeat(MAX_ARGUMENTS_BYTES) });
        assert!(check("s", &schema(), &huge).unwrap_err().contains("bytes"));
    }

    #[test]
    fn schemas_from_outside_are_bounded_and_must_compile() {
        assert!(usable_schema(&schema()).is_ok());
        assert!(usable_schema(&json!("string")).is_err());
        assert!(usable_schema(&json!({ "type": 12 })).is_err());
        let big = json!({ "description": "x".repeat(MAX_SCHEMA_BYTES) });
        assert!(usable_schema(&big).is_err());
    }
}
