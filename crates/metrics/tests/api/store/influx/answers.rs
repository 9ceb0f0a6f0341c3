//! Reads: the Flux the store sends and how it turns InfluxDB 2.7 annotated-CSV answers (pivoted tables, blocks
//! with different columns, defaults, nulls, quoted cells, error tables) into events.

use chrono::{DateTime, Utc};
use devopstrack_metrics::domain::{Event, JobRunStatus, Measurement, Source};
use devopstrack_metrics::store::{MetricsStore, ReadQuery, StoreError};

use super::mock_server::{MockInflux, Reply};
use super::requests::everything;
use super::{TOKEN_HEADER, at, change, deployment, incident, job_run, store_on};

/// Job runs of project `api` as InfluxDB 2.7 answers the read query for `[at(0), at(10))`: one block for the series
/// with an environment (table 0), one for the series without (table 1, no `environment` nor `queued_at_us`
/// column). `j1` (at 10 s) and `j6` (1 µs before 0 s) are in the whole seconds the query covers but outside the
/// range; rows are not in time order.
const JOB_RUNS: &str = "\
#group,false,false,true,true,false,true,true,true,false,false,false,false,false,false,false,false,false,false\r
#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,string,long,string,long,string,string,string,long,string,long,string\r
#default,_result,,,,,,,,,,,,,,,,,\r
,result,table,_start,_stop,_time,_measurement,environment,project,attempt,event_id,finished_at_us,job_id,job_name,pipeline_id,queued_at_us,source,started_at_us,status\r
,,0,2026-05-28T20:26:40Z,2026-05-28T20:26:51Z,2026-05-28T20:26:49.000000001Z,job_run,production,api,1,j5,1780000009123457,job-j5,build,pipe-1,1779999919123457,devopstrack,1779999949123457,succeeded\r
,,0,2026-05-28T20:26:40Z,2026-05-28T20:26:51Z,2026-05-28T20:26:45.5Z,job_run,production,api,1,j0,1780000005123457,job-j0,build,pipe-1,1779999915123457,devopstrack,1779999945123457,succeeded\r
,,0,2026-05-28T20:26:40Z,2026-05-28T20:26:51Z,2026-05-28T20:26:50.7Z,job_run,production,api,1,j1,1780000010123457,job-j1,build,pipe-1,1779999920123457,devopstrack,1779999950123457,succeeded\r
\r
#group,false,false,true,true,false,true,true,false,false,false,false,false,false,false,false,false\r
#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,long,string,long,string,string,string,string,long,string\r
#default,_result,,,,,,,,,,,,,,,\r
,result,table,_start,_stop,_time,_measurement,project,attempt,event_id,finished_at_us,job_id,job_name,pipeline_id,source,started_at_us,status\r
,,1,2026-05-28T20:26:40Z,2026-05-28T20:26:51Z,2026-05-28T20:26:45.9Z,job_run,api,3,j2,1780000005123457,job-j2,\"lint, \"\"strict\"\"\",pipe-1,github,1779999945123457,timed_out\r
,,1,2026-05-28T20:26:40Z,2026-05-28T20:26:51Z,2026-05-28T20:26:40.3Z,job_run,api,1,j6,1780000000123456,job-j6,build,pipe-1,devopstrack,1779999940123456,succeeded\r
\r
";

/// One pivoted block: the fixed leading columns, then `columns` (name, datatype); `project`/`environment` are in the
/// group key like InfluxDB marks tags. Rows are (table, cells after `_measurement`).
fn block(measurement: &str, columns: &[(&str, &str)], rows: &[(u32, Vec<&str>)]) -> String {
    let fixed = ["result", "table", "_start", "_stop", "_time", "_measurement"];
    let names: Vec<&str> = fixed.iter().copied().chain(columns.iter().map(|c| c.0)).collect();
    let types: Vec<&str> = [
        "string",
        "long",
        "dateTime:RFC3339",
        "dateTime:RFC3339",
        "dateTime:RFC3339",
        "string",
    ]
    .into_iter()
    .chain(columns.iter().map(|c| c.1))
    .collect();
    let group: Vec<&str> = names
        .iter()
        .map(|n| {
            if matches!(*n, "_start" | "_stop" | "_measurement" | "project" | "environment") {
                "true"
            } else {
                "false"
            }
        })
        .collect();
    let mut defaults = vec![""; names.len()];
    defaults[0] = "_result";
    let mut csv = format!(
        "#group,{}\r\n#datatype,{}\r\n#default,{}\r\n,{}\r\n",
        group.join(","),
        types.join(","),
        defaults.join(","),
        names.join(",")
    );
    for (table, cells) in rows {
        let time = "2026-05-28T20:26:40Z,2026-05-28T20:27:41Z,2026-05-28T20:26:41.000000002Z";
        csv.push_str(&format!(",,{table},{time},{measurement},{}\r\n", cells.join(",")));
    }
    csv + "\r\n"
}

#[tokio::test]
async fn job_runs_parse_from_blocks_of_different_columns_and_come_back_in_time_then_id_order() {
    let server = MockInflux::start(vec![Reply::csv(JOB_RUNS)]).await;
    let query = ReadQuery {
        project: Some("api".to_owned()),
        from: at(0),
        to: at(10),
        ..everything(Measurement::JobRun)
    };
    let events = store_on(&server.url).await.read(&query).await.expect("read");

    let mut j2 = job_run("j2", "api", "", at(5));
    if let Event::JobRun(j) = &mut j2 {
        (j.job_name, j.status, j.source, j.attempt, j.queued_at) = (
            "lint, \"strict\"".to_owned(),
            JobRunStatus::TimedOut,
            Source::Github,
            3,
            None,
        );
    }
    assert_eq!(
        events,
        vec![
            job_run("j0", "api", "production", at(5)),
            j2,
            job_run("j5", "api", "production", at(9))
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), Some(TOKEN_HEADER));
    assert_eq!(requests[0].header("accept"), Some("application/csv"));
    assert_eq!(
        requests[0].flux(),
        "from(bucket: \"devopstrack\")\n  \
         |> range(start: 2026-05-28T20:26:40Z, stop: 2026-05-28T20:26:51Z)\n  \
         |> filter(fn: (r) => r._measurement == \"job_run\")\n  \
         |> filter(fn: (r) => r.project == \"api\")\n  \
         |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n"
    );
}

#[tokio::test]
async fn deployments_read_null_cells_as_missing_times() {
    let (t, s, c) = (
        at(0).timestamp_micros(),
        at(-240).timestamp_micros(),
        at(-10_800).timestamp_micros(),
    );
    let (t, s, c) = (t.to_string(), s.to_string(), c.to_string());
    let csv = block(
        "deployment",
        &[
            ("project", "string"),
            ("commit_sha", "string"),
            ("commit_time_us", "long"),
            ("event_id", "string"),
            ("finished_at_us", "long"),
            ("pipeline_id", "string"),
            ("source", "string"),
            ("started_at_us", "long"),
            ("status", "string"),
            ("version", "string"),
        ],
        &[
            (
                0,
                vec![
                    "api",
                    "0123456789abcdef0123456789abcdef01234567",
                    &c,
                    "d1",
                    &t,
                    "pipe-9",
                    "github",
                    &s,
                    "rolled_back",
                    "2.5.0",
                ],
            ),
            (
                0,
                vec!["api", "", "", "d2", &t, "pipe-9", "github", "", "rolled_back", "2.5.0"],
            ),
        ],
    );
    let server = MockInflux::start(vec![Reply::csv(&csv)]).await;
    let query = ReadQuery {
        environment: Some(String::new()),
        ..everything(Measurement::Deployment)
    };
    let events = store_on(&server.url).await.read(&query).await.expect("read");

    let mut d2 = deployment("d2", "api", "", at(0));
    if let Event::Deployment(d) = &mut d2 {
        (d.commit_sha, d.commit_time, d.started_at) = (String::new(), None, None);
    }
    assert_eq!(events, vec![deployment("d1", "api", "", at(0)), d2]);
    let flux = server.requests()[0].flux();
    assert!(
        flux.contains("|> filter(fn: (r) => not exists r.environment)\n"),
        "{flux}"
    );
}

#[tokio::test]
async fn incidents_and_changes_parse_every_field() {
    let (opened, resolved) = (
        at(-600).timestamp_micros().to_string(),
        at(0).timestamp_micros().to_string(),
    );
    let incidents = block(
        "incident",
        &[
            ("environment", "string"),
            ("project", "string"),
            ("event_id", "string"),
            ("incident_id", "string"),
            ("opened_at_us", "long"),
            ("resolved_at_us", "long"),
            ("title", "string"),
            ("url", "string"),
        ],
        &[
            (
                0,
                vec![
                    "prod",
                    "web",
                    "i1",
                    "INC-7",
                    &opened,
                    "",
                    "API down",
                    "https://status.example.com/7",
                ],
            ),
            (
                0,
                vec![
                    "prod",
                    "web",
                    "i2",
                    "INC-7",
                    &opened,
                    &resolved,
                    "\"API \"\"down\"\"\nagain\"",
                    "",
                ],
            ),
        ],
    );
    let commit = at(1).timestamp_micros().to_string();
    let changes = block(
        "change",
        &[
            ("project", "string"),
            ("branch", "string"),
            ("commit_sha", "string"),
            ("commit_time_us", "long"),
            ("event_id", "string"),
            ("repository", "string"),
        ],
        &[(
            3,
            vec!["web", "main", "abc123", &commit, "c1", "https://github.com/acme/api"],
        )],
    );
    let server = MockInflux::start(vec![Reply::csv(&incidents), Reply::csv(&changes)]).await;
    let store = store_on(&server.url).await;

    let mut i2 = incident("i2", "web", "prod", at(-600));
    if let Event::Incident(i) = &mut i2 {
        (i.resolved_at, i.title, i.url) = (Some(at(0)), "API \"down\"\nagain".to_owned(), String::new());
    }
    let read = store
        .read(&everything(Measurement::Incident))
        .await
        .expect("read incidents");
    assert_eq!(
        read,
        vec![incident("i1", "web", "prod", at(-600)), i2],
        "filed under opened_at, then resolved_at"
    );
    let read = store
        .read(&everything(Measurement::Change))
        .await
        .expect("read changes");
    assert_eq!(read, vec![change("c1", "web", at(1))]);
}

#[tokio::test]
async fn an_empty_answer_reads_no_events_and_an_empty_range_asks_nothing() {
    let server = MockInflux::start(vec![Reply::csv("\r\n")]).await;
    let store = store_on(&server.url).await;
    assert_eq!(
        store.read(&everything(Measurement::Incident)).await.expect("read"),
        vec![]
    );
    let empty = ReadQuery {
        from: at(5),
        to: at(5),
        ..everything(Measurement::Incident)
    };
    assert_eq!(store.read(&empty).await.expect("read an empty range"), vec![]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_unbounded_range_is_clamped_to_what_influxdb_can_hold() {
    let server = MockInflux::start(vec![Reply::csv("\r\n")]).await;
    let all_time = ReadQuery {
        from: DateTime::<Utc>::MIN_UTC,
        to: DateTime::<Utc>::MAX_UTC,
        ..everything(Measurement::Change)
    };
    assert_eq!(store_on(&server.url).await.read(&all_time).await.expect("read"), vec![]);
    let flux = server.requests()[0].flux();
    assert!(
        flux.contains("range(start: 1677-09-21T00:12:44Z, stop: 2262-04-11T23:47:16Z)"),
        "{flux}"
    );
}

#[tokio::test]
async fn hostile_filter_values_stay_inside_flux_string_literals() {
    let server = MockInflux::start(vec![Reply::csv("\r\n")]).await;
    let query = ReadQuery {
        project: Some("x\") |> drop(columns: [\"_value\"]) // \\".to_owned()),
        environment: Some("${env}\n".to_owned()),
        ..everything(Measurement::Change)
    };
    store_on(&server.url).await.read(&query).await.expect("read");
    let flux = server.requests()[0].flux();
    assert!(
        flux.contains("r.project == \"x\\\") |> drop(columns: [\\\"_value\\\"]) // \\\\\")"),
        "{flux}"
    );
    assert!(flux.contains("r.environment == \"\\${env}\\n\")"), "{flux}");
}

#[tokio::test]
async fn an_error_table_in_a_200_answer_is_an_error() {
    let csv = "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n\
               ,\"runtime error @3:6-3:52: filter: memory allocation limit reached\",\r\n\r\n";
    let server = MockInflux::start(vec![Reply::csv(csv)]).await;
    match store_on(&server.url).await.read(&everything(Measurement::Change)).await {
        Err(StoreError::Influx(message)) => {
            assert_eq!(
                message,
                "read: query failed: runtime error @3:6-3:52: filter: memory allocation limit reached"
            );
        }
        other => panic!("expected a query error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_answers_and_corrupt_points_are_errors_not_panics() {
    let bad_status = block(
        "change",
        &[
            ("project", "string"),
            ("branch", "string"),
            ("commit_sha", "string"),
            ("commit_time_us", "long"),
            ("event_id", "string"),
            ("repository", "string"),
        ],
        &[(0, vec!["web", "main", "abc", "not-a-number", "c1", "r"])],
    );
    let missing_field = block(
        "change",
        &[("project", "string"), ("event_id", "string")],
        &[(0, vec!["web", "c1"])],
    );
    let server = MockInflux::start(vec![
        Reply::csv("<html>502 Bad Gateway</html>"),
        Reply::csv(&bad_status),
        Reply::csv(&missing_field),
    ])
    .await;
    let store = store_on(&server.url).await;
    let query = everything(Measurement::Change);
    let read = || store.read(&query);
    assert!(matches!(read().await, Err(StoreError::Influx(m)) if m.contains("unreadable query answer")));
    assert!(matches!(read().await, Err(StoreError::Influx(m)) if m.contains("\"not-a-number\" is not a long")));
    assert!(matches!(read().await, Err(StoreError::Corrupt(m)) if m.contains("commit_sha is missing")));
}
