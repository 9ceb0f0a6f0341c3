//! Job `params`: a JSON object as the `google.protobuf.Struct` tasks stores, and back.

use prost_types::value::Kind;
use serde_json::{Map, Number, Value};

use crate::error::ApiError;

/// Deepest nesting of a job's `params`, the object itself being level 1 (no executor needs more; it bounds the work
/// of converting to and from protobuf).
pub const MAX_PARAMS_DEPTH: usize = 16;

/// A JSON object as a `Struct`; `path` names the field in errors.
pub fn json_to_struct(object: Map<String, Value>, path: &str) -> Result<prost_types::Struct, ApiError> {
    let mut fields = std::collections::BTreeMap::new();
    for (key, value) in object {
        fields.insert(key, json_to_value(value, 2, path)?);
    }
    Ok(prost_types::Struct { fields })
}

fn json_to_value(value: Value, depth: usize, path: &str) -> Result<prost_types::Value, ApiError> {
    let nested = |depth: usize| {
        if depth > MAX_PARAMS_DEPTH {
            Err(ApiError::invalid(format!(
                "{path}: nested deeper than {MAX_PARAMS_DEPTH} levels"
            )))
        } else {
            Ok(depth)
        }
    };
    let kind = match value {
        Value::Null => Kind::NullValue(prost_types::NullValue::NullValue as i32),
        Value::Bool(b) => Kind::BoolValue(b),
        // Struct numbers are doubles: integers beyond 2^53 lose precision (no executor takes such numbers).
        Value::Number(n) => Kind::NumberValue(
            n.as_f64()
                .ok_or_else(|| ApiError::invalid(format!("{path}: {n} is not a finite number")))?,
        ),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => {
            let depth = nested(depth)?;
            let values = items
                .into_iter()
                .map(|v| json_to_value(v, depth + 1, path))
                .collect::<Result<_, _>>()?;
            Kind::ListValue(prost_types::ListValue { values })
        }
        Value::Object(map) => {
            let depth = nested(depth)?;
            let mut fields = std::collections::BTreeMap::new();
            for (key, value) in map {
                fields.insert(key, json_to_value(value, depth + 1, path)?);
            }
            Kind::StructValue(prost_types::Struct { fields })
        }
    };
    Ok(prost_types::Value { kind: Some(kind) })
}

/// A `Struct` as a JSON object. Whole numbers within ±2^53 come back as integers (`800`, not `800.0`).
pub fn struct_to_json(s: prost_types::Struct) -> Map<String, Value> {
    s.fields.into_iter().map(|(k, v)| (k, value_to_json(v))).collect()
}

fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::NumberValue(n)) => number_to_json(n),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::ListValue(list)) => Value::Array(list.values.into_iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_json(s)),
    }
}

fn number_to_json(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= EXACT {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}
