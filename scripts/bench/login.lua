-- wrk script: POST /api/v1/auth/login with the credentials from the environment. (wrk itself reports any
-- "Non-2xx or 3xx responses", so an error-fast run cannot pass for a fast one.)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
