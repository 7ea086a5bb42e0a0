"""What the tests and benchmarks push and tag, and its removal, locally and in the registries.

Every name they create comes from `scratch`: it carries the run's id (RUN), which the workers
of a test session share through the environment, so that the check at the end of a session
(tests/conftest.py) tells this run's leftovers from those of another session on the same engine.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable

import docker
import requests

RUN = os.environ.setdefault("BUILDER_TEST_RUN", secrets.token_hex(3))
# Names this process created (namespaces, or library/NAME repositories), removed by `remove`.
CREATED: set[str] = set()
# Kept on purpose across sessions: tests/support/skopeo.py's image, named by its content.
KEPT = re.compile(r"builder-test/[^:]+:[0-9a-f]+")
_MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def scratch(prefix: str) -> str:
    """A new name `PREFIX-RUN...` (e.g. `test-…`, `library/sim-…`), remembered for `remove`."""
    name = f"{prefix}-{RUN}{secrets.token_hex(3)}"
    CREATED.add(name)
    return name


def local_tags() -> set[str] | None:
    """Every tag of the engine's images, or None when there is no engine to ask."""
    try:
        api = docker.APIClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), timeout=30)
        return {tag for image in api.images() for tag in image.get("RepoTags") or () if tag != "<none>:<none>"}
    except (docker.errors.DockerException, requests.RequestException):
        return None


def leftovers(before: set[str], after: set[str], strict: bool) -> list[str]:
    """Tags that appeared, but for the kept caches; outside CI (`strict` False) only those named
    with this run's id, since other sessions may share the engine and tag at the same time."""
    return sorted(tag for tag in after - before if not KEPT.fullmatch(tag) and (strict or RUN in tag))


def remove(registries: Iterable[tuple[str, tuple[str, str] | None]], names: Iterable[str]) -> None:
    """Every local tag and digest under REGISTRY/NAME for each name, and each name's manifests in
    each registry (given with its credentials, or None)."""
    names = set(names)
    if not names:
        return
    registries = list(registries)
    hosts = [host for host, _ in registries]

    # Tests also push through servers of their own in front of a registry (a fault proxy, TLS) on
    # other loopback ports: names carry the run's id, so any loopback host is ours to clean.
    prefixes = [re.escape(f"{host}/") for host in hosts] + [r"127\.0\.0\.1:[0-9]+/"]

    def ours(ref: str) -> bool:
        return any(re.match(prefix + re.escape(name) + r"[/:@]", ref) for prefix in prefixes for name in names)

    api = docker.APIClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), timeout=120)
    for image in api.images():
        refs = [r for r in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []) if "<none>" not in r]
        # By name, never by id: an image that others also name (a seed) only loses our names, and
        # one whose last name goes is deleted once no child image (ours, removed here too) needs it.
        for ref in filter(ours, refs):
            try:
                api.remove_image(ref, force=True)
            except docker.errors.NotFound:
                continue
    for host, auth in registries:
        try:
            _remove_from_registry(host, auth, names)
        except requests.ConnectionError:
            continue  # no registry there: nothing was pushed to it


def _remove_from_registry(host: str, auth: tuple[str, str] | None, names: set[str]) -> None:
    base = f"http://{host}/v2"
    for repository in _catalog(base, auth):
        if not any(repository == name or repository.startswith(name + "/") for name in names):
            continue
        listed = requests.get(f"{base}/{repository}/tags/list", auth=auth, timeout=30)
        tags = listed.json().get("tags") or [] if listed.status_code == 200 else []
        for tag in tags:
            head = requests.head(
                f"{base}/{repository}/manifests/{tag}", auth=auth, timeout=30, headers={"Accept": _MANIFESTS}
            )
            digest = head.headers.get("Docker-Content-Digest")
            if digest:
                gone = requests.delete(f"{base}/{repository}/manifests/{digest}", auth=auth, timeout=30)
                if gone.status_code not in (202, 404):
                    raise RuntimeError(
                        f"{host}/{repository}@{digest}: the registry refused the delete "
                        f"({gone.status_code}); it must allow deletes"
                    )


def _catalog(base: str, auth: tuple[str, str] | None) -> list[str]:
    repositories: list[str] = []
    last = ""
    while True:
        page = requests.get(f"{base}/_catalog", params={"n": "1000", "last": last}, auth=auth, timeout=30)
        page.raise_for_status()
        found = page.json().get("repositories") or []
        repositories += found
        if len(found) < 1000 or "next" not in page.headers.get("Link", ""):
            return repositories
        last = found[-1]
