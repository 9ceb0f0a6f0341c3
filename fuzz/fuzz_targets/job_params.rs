//! Job params: tasks' validation (`ExecutorSpec::parse`) and their trip over the wire as a `google.protobuf.Struct`
//! (the gateway's `json_to_struct`, tasks' `struct_to_value` and `value_to_struct`).
//!
//! Input: the first byte picks the executor name, the rest is the params' JSON. Invariants: a refusal names a field
//! under the job; accepted params, stored (`params_json`) and read again, are the same executor; params the gateway
//! could turn into a Struct are never too deep for tasks; and accepted params that crossed the wire either way are
//! still accepted, as the same executor.
#![no_main]

use devopstrack_gateway::fuzzing::json_to_struct;
use devopstrack_tasks::convert::{struct_to_value, value_to_struct};
use devopstrack_tasks::domain::spec::ExecutorSpec;
use libfuzzer_sys::fuzz_target;
use prost_types::value::Kind;
use serde_json::Value;

const EXECUTORS: [&str; 5] = ["", "simulate", "http", "external", "docker"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let Ok(params) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let executor = EXECUTORS[usize::from(pick) % EXECUTORS.len()];
    let parsed = ExecutorSpec::parse("job", executor, &params);
    match &parsed {
        Ok(spec) => {
            let stored = spec.params_json();
            let again = ExecutorSpec::parse("job", spec.kind().as_str(), &stored);
            assert_eq!(again.as_ref(), Ok(spec), "stored params {stored} read back the same");
        }
        Err(e) => assert!(e.path == "job.executor" || e.path.starts_with("job.params"), "{e}"),
    }

    // REST → gateway → tasks.
    if let Value::Object(map) = &params
        && let Ok(wire) = json_to_struct(map.clone(), "params")
    {
        let received = struct_to_value(&wire, 0);
        let received = received.unwrap_or_else(|e| panic!("the gateway sent params tasks refuses: {e}"));
        if let Ok(spec) = &parsed {
            assert_eq!(ExecutorSpec::parse("job", executor, &received).as_ref(), Ok(spec));
        }
    }

    // tasks → wire → tasks (the outbox and the event stream carry params this way).
    if let (Ok(spec), Some(Kind::StructValue(wire))) = (&parsed, value_to_struct(&params))
        && let Ok(back) = struct_to_value(&wire, 0)
    {
        assert_eq!(ExecutorSpec::parse("job", executor, &back).as_ref(), Ok(spec));
    }
});
