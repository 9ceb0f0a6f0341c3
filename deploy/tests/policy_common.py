"""What the policy modules share."""

import tomllib

import deployment as d


def workspace_version():
    with open(d.ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


def name_of(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def containers(spec):
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def is_ours(container):
    return d.image_target(container.get("image", "")) is not None
