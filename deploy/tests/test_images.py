"""deploy/docker/Dockerfile, parsed: the workspace compiles once for every target, each runtime image is distroless
nonroot with a numeric uid, and the environment the images set agrees with the manifests (the gateway's dashboard
directory is where the dashboard is copied). hadolint lints it separately (scripts/test-deploy.sh)."""

import re
import unittest

import deployment as d

STAGES = d.dockerfile_stages()


def problems_of(stages):
    problems = []
    builds = [line for stage in stages.values() for line in stage["lines"] if re.match(r"RUN .*cargo build", line)]
    if len(builds) != 1:
        problems.append(f"{len(builds)} `cargo build` steps (want one, shared by every target)")
    elif not all(f"--bin {b}" in builds[0] for b in d.SERVICES.values()):
        problems.append("the one cargo build does not build every service binary")
    if not any("cargo chef cook" in line for stage in stages.values() for line in stage["lines"]):
        problems.append("no cargo-chef cook step (the dependency layer cache)")
    for target, binary in d.SERVICES.items():
        stage = stages.get(target)
        if stage is None:
            problems.append(f"no target {target}")
            continue
        base = stages.get(stage["from"], {}).get("from", stage["from"])
        if "distroless" not in base:
            problems.append(f"{target}: runs on {base}, not distroless")
        if not re.fullmatch(r"\d+:\d+", stage["user"] or "") or stage["user"].startswith("0"):
            problems.append(f"{target}: USER {stage['user']!r} is not a numeric non-root uid:gid")
        if not any(line == f'ENTRYPOINT ["/usr/local/bin/{binary}"]' for line in stage["lines"]):
            problems.append(f"{target}: its entrypoint is not /usr/local/bin/{binary}")
        if not any(f'"/usr/local/bin/{binary}", "healthcheck"' in line for line in stage["lines"]):
            problems.append(f"{target}: no HEALTHCHECK through `{binary} healthcheck`")
        for key, value in stage["env"].items():
            if key.endswith("_ADDR") and not value.startswith("0.0.0.0:"):
                problems.append(f"{target}: {key}={value} does not listen on every interface")
    gateway = stages.get("gateway", {"env": {}, "copies": []})
    dashboard = gateway["env"].get("DEVOPSTRACK_GATEWAY__DASHBOARD_DIR")
    if not any(src.endswith("dist") and dst == dashboard for src, dst in gateway["copies"]):
        problems.append(f"gateway: DEVOPSTRACK_GATEWAY__DASHBOARD_DIR={dashboard} is not where the dashboard is copied")
    return problems


class DockerfileTests(unittest.TestCase):
    def test_the_dockerfile_compiles_once_and_ships_one_distroless_nonroot_image_per_service(self):
        self.assertEqual(problems_of(STAGES), [])

    def test_base_images_are_pinned_by_version(self):
        bases = [stage["from"] for stage in STAGES.values() if stage["from"] not in STAGES]
        self.assertEqual(len(bases), 3, bases)  # Rust, Node, distroless
        for image in bases:
            with self.subTest(image=image):
                self.assertRegex(image, r":[\w.-]*\d[\w.-]*$|:nonroot$|@sha256:[0-9a-f]{64}$")
                self.assertNotRegex(image, r":latest$|^\$")

    def test_a_second_compile_or_a_root_user_or_a_moved_dashboard_is_reported(self):
        text = d.DOCKERFILE.read_text()
        broken = d.dockerfile_stages(text.replace("FROM runtime AS metrics",
                                                  "FROM builder AS metrics\nRUN cargo build -p devopstrack-metrics"))
        self.assertIn("2 `cargo build` steps (want one, shared by every target)", problems_of(broken))
        broken = d.dockerfile_stages(text.replace("USER 65532:65532", "USER nonroot"))
        self.assertTrue(any("is not a numeric non-root uid" in p for p in problems_of(broken)))
        broken = d.dockerfile_stages(text.replace("/frontend/dist /app/dashboard", "/frontend/dist /srv/dashboard"))
        self.assertTrue(any("is not where the dashboard is copied" in p for p in problems_of(broken)))


class DockerignoreTests(unittest.TestCase):
    def test_build_output_dependencies_data_and_secrets_stay_out_of_the_context(self):
        ignored = {line.strip() for line in (d.ROOT / ".dockerignore").read_text().splitlines()}
        for entry in ("target/", "node_modules/", "**/node_modules/", ".devopstrack/", ".venv/", ".git/",
                      "deploy/", ".env"):
            with self.subTest(entry=entry):
                self.assertIn(entry, ignored)


if __name__ == "__main__":
    unittest.main()
