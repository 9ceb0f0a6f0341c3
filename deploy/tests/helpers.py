"""Renders shared by the tests."""

import subprocess

import deployment as d

K3D_SECRETS = d.K8S / "overlays" / "k3d" / "secrets.env"


def k3d_cluster():
    """The k3d overlay rendered as `make k3d-up` renders it: its secretGenerator reads secrets.env, which
    scripts/gen-env.sh writes when missing (git-ignored; existing values are kept)."""
    if not K3D_SECRETS.exists():
        subprocess.run([str(d.ROOT / "scripts" / "gen-env.sh"), str(K3D_SECRETS)], check=True)
    return d.Cluster.load("k3d", secrets=d.read_env_file(K3D_SECRETS))
