//! The two Flux queries the store sends, built from typed inputs. Every caller-supplied string (bucket, project,
//! environment, event ids) goes through [`string_literal`]; times are RFC 3339 literals formatted here.
//!
//! Points sit at their event's whole second plus a hash in the sub-second digits (see `line_protocol`), so a range
//! over event times `[from, to)` reads the whole seconds `[⌊from⌋, ⌊to⌋ + 1s)` and the caller keeps the events whose
//! exact time (from the fields) is in `[from, to)`. Flux `range` excludes its `stop`, like the trait.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::domain::Measurement;

/// The Flux string literal for `value`: quoted, with `\`, `"`, `${` (interpolation) and control line breaks escaped.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Flux time literal (RFC 3339, UTC, nanoseconds).
fn time_literal(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The whole seconds holding the points of events timed in `[from, to)`: `[⌊from⌋, ⌊to⌋ + 1s)`.
pub fn point_range(from: DateTime<Utc>, to: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let stop = floor_second(to)
        .checked_add_signed(TimeDelta::seconds(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (floor_second(from), stop)
}

fn floor_second(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time)
}

/// `r.tag == "value"`, or `not exists r.tag` for the empty value (empty tags are not written).
fn tag_predicate(tag: &str, value: &str) -> String {
    if value.is_empty() {
        format!("not exists r.{tag}")
    } else {
        format!("r.{tag} == {}", string_literal(value))
    }
}

/// What the read query selects.
#[derive(Debug, Clone, Copy)]
pub struct ReadSpec<'a> {
    pub bucket: &'a str,
    pub measurement: Measurement,
    pub project: Option<&'a str>,
    pub environment: Option<&'a str>,
    /// Point range (see [`point_range`]).
    pub start: DateTime<Utc>,
    pub stop: DateTime<Utc>,
}

/// One row per point with every field as a column: range, measurement and tag filters, then pivot.
pub fn read_query(spec: &ReadSpec<'_>) -> String {
    let mut query = format!(
        "from(bucket: {})\n  |> range(start: {}, stop: {})\n  |> filter(fn: (r) => r._measurement == {})\n",
        string_literal(spec.bucket),
        time_literal(spec.start),
        time_literal(spec.stop),
        string_literal(spec.measurement.as_str()),
    );
    for (tag, value) in [("project", spec.project), ("environment", spec.environment)] {
        if let Some(value) = value {
            query.push_str(&format!("  |> filter(fn: (r) => {})\n", tag_predicate(tag, value)));
        }
    }
    query.push_str("  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n");
    query
}

/// The `event_id` values among `ids` already stored in `measurement` within the point range `[start, stop)`: one
/// `_value` column.
pub fn existing_ids_query(
    bucket: &str,
    measurement: Measurement,
    start: DateTime<Utc>,
    stop: DateTime<Utc>,
    ids: &[&str],
) -> String {
    let set = ids.iter().map(|id| string_literal(id)).collect::<Vec<_>>().join(", ");
    format!(
        "from(bucket: {})\n  |> range(start: {}, stop: {})\n  \
         |> filter(fn: (r) => r._measurement == {} and r._field == \"event_id\")\n  \
         |> filter(fn: (r) => contains(value: r._value, set: [{set}]))\n  \
         |> keep(columns: [\"_value\"])\n",
        string_literal(bucket),
        time_literal(start),
        time_literal(stop),
        string_literal(measurement.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    #[test]
    fn string_literals_cannot_be_broken_out_of() {
        let cases = [
            ("api", r#""api""#),
            (r#"a" or true or "b"#, r#""a\" or true or \"b""#),
            (r"back\slash\", r#""back\\slash\\""#),
            ("${secret}", r#""\${secret}""#),
            ("cost $5 {x}", r#""cost $5 {x}""#),
            ("two\nlines\r\tx", r#""two\nlines\r\tx""#),
            ("", r#""""#),
        ];
        for (raw, literal) in cases {
            assert_eq!(string_literal(raw), literal, "for {raw:?}");
        }
    }

    #[test]
    fn point_range_covers_whole_seconds_of_the_event_range() {
        let (start, stop) = point_range(at(1_500_000), at(3_000_000));
        assert_eq!((start, stop), (at(1_000_000), at(4_000_000)));
        let (start, stop) = point_range(at(-1_500_000), at(0));
        assert_eq!((start, stop), (at(-2_000_000), at(1_000_000)));
        let (start, stop) = point_range(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            (start.timestamp(), stop),
            (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC)
        );
    }

    #[test]
    fn read_query_filters_tags_with_escaped_literals_and_pivots() {
        let spec = ReadSpec {
            bucket: "devops\"track",
            measurement: Measurement::Deployment,
            project: Some("api\") or (r) => true //"),
            environment: Some(""),
            start: at(1_000_000),
            stop: at(2_000_123),
        };
        assert_eq!(
            read_query(&spec),
            "from(bucket: \"devops\\\"track\")\n  \
             |> range(start: 1970-01-01T00:00:01Z, stop: 1970-01-01T00:00:02.000123Z)\n  \
             |> filter(fn: (r) => r._measurement == \"deployment\")\n  \
             |> filter(fn: (r) => r.project == \"api\\\") or (r) => true //\")\n  \
             |> filter(fn: (r) => not exists r.environment)\n  \
             |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n"
        );
        let everything = read_query(&ReadSpec {
            project: None,
            environment: None,
            ..spec
        });
        assert!(
            !everything.contains("r.project") && !everything.contains("r.environment"),
            "{everything}"
        );
        let staging = read_query(&ReadSpec {
            environment: Some("staging"),
            ..spec
        });
        assert!(
            staging.contains("|> filter(fn: (r) => r.environment == \"staging\")\n"),
            "{staging}"
        );
    }

    #[test]
    fn existing_ids_query_lists_the_ids_as_a_set() {
        let query = existing_ids_query("b", Measurement::JobRun, at(0), at(1_000_000), &["e1", "e\"2"]);
        assert!(
            query.contains("r._measurement == \"job_run\" and r._field == \"event_id\""),
            "{query}"
        );
        assert!(
            query.contains("contains(value: r._value, set: [\"e1\", \"e\\\"2\"])"),
            "{query}"
        );
        assert!(query.ends_with("|> keep(columns: [\"_value\"])\n"), "{query}");
    }
}
