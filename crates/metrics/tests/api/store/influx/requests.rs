//! What the InfluxDB store sends, checked byte for byte against the mock server, and how it fails.

use std::time::Duration;

use devopstrack_metrics::domain::{Event, Measurement};
use devopstrack_metrics::store::influx::InfluxStore;
use devopstrack_metrics::store::{MetricsStore, ReadQuery, StoreError};

use super::mock_server::{MockInflux, Recorded, Reply};
use super::{TOKEN_HEADER, at, change, deployment, incident, job_run, point_time_ns, settings, store_on};

/// The answer to "which of these ids are stored": none.
const NO_ROWS: &str = "\r\n";

fn existing_ids_answer(ids: &[&str]) -> String {
    let mut csv = "#datatype,string,long,string\r\n#group,false,false,false\r\n#default,_result,,\r\n\
                   ,result,table,_value\r\n"
        .to_owned();
    for id in ids {
        csv.push_str(&format!(",,0,{id}\r\n"));
    }
    csv + "\r\n"
}

fn assert_write(request: &Recorded, body: &str) {
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/api/v2/write")
    );
    let query: Vec<(&str, &str)> = request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(query, [("bucket", "devopstrack"), ("org", "acme"), ("precision", "ns")]);
    assert_eq!(request.header("authorization"), Some(TOKEN_HEADER));
    assert_eq!(request.body, body);
}

fn assert_query(request: &Recorded) -> String {
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/api/v2/query")
    );
    assert_eq!(request.query.get("org").map(String::as_str), Some("acme"));
    assert_eq!(request.query.len(), 1, "{:?}", request.query);
    assert_eq!(request.header("authorization"), Some(TOKEN_HEADER));
    assert_eq!(request.header("accept"), Some("application/csv"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    request.flux()
}

/// The message of a refusal that retrying will not fix (`StoreError::Influx`).
fn influx_error(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Influx(message)) => {
            assert!(!message.contains("s3cret"), "the token leaked into {message:?}");
            message
        }
        other => panic!("expected StoreError::Influx, got {other:?}"),
    }
}

/// [`unavailable`] when `retryable`, else [`influx_error`].
fn error_of(result: Result<impl std::fmt::Debug, StoreError>, retryable: bool) -> String {
    if retryable {
        unavailable(result)
    } else {
        influx_error(result)
    }
}

/// The message of an error worth retrying (`StoreError::Unavailable`: the service answers UNAVAILABLE).
fn unavailable(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(!message.contains("s3cret"), "the token leaked into {message:?}");
            message
        }
        other => panic!("expected StoreError::Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn append_writes_escaped_line_protocol_per_kind_with_nanosecond_keys() {
    let server = MockInflux::start(vec![
        Reply::csv(NO_ROWS),
        Reply::csv(NO_ROWS),
        Reply::csv(NO_ROWS),
        Reply::no_content(),
    ])
    .await;
    let mut job = job_run("j1", "acme api,v=2", "prod eu", at(0));
    if let Event::JobRun(j) = &mut job {
        j.job_name = "test \"unit\" \\ fast".to_owned();
        j.queued_at = None;
    }
    let events = [
        job.clone(),
        deployment("d1", "api", "production", at(1)),
        change("c1", "api", at(2)),
        job,
    ];
    store_on(&server.url).await.append(&events).await.expect("append");

    let requests = server.requests();
    assert_eq!((requests.len(), server.unused_replies()), (4, 0), "{requests:#?}");
    let flux = assert_query(&requests[0]);
    assert!(
        flux.contains("r._measurement == \"job_run\" and r._field == \"event_id\""),
        "{flux}"
    );
    assert!(
        flux.contains("set: [\"j1\"]"),
        "the duplicate in the batch is asked about once: {flux}"
    );
    assert!(
        flux.contains("range(start: 2026-05-28T20:26:40Z, stop: 2026-05-28T20:26:41Z)"),
        "{flux}"
    );
    let (t0, t1, t2) = (
        at(0).timestamp_micros(),
        at(1).timestamp_micros(),
        at(2).timestamp_micros(),
    );
    let expected = [
        format!(
            "job_run,project=acme\\ api\\,v\\=2,environment=prod\\ eu event_id=\"j1\",pipeline_id=\"pipe-1\",\
             job_id=\"job-j1\",job_name=\"test \\\"unit\\\" \\\\ fast\",status=\"succeeded\",source=\"devopstrack\",\
             attempt=1i,started_at_us={}i,finished_at_us={t0}i {}",
            t0 - 60_000_000,
            point_time_ns("j1", at(0))
        ),
        format!(
            "deployment,project=api,environment=production event_id=\"d1\",status=\"rolled_back\",\
             version=\"2.5.0\",commit_sha=\"0123456789abcdef0123456789abcdef01234567\",commit_time_us={}i,\
             started_at_us={}i,finished_at_us={t1}i,pipeline_id=\"pipe-9\",source=\"github\",rollback=0i {}",
            t1 - 3 * 3_600_000_000,
            t1 - 240_000_000,
            point_time_ns("d1", at(1))
        ),
        format!(
            "change,project=api event_id=\"c1\",commit_sha=\"abc123\",commit_time_us={t2}i,\
             repository=\"https://github.com/acme/api\",branch=\"main\" {}",
            point_time_ns("c1", at(2))
        ),
    ];
    assert_write(&requests[3], &expected.join("\n"));
}

#[tokio::test]
async fn events_already_stored_are_not_written_again() {
    let server = MockInflux::start(vec![
        Reply::csv(&existing_ids_answer(&["c1", "c3"])),
        Reply::no_content(),
    ])
    .await;
    let store = store_on(&server.url).await;
    let batch = [
        change("c1", "api", at(0)),
        change("c2", "api", at(5)),
        change("c3", "api", at(9)),
    ];
    store.append(&batch).await.expect("append");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let flux = assert_query(&requests[0]);
    assert!(flux.contains("set: [\"c1\", \"c2\", \"c3\"]"), "{flux}");
    assert!(
        flux.contains("stop: 2026-05-28T20:26:50Z"),
        "the last event's whole second is included: {flux}"
    );
    assert!(
        requests[1].body.starts_with("change,project=api event_id=\"c2\""),
        "{}",
        requests[1].body
    );
    assert_eq!(requests[1].body.lines().count(), 1);

    let all_stored = MockInflux::start(vec![Reply::csv(&existing_ids_answer(&["c1"]))]).await;
    store_on(&all_stored.url)
        .await
        .append(&batch[..1])
        .await
        .expect("append a stored event");
    assert_eq!(
        all_stored.requests().len(),
        1,
        "nothing left to write, no write request"
    );
}

#[tokio::test]
async fn large_batches_are_split_into_requests_of_5000_lines() {
    let mut replies = vec![Reply::csv(NO_ROWS); 6];
    replies.extend([Reply::no_content(), Reply::no_content()]);
    let server = MockInflux::start(replies).await;
    let batch: Vec<Event> = (0..5_001).map(|i| change(&format!("c{i}"), "api", at(i))).collect();
    store_on(&server.url).await.append(&batch).await.expect("append");

    let requests = server.requests();
    assert_eq!(requests.len(), 8, "6 queries of at most 1,000 ids, then 2 writes");
    assert_eq!(server.unused_replies(), 0);
    let writes: Vec<usize> = requests[6..].iter().map(|r| r.body.lines().count()).collect();
    assert_eq!(writes, [5_000, 1]);
    assert!(requests[7].body.starts_with("change,project=api event_id=\"c5000\""));
}

#[tokio::test]
async fn an_event_that_cannot_be_stored_fails_the_batch_before_any_request() {
    let server = MockInflux::start(vec![]).await;
    let store = store_on(&server.url).await;
    let message = influx_error(
        store
            .append(&[change("ok", "api", at(0)), change("bad", "a\\b", at(1))])
            .await,
    );
    assert!(
        message.contains("project of event bad") && message.contains("backslash"),
        "{message}"
    );
    assert_eq!(server.requests().len(), 0);
}

#[tokio::test]
async fn error_statuses_become_errors_with_status_and_message_and_429_or_503_are_unavailable() {
    let cases = [
        (
            400,
            r#"{"code":"invalid","message":"unable to parse 'job_run x': missing fields"}"#,
            "HTTP 400: unable to parse",
        ),
        (
            401,
            r#"{"code":"unauthorized","message":"unauthorized access"}"#,
            "HTTP 401: unauthorized access",
        ),
        (
            404,
            r#"{"code":"not found","message":"bucket \"devopstrack\" not found"}"#,
            "HTTP 404: bucket",
        ),
        (413, "request too large", "HTTP 413: request too large"),
        (
            429,
            r#"{"code":"too many requests","message":"org over quota"}"#,
            "HTTP 429: org over",
        ),
        (
            500,
            r#"{"code":"internal error","message":"engine: closed"}"#,
            "HTTP 500: engine: closed",
        ),
        (
            503,
            r#"{"code":"unavailable","message":"service unavailable"}"#,
            "HTTP 503: service",
        ),
    ];
    for (status, body, expected) in cases {
        let retryable = matches!(status, 429 | 503);
        let writes = MockInflux::start(vec![Reply::csv(NO_ROWS), Reply::json(status, body)]).await;
        let message = error_of(
            store_on(&writes.url).await.append(&[change("c1", "api", at(0))]).await,
            retryable,
        );
        assert!(
            message.contains("append (write): ") && message.contains(expected),
            "{status}: {message}"
        );

        let reads = MockInflux::start(vec![Reply::json(status, body)]).await;
        let message = error_of(
            store_on(&reads.url).await.read(&everything(Measurement::Change)).await,
            retryable,
        );
        assert!(
            message.contains("read: ") && message.contains(expected),
            "{status}: {message}"
        );
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_not_a_panic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    drop(listener);
    let store = store_on(&url).await;
    for message in [
        unavailable(store.append(&[change("c1", "api", at(0))]).await),
        unavailable(store.read(&everything(Measurement::Change)).await),
        unavailable(store.ping().await),
    ] {
        assert!(message.contains("InfluxDB unreachable"), "{message}");
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let store = store_on(&url).await.with_request_timeout(Duration::from_millis(300));
    for message in [
        unavailable(store.read(&everything(Measurement::Change)).await),
        unavailable(store.ping().await),
    ] {
        assert!(message.contains("no answer within 300ms"), "{message}");
    }
    drop(listener);
}

#[tokio::test]
async fn ping_asks_health_and_needs_a_passing_status() {
    let pass = r#"{"name":"influxdb","message":"ready for queries and writes","status":"pass","checks":[],
                   "version":"v2.7.11","commit":"fbf5d4ab5e"}"#;
    let fail = r#"{"name":"influxdb","message":"bolt: database not open","status":"fail","checks":[]}"#;
    let server = MockInflux::start(vec![Reply::json(200, pass), Reply::json(503, fail)]).await;
    let store = store_on(&server.url).await;
    store.ping().await.expect("a passing health check");
    let message = unavailable(store.ping().await);
    assert!(message.contains("not healthy: bolt: database not open"), "{message}");
    let requests = server.requests();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/health")
    );

    let plain = MockInflux::start(vec![Reply::csv("OK")]).await;
    influx_error(store_on(&plain.url).await.ping().await);
}

#[tokio::test]
async fn without_a_token_no_authorization_header_is_sent() {
    let server = MockInflux::start(vec![Reply::csv(NO_ROWS), Reply::csv(NO_ROWS), Reply::no_content()]).await;
    let store = InfluxStore::connect(&super::InfluxSettings {
        token: None,
        ..settings(&server.url)
    })
    .await
    .expect("connect");
    store.read(&everything(Measurement::Incident)).await.expect("read");
    store.append(&[incident("i1", "api", "", at(0))]).await.expect("append");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests.iter().all(|r| r.header("authorization").is_none()),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn settings_are_checked_at_connect() {
    let cases = [
        (settings("ftp://influx:8086"), "scheme ftp is not http(s)"),
        (settings("not a url"), "InfluxDB URL"),
        (
            super::InfluxSettings {
                bucket: " ".to_owned(),
                ..settings("http://127.0.0.1:8086")
            },
            "bucket is empty",
        ),
        (
            super::InfluxSettings {
                org: String::new(),
                ..settings("http://127.0.0.1:8086")
            },
            "org is empty",
        ),
    ];
    for (settings, expected) in cases {
        let err = InfluxStore::connect(&settings).await.expect_err(expected);
        assert!(err.to_string().contains(expected), "{err}");
    }
    let https = InfluxStore::connect(&settings("https://influx.example.com")).await;
    assert_eq!(https.is_ok(), cfg!(feature = "influxdb-tls"), "{https:?}");
}

pub fn everything(measurement: Measurement) -> ReadQuery {
    ReadQuery {
        measurement,
        project: None,
        environment: None,
        from: at(-3_600),
        to: at(3_600),
    }
}
