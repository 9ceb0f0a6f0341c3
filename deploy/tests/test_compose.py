"""deploy/compose.yml, parsed (check-jsonschema validates it against the compose spec separately, and test_config.py
loads every DevOpsTrack container's environment through its real settings loader)."""

import re
import unittest

import yaml

import deployment as d
import policy

RAW = yaml.safe_load(d.COMPOSE.read_text())
SECRET_LIKE = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|_KEK$|DATABASE_URL|CLIENTS__")


def problems_of(raw):
    problems = []
    services = raw["services"]
    volumes = set(raw.get("volumes") or {})
    for name, service in services.items():
        image = service.get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        if not tag or tag == "latest":
            problems.append(f"{name}: image {image!r} is not pinned by tag")
        if service.get("restart") != "unless-stopped":
            problems.append(f"{name}: restart is not unless-stopped")
        if not service.get("healthcheck"):
            problems.append(f"{name}: no healthcheck")
        if not (((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory"):
            problems.append(f"{name}: no memory limit")
        for dependency, condition in (service.get("depends_on") or {}).items():
            if (condition or {}).get("condition") != "service_healthy":
                problems.append(f"{name}: depends on {dependency} without condition service_healthy")
        for port in service.get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port} is not bound to 127.0.0.1")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith((".", "/")) and not volume.endswith(":ro"):
                problems.append(f"{name}: bind mount {volume} is writable")
            elif not source.startswith((".", "/")) and source not in volumes:
                problems.append(f"{name}: volume {source} is not a declared named volume")
        for key, value in (service.get("environment") or {}).items():
            if SECRET_LIKE.search(key) and not str(value).startswith("${"):
                problems.append(f"{name}: {key} is written in compose.yml instead of read from .env")
        target = d.image_target(image)
        if target:
            binary = d.SERVICES[target]
            if service.get("healthcheck", {}).get("test") != ["CMD", f"/usr/local/bin/{binary}", "healthcheck"]:
                problems.append(f"{name}: healthcheck is not `{binary} healthcheck`")
            if service.get("read_only") is not True:
                problems.append(f"{name}: root filesystem is not read-only")
            if (service.get("build") or {}).get("target") != target:
                problems.append(f"{name}: builds target {(service.get('build') or {}).get('target')!r}, not {target}")
        if image.startswith("redis:"):
            problems += policy.redis_flags_problems(name, " ".join(service.get("command") or []))
    worker = services.get("tasks-worker") or {}
    if (worker.get("deploy") or {}).get("replicas") != 2 or worker.get("command") != ["--role", "worker"]:
        problems.append("tasks-worker: not two replicas of `--role worker`")
    if services.get("gateway", {}).get("ports") != ["127.0.0.1:8080:8080"]:
        problems.append("gateway: not published on 127.0.0.1:8080")
    return problems


class ComposeTests(unittest.TestCase):
    def test_every_service_is_pinned_healthchecked_limited_and_started_in_order(self):
        self.assertEqual(problems_of(RAW), [])

    def test_a_loose_compose_file_is_reported(self):
        text = d.COMPOSE.read_text()
        for old, new, expected in (
            ('"127.0.0.1:8080:8080"', '"8080:8080"', "gateway: port 8080:8080 is not bound to 127.0.0.1"),
            ("image: redis:7.4.6-bookworm", "image: redis:latest", "redis: image 'redis:latest' is not pinned"),
            ("postgres: {condition: service_healthy}", "postgres: {condition: service_started}",
             "auth: depends on postgres without condition service_healthy"),
            ("--appendfsync everysec", "--appendfsync no", "redis: redis-server is not started with --appendfsync"),
            ("POSTGRES_PASSWORD: \"${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set: run scripts/gen-env.sh "
             "deploy/.env}\"", "POSTGRES_PASSWORD: hunter2", "POSTGRES_PASSWORD is written in compose.yml"),
        ):
            with self.subTest(expected=expected):
                self.assertTrue(old in text, old)
                problems = problems_of(yaml.safe_load(text.replace(old, new, 1)))
                self.assertTrue(any(expected in p for p in problems), f"{expected!r} not in {problems}")


class EnvFileTests(unittest.TestCase):
    def test_the_example_env_file_lists_exactly_the_keys_gen_env_writes_and_no_value(self):
        example = d.read_env_file(d.DEPLOY / ".env.example")
        self.assertEqual(sorted(example), sorted(d.generated_secrets()))
        self.assertEqual({k: v for k, v in example.items() if v}, {})

    def test_every_variable_compose_requires_is_a_key_gen_env_writes(self):
        required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", d.COMPOSE.read_text()))
        self.assertEqual(required - set(d.generated_secrets()), set())


if __name__ == "__main__":
    unittest.main()
