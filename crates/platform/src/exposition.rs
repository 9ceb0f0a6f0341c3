//! The Prometheus text format (version 0.0.4) of an OpenMetrics exposition, for the scrapers and tools that read only
//! that format (`promtool check metrics`, older agents). `prometheus-client` writes OpenMetrics, where a counter's
//! family is named without `_total` and the text ends with `# EOF`; in 0.0.4 the family is named as its sample.
//!
//! The admin port answers OpenMetrics to a client that asks for it (Prometheus does) and 0.0.4 to anyone else, the
//! content negotiation Prometheus' own client libraries do.

/// The `Content-Type` of [`to_text_004`]'s output.
pub const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The `Content-Type` of the OpenMetrics exposition.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// True when an `Accept` header value lists OpenMetrics.
pub fn accepts_openmetrics(accept: &str) -> bool {
    accept
        .split(',')
        .any(|part| part.trim().starts_with("application/openmetrics-text"))
}

/// Rewrites an OpenMetrics exposition as Prometheus text 0.0.4: counter families take their samples' `_total` name,
/// `info` families become gauges named `_info`, `unknown` becomes `untyped`, `# UNIT` and `# EOF` lines go, and
/// counters' `_created` samples (which 0.0.4 has no place for) are dropped.
pub fn to_text_004(openmetrics: &str) -> String {
    let mut renamed: Vec<(String, String, &'static str)> = Vec::new();
    for line in openmetrics.lines() {
        if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|rest| rest.split_once(' ')) {
            match kind {
                "counter" => renamed.push((name.to_owned(), format!("{name}_total"), "counter")),
                "info" => renamed.push((name.to_owned(), format!("{name}_info"), "gauge")),
                "unknown" => renamed.push((name.to_owned(), name.to_owned(), "untyped")),
                _ => {}
            }
        }
    }
    let family = |name: &str| renamed.iter().find(|(old, _, _)| old == name);
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let name = family(name).map_or(name, |(_, new, _)| new.as_str());
            out.push_str(&format!("# HELP {name} {help}\n"));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            match family(name) {
                Some((_, new, kind)) => out.push_str(&format!("# TYPE {new} {kind}\n")),
                None => out.push_str(&format!("# TYPE {name} {kind}\n")),
            }
            continue;
        }
        let sample = line.split(['{', ' ']).next().unwrap_or_default();
        let created_counter = sample
            .strip_suffix("_created")
            .and_then(family)
            .is_some_and(|(_, _, kind)| *kind == "counter");
        if created_counter {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETRICS_TEXT: &str = "\
# HELP jobs Jobs finished.
# TYPE jobs counter
jobs_total{status=\"failed\"} 3
jobs_created{status=\"failed\"} 1700000000.0
# HELP wait_seconds Wait.
# TYPE wait_seconds histogram
# UNIT wait_seconds seconds
wait_seconds_sum 1.5
wait_seconds_count 2
wait_seconds_bucket{le=\"+Inf\"} 2
# HELP build Build.
# TYPE build info
build_info{version=\"1\"} 1
# HELP depth Depth.
# TYPE depth gauge
depth 4
# EOF
";

    #[test]
    fn counters_take_their_total_name_and_openmetrics_only_lines_go() {
        let text = to_text_004(OPENMETRICS_TEXT);
        assert_eq!(
            text,
            "\
# HELP jobs_total Jobs finished.
# TYPE jobs_total counter
jobs_total{status=\"failed\"} 3
# HELP wait_seconds Wait.
# TYPE wait_seconds histogram
wait_seconds_sum 1.5
wait_seconds_count 2
wait_seconds_bucket{le=\"+Inf\"} 2
# HELP build_info Build.
# TYPE build_info gauge
build_info{version=\"1\"} 1
# HELP depth Depth.
# TYPE depth gauge
depth 4
"
        );
    }

    #[test]
    fn openmetrics_is_chosen_only_when_the_client_lists_it() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(accepts_openmetrics(prometheus));
        assert!(!accepts_openmetrics("*/*"));
        assert!(!accepts_openmetrics("text/plain"));
    }
}
