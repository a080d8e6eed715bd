//! `JsonText<T>`: a column holding JSON as text, typed in Rust.
//!
//! The text is kept as written (keys in the order they were given), which a
//! PostgreSQL `jsonb` column would not do, and which older versions already
//! stored; so the column type is unchanged and no migration is needed. A row
//! whose text is not a `T` is a database error, never a silent default.

use sea_orm::{
    sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr},
    ColIdx, DbErr, QueryResult, TryGetError, TryGetable, Value,
};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonText<T>(pub T);

impl<T> std::ops::Deref for JsonText<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize> From<JsonText<T>> for Value {
    fn from(json: JsonText<T>) -> Value {
        let text = serde_json::to_string(&json.0).expect("a column's JSON value serializes");
        Value::String(Some(text))
    }
}

impl<T: DeserializeOwned> TryGetable for JsonText<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        let text = String::try_get_by(res, index)?;
        serde_json::from_str(&text)
            .map(JsonText)
            .map_err(|e| TryGetError::DbErr(DbErr::Type(format!("a JSON column holds {e}"))))
    }
}

impl<T: DeserializeOwned> ValueType for JsonText<T> {
    fn try_from(value: Value) -> Result<Self, ValueTypeErr> {
        match value {
            Value::String(Some(text)) => serde_json::from_str(&text)
                .map(JsonText)
                .map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "JsonText".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        ColumnType::Text
    }
}

impl<T> Nullable for JsonText<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: Serialize> sea_orm::IntoActiveValue<JsonText<T>> for JsonText<T> {
    fn into_active_value(self) -> sea_orm::ActiveValue<JsonText<T>> {
        sea_orm::ActiveValue::set(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_stored_as_its_text_with_its_keys_in_order() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"zeta":1,"alpha":[true]}"#).unwrap();
        let stored = Value::from(JsonText(value.clone()));
        assert_eq!(
            stored,
            Value::String(Some(r#"{"zeta":1,"alpha":[true]}"#.to_owned()))
        );
        let read: JsonText<serde_json::Value> = ValueType::try_from(stored).unwrap();
        assert_eq!(read.0, value);
    }

    #[test]
    fn text_that_is_not_the_type_does_not_read() {
        let stored = Value::String(Some(r#"{"not":"a list"}"#.to_owned()));
        assert!(<JsonText<Vec<String>> as ValueType>::try_from(stored).is_err());
        assert!(<JsonText<Vec<String>> as ValueType>::try_from(Value::String(None)).is_err());
    }
}
