//! The queries of `/api/v1/metrics/**` and their conversion to the metrics requests (a series' `step` parsed from
//! seconds or a duration).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use devopstrack_proto::metrics::v1 as pb;

use super::Measure;
use crate::error::ApiError;
use crate::routes::dto::timestamp;

/// `GET /api/v1/metrics/dora`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// Only this project (its slug); omitted: every project.
    #[param(value_type = Option<crate::openapi::contract::ProjectFilter>)]
    pub project: Option<String>,
    /// Only this environment; omitted: every environment.
    #[param(value_type = Option<crate::openapi::contract::EnvFilter>)]
    pub environment: Option<String>,
    /// RFC 3339; default: 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    pub to: Option<DateTime<Utc>>,
}

/// `GET /api/v1/metrics/series`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    pub measure: Measure,
    /// Only this project (its slug); omitted: every project.
    #[param(value_type = Option<crate::openapi::contract::ProjectFilter>)]
    pub project: Option<String>,
    /// Only this environment; omitted: every environment.
    #[param(value_type = Option<crate::openapi::contract::EnvFilter>)]
    pub environment: Option<String>,
    /// RFC 3339; default: 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    pub to: Option<DateTime<Utc>>,
    /// Bucket width: seconds (`3600`) or a duration (`15m`, `1h`, `1d`), 1 minute to 30 days; omitted: about 48
    /// buckets over the window.
    #[param(value_type = Option<crate::openapi::contract::SeriesStep>, example = "1h")]
    pub step: Option<String>,
}

impl SeriesQuery {
    pub fn into_proto(self) -> Result<pb::QuerySeriesRequest, ApiError> {
        let step_seconds = match self.step.as_deref() {
            None | Some("") => 0,
            Some(step) => parse_step(step).map_err(|why| ApiError::invalid(format!("step: {why}")))?,
        };
        Ok(pb::QuerySeriesRequest {
            measure: self.measure.to_proto() as i32,
            project: self.project.unwrap_or_default(),
            environment: self.environment.unwrap_or_default(),
            from: self.from.map(timestamp),
            to: self.to.map(timestamp),
            step_seconds,
        })
    }
}

/// `GET /api/v1/metrics/overview`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Only this project; omitted: every project.
    #[param(value_type = Option<crate::openapi::contract::ProjectFilter>)]
    pub project: Option<String>,
    /// Window of the DORA tiles and daily series, 1–90; omitted or 0: 30.
    #[param(maximum = 90)]
    pub days: Option<u32>,
}

/// `3600`, `90s`, `15m`, `1h`, `1d` → seconds, within 1 minute and 30 days.
fn parse_step(step: &str) -> Result<u32, String> {
    let (digits, unit) = match step.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => step.split_at(at),
        None => (step, "s"),
    };
    let count: u64 = digits
        .parse()
        .map_err(|_| format!("{step:?} is not a number of seconds or a duration like 15m, 1h, 1d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?} (use s, m, h or d)")),
    };
    let seconds = count.saturating_mul(unit);
    if !(60..=2_592_000).contains(&seconds) {
        return Err(format!("{step:?} must be between 1 minute and 30 days"));
    }
    Ok(seconds as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_as_seconds_or_durations_within_bounds() {
        for (input, expected) in [
            ("3600", Ok(3600)),
            ("15m", Ok(900)),
            ("1h", Ok(3600)),
            ("1d", Ok(86_400)),
        ] {
            assert_eq!(parse_step(input), expected, "{input}");
        }
        for bad in ["59", "1w", "h", "-5m", "99999999999999999999d", "31d", "1.5h"] {
            assert!(parse_step(bad).is_err(), "{bad} should be refused");
        }
    }
}
