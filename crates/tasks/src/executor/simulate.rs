//! The `simulate` executor: a job that only takes time, writes CI-looking log lines and sometimes fails. It is the
//! default executor, for demos and load tests, so its zero path (`durationMs: 0, logLines: 0`) returns without a
//! timer, an allocation or a log line: the benchmark runs thousands of those jobs a second.

use std::time::Duration;

use rand::Rng;
use tokio::time::{Instant, sleep_until};

use super::{Cancelled, RunContext, cancelled};
use crate::domain::Outcome;
use crate::domain::spec::{MAX_SIMULATE_DURATION_MS, MAX_SIMULATE_LOG_LINES, SimulateParams};

/// How far a run's duration strays from `durationMs`, either way: real jobs never take the same time twice.
const JITTER: f64 = 0.25;

/// What the log lines say, step after step (cycled when there are more lines than steps).
const STEPS: &[&str] = &[
    "Checking out sources at HEAD",
    "Restoring dependency cache (hit)",
    "Resolving dependencies: 214 packages",
    "Compiling 38 crates",
    "Running unit tests: 412 passed, 0 failed",
    "Running integration tests: 57 passed, 0 failed",
    "Running linters: no warnings",
    "Building container image (6 layers)",
    "Pushing artifact to registry",
    "Saving dependency cache",
];

/// Why a failing run failed, picked at random; the job's failure reason names it.
const FAILURES: &[&str] = &[
    "test suite failed: 3 of 412 tests failed",
    "process exited with code 137 (out of memory)",
    "dependency download timed out after 60s",
    "linter reported 2 errors",
    "image push rejected by registry (HTTP 503)",
];

/// The rolls of one run, made up front so that no `ThreadRng` (not `Send`) lives across an await.
struct Plan {
    duration: Duration,
    failure: Option<&'static str>,
}

impl Plan {
    fn roll(params: &SimulateParams) -> Self {
        let duration_ms = params.duration_ms.min(MAX_SIMULATE_DURATION_MS);
        let fails = params.fail_rate > 0.0;
        if duration_ms == 0 && !fails {
            return Plan {
                duration: Duration::ZERO,
                failure: None,
            };
        }
        let mut rng = rand::thread_rng();
        let duration = if duration_ms == 0 {
            Duration::ZERO
        } else {
            let factor = 1.0 - JITTER + 2.0 * JITTER * rng.r#gen::<f64>();
            Duration::from_secs_f64(duration_ms as f64 * factor / 1000.0)
        };
        // `gen::<f64>()` is in [0, 1): a rate of 1 always fails, 0 never does, and a NaN never does (no panic).
        let failure =
            (fails && rng.r#gen::<f64>() < params.fail_rate).then(|| FAILURES[rng.gen_range(0..FAILURES.len())]);
        Plan { duration, failure }
    }

    fn outcome(&self) -> Outcome {
        match self.failure {
            None => Outcome::Succeeded,
            Some(failure) => Outcome::Failed {
                reason: format!("simulated failure: {failure}"),
            },
        }
    }
}

pub(super) async fn run(params: &SimulateParams, ctx: &RunContext) -> Outcome {
    if ctx.cancel.is_cancelled() {
        return cancelled();
    }
    let plan = Plan::roll(params);
    let lines = params.log_lines.min(MAX_SIMULATE_LOG_LINES) as u32;
    if plan.duration.is_zero() && lines == 0 {
        return plan.outcome();
    }
    match run_steps(&plan, lines, ctx).await {
        Ok(()) => plan.outcome(),
        Err(Cancelled) => cancelled(),
    }
}

/// Writes line `n` of `lines` at `n/lines` of the duration, so the last one lands at the end; without lines, sleeps.
async fn run_steps(plan: &Plan, lines: u32, ctx: &RunContext) -> Result<(), Cancelled> {
    let start = Instant::now();
    if lines == 0 {
        return ctx.guard(sleep_until(start + plan.duration)).await;
    }
    for n in 1..=lines {
        if !plan.duration.is_zero() {
            ctx.guard(sleep_until(start + plan.duration * n / lines)).await?;
        }
        ctx.say(line(&ctx.job_name, n, lines, plan.failure)).await?;
    }
    Ok(())
}

/// `[build 3/10] Resolving dependencies: 214 packages`; a failing run's last line is its error.
fn line(job: &str, n: u32, lines: u32, failure: Option<&str>) -> String {
    match failure {
        Some(failure) if n == lines => format!("[{job} {n}/{lines}] ERROR: {failure}"),
        _ => {
            let step = STEPS[(n as usize - 1) % STEPS.len()];
            format!("[{job} {n}/{lines}] {step}")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::FutureExt;
    use tokio::time::Instant;

    use super::*;
    use crate::executor::test_support::{context, drain};

    fn params(duration_ms: u64, fail_rate: f64, log_lines: u64) -> SimulateParams {
        SimulateParams {
            duration_ms,
            fail_rate,
            log_lines,
        }
    }

    #[test]
    fn durations_spread_uniformly_within_25_percent_of_duration_ms() {
        let rolls: Vec<f64> = (0..2000)
            .map(|_| Plan::roll(&params(1000, 0.0, 0)).duration.as_secs_f64() * 1000.0)
            .collect();
        let (min, max) = rolls
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &d| (lo.min(d), hi.max(d)));
        let mean = rolls.iter().sum::<f64>() / rolls.len() as f64;

        assert!(min >= 750.0 && max <= 1250.0, "{min}..{max}");
        assert!(min < 800.0 && max > 1200.0, "not spread over the range: {min}..{max}");
        assert!((mean - 1000.0).abs() < 25.0, "{mean}");
    }

    #[test]
    fn a_fail_rate_of_one_half_fails_about_half_the_runs() {
        let failures = (0..2000)
            .filter(|_| Plan::roll(&params(0, 0.5, 0)).failure.is_some())
            .count();

        assert!((850..=1150).contains(&failures), "{failures} of 2000");
    }

    #[tokio::test]
    async fn a_zero_duration_job_without_lines_completes_on_its_first_poll_and_logs_nothing() {
        let (ctx, mut rx) = context("noop");

        let outcome = run(&params(0, 0.0, 0), &ctx).now_or_never();

        assert_eq!(outcome, Some(Outcome::Succeeded));
        assert!(drain(&mut rx).is_empty());
    }

    #[tokio::test]
    async fn fail_rate_one_always_fails_naming_the_simulated_failure_and_zero_never_fails() {
        let (ctx, _rx) = context("build");
        for _ in 0..50 {
            assert_eq!(run(&params(0, 0.0, 0), &ctx).await, Outcome::Succeeded);
            match run(&params(0, 1.0, 0), &ctx).await {
                Outcome::Failed { reason } => {
                    assert!(reason.starts_with("simulated failure: "), "{reason}");
                    assert!(FAILURES.iter().any(|f| reason.ends_with(f)), "{reason}");
                }
                other => panic!("expected a failure, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn writes_exactly_log_lines_lines_naming_the_job_and_the_step() {
        let (ctx, mut rx) = context("unit-tests");

        let outcome = run(&params(0, 0.0, 25), &ctx).await;

        let lines = drain(&mut rx);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(lines.len(), 25);
        for (i, line) in lines.iter().enumerate() {
            assert!(line.starts_with(&format!("[unit-tests {}/25] ", i + 1)), "{line}");
        }
    }

    #[tokio::test]
    async fn a_failing_run_still_writes_every_line_and_ends_with_its_error() {
        let (ctx, mut rx) = context("lint");

        let outcome = run(&params(0, 1.0, 3), &ctx).await;

        let lines = drain(&mut rx);
        assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
        assert_eq!(lines.len(), 3);
        assert!(lines[2].starts_with("[lint 3/3] ERROR: "), "{}", lines[2]);
    }

    #[tokio::test]
    async fn the_duration_is_drawn_around_duration_ms_and_lines_are_spread_over_it() {
        let (ctx, mut rx) = context("deploy");
        let start = Instant::now();

        let outcome = run(&params(200, 0.0, 4), &ctx).await;

        let took = start.elapsed();
        assert_eq!(outcome, Outcome::Succeeded);
        // At least 200 ms - 25% (timers never fire early); at most 250 ms plus generous slack for a busy machine.
        assert!(took >= Duration::from_millis(150), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
        assert_eq!(drain(&mut rx).len(), 4);
    }

    #[tokio::test]
    async fn lines_arrive_as_the_run_progresses_not_all_at_the_end() {
        let (ctx, mut rx) = context("deploy");
        let start = Instant::now();
        let collector = tokio::spawn(async move {
            let mut at = Vec::new();
            while rx.recv().await.is_some() {
                at.push(start.elapsed());
            }
            at
        });

        run(&params(300, 0.0, 3), &ctx).await;
        drop(ctx);

        let at = collector.await.unwrap();
        assert_eq!(at.len(), 3);
        // Line 1 is due at a third of 225..375 ms, line 3 at the end.
        assert!(
            at[0] >= Duration::from_millis(70) && at[0] < Duration::from_millis(200),
            "{at:?}"
        );
        assert!(at[2] >= Duration::from_millis(225), "{at:?}");
    }

    #[tokio::test]
    async fn cancellation_stops_a_long_run_at_once() {
        let (ctx, mut rx) = context("slow");
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            cancel.cancel();
        });
        let start = Instant::now();

        let outcome = run(&params(60_000, 0.0, 10), &ctx).await;

        assert_eq!(outcome, cancelled());
        assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
        assert!(drain(&mut rx).is_empty(), "the first line was due after 6 s");
    }

    #[tokio::test]
    async fn an_already_cancelled_attempt_does_not_start() {
        let (ctx, mut rx) = context("noop");
        ctx.cancel.cancel();

        assert_eq!(run(&params(0, 0.0, 5), &ctx).now_or_never(), Some(cancelled()));
        assert!(drain(&mut rx).is_empty());
    }

    #[tokio::test]
    async fn a_worker_that_stops_reading_the_log_does_not_block_cancellation() {
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let (mut ctx, _unused) = context("chatty");
        ctx.log = super::super::LogSink::new(tx);
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            cancel.cancel();
        });

        let outcome = tokio::time::timeout(Duration::from_secs(2), run(&params(0, 0.0, 100), &ctx)).await;

        assert_eq!(outcome, Ok(cancelled()), "blocked on a full log channel");
    }
}
