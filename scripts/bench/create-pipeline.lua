-- wrk script: POST /api/v1/pipelines, a one-job no-op pipeline (simulate, 0 ms, no log lines) of project
-- $BENCH_PROJECT as the holder of $BENCH_TOKEN. At the end one machine-readable line for scripts/bench-throughput.sh:
-- requests, non-2xx/3xx answers, socket errors, the run's length and the latency percentiles (µs).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = string.format(
  '{"project":"%s","stages":[{"name":"build","jobs":[{"name":"noop","params":{"durationMs":0,"logLines":0}}]}]}',
  os.getenv("BENCH_PROJECT"))

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d status_errors=%d socket_errors=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max))
end
