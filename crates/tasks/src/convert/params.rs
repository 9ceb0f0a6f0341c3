//! Job params between JSON (what the domain keeps) and protobuf's `Struct` (what the wire carries), bounded in depth
//! against hostile input.

use prost_types::{ListValue, Struct, value::Kind};
use serde_json::{Map, Number, Value};

/// Deepest JSON nesting accepted in job params (a bound on recursion for hostile input).
pub const MAX_PARAMS_DEPTH: usize = 16;

/// A protobuf Struct as JSON. Numbers that are whole become integers (protobuf has only doubles).
pub fn struct_to_value(s: &Struct, depth: usize) -> Result<Value, String> {
    if depth > MAX_PARAMS_DEPTH {
        return Err(format!("nested deeper than {MAX_PARAMS_DEPTH} levels"));
    }
    let mut map = Map::new();
    for (k, v) in &s.fields {
        map.insert(k.clone(), kind_to_value(v.kind.as_ref(), depth + 1)?);
    }
    Ok(Value::Object(map))
}

fn kind_to_value(kind: Option<&Kind>, depth: usize) -> Result<Value, String> {
    if depth > MAX_PARAMS_DEPTH {
        return Err(format!("nested deeper than {MAX_PARAMS_DEPTH} levels"));
    }
    Ok(match kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::NumberValue(n)) => {
            if !n.is_finite() {
                return Err("numbers must be finite".into());
            }
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::Number(Number::from(*n as i64))
            } else {
                Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        Some(Kind::StructValue(s)) => struct_to_value(s, depth)?,
        Some(Kind::ListValue(l)) => Value::Array(
            l.values
                .iter()
                .map(|v| kind_to_value(v.kind.as_ref(), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// JSON as a protobuf value kind (objects become Struct).
pub fn value_to_struct(v: &Value) -> Option<Kind> {
    Some(match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(ListValue {
            values: a
                .iter()
                .map(|v| prost_types::Value {
                    kind: value_to_struct(v),
                })
                .collect(),
        }),
        Value::Object(m) => Kind::StructValue(Struct {
            fields: m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        prost_types::Value {
                            kind: value_to_struct(v),
                        },
                    )
                })
                .collect(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_survive_a_round_trip_through_struct() {
        let v = json!({"durationMs": 800, "failRate": 0.25, "tags": ["a", null, true], "nested": {"k": "v"}});
        let Some(Kind::StructValue(s)) = value_to_struct(&v) else {
            panic!("an object becomes a Struct")
        };
        assert_eq!(struct_to_value(&s, 0).unwrap(), v);
    }

    #[test]
    fn deep_nesting_and_non_finite_numbers_are_refused() {
        let mut v = json!(1);
        for _ in 0..40 {
            v = json!({ "x": v });
        }
        let Some(Kind::StructValue(s)) = value_to_struct(&v) else {
            panic!("an object becomes a Struct")
        };
        assert!(struct_to_value(&s, 0).unwrap_err().contains("nested"));
        let nan = Struct {
            fields: [(
                "n".to_owned(),
                prost_types::Value {
                    kind: Some(Kind::NumberValue(f64::NAN)),
                },
            )]
            .into(),
        };
        assert!(struct_to_value(&nan, 0).unwrap_err().contains("finite"));
    }
}
