"""skopeo 1.18 from Debian 13 (trixie), in a container made from the local trixie seed: an
independent implementation of cosign's signature format (Debian 12's build has sigstore off).

The image is built once and kept under a tag naming its content (the seed's digest and the
Dockerfile), so every later test session, and CI after the first build, reuses it.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from builder.upstream.registry import RegistryClient

CONTAINER_DIR = "/work"


def image(registry: str) -> str:
    """The skopeo image's tag; built when missing."""
    seed = f"{registry}/library/debian:trixie-slim"
    digest = RegistryClient().digest(seed)
    dockerfile = (
        f"FROM {seed}@{digest}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends skopeo \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
    )
    tag = "builder-test/skopeo:" + hashlib.sha256(dockerfile.encode()).hexdigest()[:16]
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            ["docker", "build", "--network", "host", "-t", tag, "-"],
            input=dockerfile.encode(),
            capture_output=True,
            check=True,
        )
    return tag


def run(tag: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`skopeo ARGS` with `folder` mounted at /work (its policy.json, registries.d, keys), host network."""
    return subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "host",
            "-v",
            f"{folder}:{CONTAINER_DIR}",
            "-e",
            "SKOPEO_PASSWORD",
            tag,
            "skopeo",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
