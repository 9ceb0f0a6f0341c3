"""The configuration cross-check: every DevOpsTrack container of a render (or of compose) gets an environment that its
service's real settings loader accepts (`<binary> [args] check-config`: figment with deny_unknown_fields, then the
service's own validation), holds what a production deployment needs, agrees with the other containers (issuer,
audience, client secrets, store credentials), and names peers that exist with the port they listen on.

The seed's manifest shipped auth and tasks with different JWT variable names and tokens were refused across services;
each function below answers the problems it finds as one line each, so that a test can show it also fails.
"""

import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import deployment as d

BIN_DIR = Path(os.environ.get("DEVOPSTRACK_BIN_DIR", d.ROOT / "target" / "debug")).resolve()

# What each service must be given in production (beyond its defaults), by settings key.
REQUIRED = {
    "auth": ["DATABASE_URL", "ISSUER", "AUDIENCE", "SIGNING_KEY_KEK", "SERVICE_CLIENTS__GATEWAY",
             "SERVICE_CLIENTS__TASKS"],
    "projects": ["DATABASE_URL", "AUTH_URL", "ISSUER", "AUDIENCE", "SECRETS_KEY"],
    "tasks": ["DATABASE_URL", "AUTH_URL", "PROJECTS_URL", "METRICS_URL", "ISSUER", "AUDIENCE", "CLIENT_ID",
              "CLIENT_SECRET"],
    "metrics": ["DATABASE_URL", "AUTH_URL", "ISSUER", "AUDIENCE", "INFLUX_TOKEN"],
    "gateway": ["AUTH_URL", "PROJECTS_URL", "TASKS_URL", "METRICS_URL", "ISSUER", "AUDIENCE", "CLIENT_ID",
                "CLIENT_SECRET", "DASHBOARD_DIR", "ADMIN_ADDR"],
}
# The production store of each service (by URL scheme): never the embedded SQLite in a container.
STORE_SCHEMES = {"auth": ("postgres",), "projects": ("mongodb",), "tasks": ("redis",), "metrics": ("http", "https")}
# Which listen-address setting serves which named container port.
LISTEN = {"grpc": "GRPC_ADDR", "admin": "ADMIN_ADDR", "http": "HTTP_ADDR"}


def prefix(service):
    return f"DEVOPSTRACK_{service.upper()}__"


def setting(env, service, key):
    return env.get(prefix(service) + key)


# --- the real loader -------------------------------------------------------------------------------------------------

def image_paths(service, env, workdir):
    """Paths that exist only inside the image, mapped to a local stand-in with the same content shape: the gateway's
    dashboard directory (the Dockerfile copies the built dashboard there) becomes a directory holding index.html."""
    env = dict(env)
    if service == "gateway" and setting(env, "gateway", "DASHBOARD_DIR"):
        stand_in = Path(workdir) / "dashboard"
        stand_in.mkdir(exist_ok=True)
        (stand_in / "index.html").write_text("<html></html>")
        env[prefix("gateway") + "DASHBOARD_DIR"] = str(stand_in)
    return env


_KNOWS_CHECK_CONFIG = {}


def binary_for(service):
    """The service's binary, once it is known to answer `check-config` (an older build would start serving instead)."""
    binary = BIN_DIR / d.SERVICES[service]
    if binary not in _KNOWS_CHECK_CONFIG:
        help_text = ""
        if binary.exists():
            help_text = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30,
                                       env={"PATH": "/usr/bin:/bin"}).stdout
        _KNOWS_CHECK_CONFIG[binary] = "check-config" in help_text
    if not _KNOWS_CHECK_CONFIG[binary]:
        raise RuntimeError(f"{binary} is missing or too old to answer check-config: build it first "
                           f"(scripts/test-deploy.sh does)")
    return binary


def check_config(service, args, env):
    """(ok, message) of `<binary> [args] check-config` run with exactly `env` (nothing inherited)."""
    binary = binary_for(service)
    with tempfile.TemporaryDirectory() as workdir:
        run_env = image_paths(service, env, workdir)
        run_env.setdefault("PATH", "/usr/bin:/bin")
        done = subprocess.run([str(binary), *args, "check-config"], env=run_env, cwd=workdir,
                              capture_output=True, text=True, timeout=30)
    message = (done.stderr or done.stdout).strip()
    return done.returncode == 0, message


def check_loader(label, service, args, env, pending):
    """The container's environment through the real loader, without the pending variables; and each pending
    variable must still be refused (once the binary accepts it, its line in pending-settings.txt must go)."""
    problems = []
    present = sorted(k for k in env if k in pending)
    base = {k: v for k, v in env.items() if k not in pending}
    ok, message = check_config(service, args, base)
    if not ok:
        problems.append(f"{label}: {d.SERVICES[service]} check-config refused its environment: {message}")
        return problems
    for key in present:
        ok, _ = check_config(service, args, {**base, key: env[key]})
        if ok:
            problems.append(f"{label}: {key} is accepted by {d.SERVICES[service]} now: delete it from "
                            f"deploy/tests/pending-settings.txt")
    return problems


# --- what production needs, and agreement between containers ---------------------------------------------------------

def check_required(label, service, env):
    problems = []
    for key in REQUIRED[service]:
        if not setting(env, service, key):
            problems.append(f"{label}: {prefix(service)}{key} is not set")
    url = setting(env, service, "DATABASE_URL")
    if service in STORE_SCHEMES and url and urlsplit(url).scheme not in STORE_SCHEMES[service]:
        problems.append(f"{label}: {prefix(service)}DATABASE_URL is {urlsplit(url).scheme}://, not its production "
                        f"store ({'/'.join(STORE_SCHEMES[service])})")
    if service == "auth" and not env.get("DEVOPSTRACK_ADMIN_PASSWORD"):
        problems.append(f"{label}: DEVOPSTRACK_ADMIN_PASSWORD is not set: no first admin")
    for key, value in env.items():
        if key.startswith(prefix(service)) and key.endswith("_ADDR") and not value.startswith("0.0.0.0:"):
            problems.append(f"{label}: {key}={value} does not listen on every interface")
    return problems


def check_agreement(containers):
    """`containers`: [(label, service, env)]. Tokens, client secrets and the JWT claims must match across services."""
    problems = []
    by_service = {}
    for label, service, env in containers:
        by_service.setdefault(service, []).append((label, env))
    for claim in ("ISSUER", "AUDIENCE"):
        values = {(label, setting(env, service, claim)) for label, service, env in containers}
        if len({v for _, v in values}) > 1:
            problems.append(f"{claim.lower()} differs across services: " +
                            ", ".join(f"{label}={value}" for label, value in sorted(values)))
    for label, auth in by_service.get("auth", []):
        for caller in ("gateway", "tasks"):
            for caller_label, env in by_service.get(caller, []):
                client = setting(env, caller, "CLIENT_ID")
                expected = setting(auth, "auth", f"SERVICE_CLIENTS__{(client or '').upper()}")
                if expected is None:
                    problems.append(f"{caller_label}: client id {client!r} has no secret at auth "
                                    f"({prefix('auth')}SERVICE_CLIENTS__{(client or '').upper()})")
                elif setting(env, caller, "CLIENT_SECRET") != expected:
                    problems.append(f"{caller_label}: {prefix(caller)}CLIENT_SECRET is not {label}'s "
                                    f"{prefix('auth')}SERVICE_CLIENTS__{client.upper()}")
    return problems


def check_store_credentials(containers, stores):
    """Each service's store URL carries the user, password, database (or token, org, bucket) its store was set up
    with. `stores`: {name: env of the store container}."""
    problems = []
    for label, service, env in containers:
        url = setting(env, service, "DATABASE_URL") or ""
        parts = urlsplit(url)
        host = parts.hostname
        store = stores.get(host)
        if store is None:
            continue  # a managed store outside the deployment; the peer check reports unknown in-cluster names
        if service == "auth":
            want = (store.get("POSTGRES_USER"), store.get("POSTGRES_PASSWORD"), store.get("POSTGRES_DB"))
            got = (parts.username, parts.password, parts.path.lstrip("/"))
        elif service == "projects":
            want = (store.get("MONGO_INITDB_ROOT_USERNAME"), store.get("MONGO_INITDB_ROOT_PASSWORD"))
            got = (parts.username, parts.password)
        elif service == "tasks":
            want, got = (store.get("REDIS_PASSWORD"),), (parts.password,)
        elif service == "metrics":
            want = (store.get("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"), store.get("DOCKER_INFLUXDB_INIT_ORG"),
                    store.get("DOCKER_INFLUXDB_INIT_BUCKET"))
            got = (setting(env, "metrics", "INFLUX_TOKEN"), setting(env, "metrics", "INFLUX_ORG"),
                   setting(env, "metrics", "INFLUX_BUCKET"))
        else:
            continue
        if want != got:
            problems.append(f"{label}: {prefix(service)}DATABASE_URL (or its credentials) does not match what "
                            f"store {host!r} is set up with")
    return problems


def peer_urls(service, env):
    """(variable, host, port) of every URL setting of the service."""
    out = []
    for key, value in env.items():
        if key.startswith(prefix(service)) and key.endswith("_URL") and value:
            parts = urlsplit(value)
            default = {"http": 80, "https": 443}.get(parts.scheme)
            out.append((key, parts.hostname, parts.port or default))
    return out


def listen_port(service, env, key):
    value = setting(env, service, key) or ""
    return int(value.rsplit(":", 1)[1]) if ":" in value else None


# --- Kubernetes ------------------------------------------------------------------------------------------------------

def cluster_containers(cluster):
    """[(label, service, args, env, workload, container)] of the render."""
    out = []
    for workload, container, service, env in cluster.devopstrack_containers():
        label = f"{workload['kind']}/{workload['metadata']['name']}"
        out.append((label, service, container.get("args") or [], env, workload, container))
    return out


def store_envs(cluster):
    stores = {}
    for workload, spec in cluster.pod_specs():
        for container in spec.get("containers", []):
            if d.image_target(container.get("image", "")) is None:
                for service in cluster.services().values():
                    if cluster.pods_selected(service["spec"].get("selector", {})) == [workload]:
                        stores[service["metadata"]["name"]] = cluster.container_env(container)
    return stores


def check_cluster_peers(cluster):
    """Every URL names a Service of the render with that port, whose target port is one the selected pods listen on."""
    problems = []
    services = cluster.services()
    for label, service, _, env, workload, container in cluster_containers(cluster):
        for key, host, port in peer_urls(service, env):
            target = services.get(host)
            if target is None:
                problems.append(f"{label}: {key} names {host!r}, which is no Service here")
                continue
            ports = [p for p in target["spec"]["ports"] if p["port"] == port]
            if not ports:
                problems.append(f"{label}: {key} names {host}:{port}, but Service {host} has no port {port}")
                continue
            selected = cluster.pods_selected(target["spec"].get("selector") or {})
            if not selected:
                problems.append(f"{label}: {key}: Service {host} selects no pods")
            for pod in selected:
                problems += _check_target(label, key, host, ports[0], pod, cluster)
    return problems


def _check_target(label, key, host, service_port, pod, cluster):
    problems = []
    target_port = service_port.get("targetPort", service_port["port"])
    for container in pod["spec"]["template"]["spec"]["containers"]:
        number = d.named_port(container, target_port)
        if number is None:
            continue
        callee = d.image_target(container.get("image", ""))
        if callee:
            env = cluster.container_env(container)
            port_name = next((p.get("name") for p in container["ports"] if p["containerPort"] == number), None)
            listens = listen_port(callee, env, LISTEN.get(port_name, ""))
            if listens != number:
                problems.append(f"{label}: {key} reaches {host} on container port {number}, but "
                                f"{prefix(callee)}{LISTEN.get(port_name, '?')} listens on {listens}")
        return problems
    problems.append(f"{label}: {key}: Service {host}'s targetPort {target_port!r} is no port of "
                    f"{pod['metadata']['name']}'s containers")
    return problems


def check_cluster_listen_ports(cluster):
    """Every named container port (grpc, admin, http) of a DevOpsTrack container is the port its setting listens on."""
    problems = []
    for label, service, _, env, _, container in cluster_containers(cluster):
        for port in container.get("ports") or []:
            key = LISTEN.get(port.get("name"))
            if key is None:
                problems.append(f"{label}: container port {port.get('name')!r} is not one of {sorted(LISTEN)}")
                continue
            listens = listen_port(service, env, key)
            if listens != port["containerPort"]:
                problems.append(f"{label}: port {port['name']} is {port['containerPort']} but "
                                f"{prefix(service)}{key} listens on {listens}")
    return problems


def check_references(cluster):
    """Every ConfigMap and Secret key a container's environment refers to exists (the Secret: as gen-env.sh makes it)."""
    problems = []
    for workload, spec in cluster.pod_specs():
        for container in spec.get("containers", []):
            cluster.container_env(container, problems)
    return problems


def check_cluster(cluster, run_loader=True):
    pending = d.pending_settings()
    problems = check_references(cluster)
    listing = []
    for label, service, args, env, _, _ in cluster_containers(cluster):
        problems += check_required(label, service, env)
        if run_loader:
            problems += check_loader(label, service, args, env, pending)
        listing.append((label, service, env))
    problems += check_agreement(listing)
    problems += check_store_credentials(listing, store_envs(cluster))
    problems += check_cluster_peers(cluster)
    problems += check_cluster_listen_ports(cluster)
    return problems


# --- compose ---------------------------------------------------------------------------------------------------------

def compose_containers(compose):
    out = []
    for name, service in compose["services"].items():
        target = d.image_target(service.get("image", ""))
        if target:
            out.append((f"compose/{name}", target, service.get("command") or [], d.compose_env(service), name))
    return out


def check_compose_peers(compose):
    problems = []
    services = compose["services"]
    for label, service, _, env, _ in compose_containers(compose):
        for key, host, port in peer_urls(service, env):
            target = services.get(host)
            if target is None:
                problems.append(f"{label}: {key} names {host!r}, which is no compose service")
                continue
            callee = d.image_target(target.get("image", ""))
            if callee:
                listening = {listen_port(callee, d.compose_env(target), k) for k in LISTEN.values()}
                if port not in listening:
                    problems.append(f"{label}: {key} names {host}:{port}, where {host} does not listen")
            elif str(port) not in [str(p) for p in target.get("expose") or []]:
                problems.append(f"{label}: {key} names {host}:{port}, which {host} does not expose")
    return problems


def check_compose(compose, run_loader=True):
    pending = d.pending_settings()
    problems, listing = [], []
    for label, service, args, env, _ in compose_containers(compose):
        problems += check_required(label, service, env)
        if run_loader:
            problems += check_loader(label, service, args, env, pending)
        listing.append((label, service, env))
    stores = {name: d.compose_env(s) for name, s in compose["services"].items()
              if not d.image_target(s.get("image", ""))}
    problems += check_agreement(listing)
    problems += check_store_credentials(listing, stores)
    problems += check_compose_peers(compose)
    return problems
