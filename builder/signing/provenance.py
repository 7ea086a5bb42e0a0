"""SLSA provenance v1 of a release: what it was built from, by what, from which commit and run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from builder import __version__
from builder.channel import sbom
from builder.channel.history import Release
from builder.channel.lock import Lock

PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:builder:buildtype:recipe:v1"


def _github_run(env: Mapping[str, str]) -> dict[str, str]:
    """builder.id and invocationId of the GitHub Actions run that released, if there is one."""
    server, repository, run = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if not (server and repository and run):
        return {}
    found = {"invocationId": f"{server}/{repository}/actions/runs/{run}/attempts/{env.get('GITHUB_RUN_ATTEMPT', '1')}"}
    if env.get("GITHUB_WORKFLOW_REF"):
        found["workflow"] = f"{server}/{env['GITHUB_WORKFLOW_REF']}"
    return found


def predicate(
    release: Release,
    lock: Lock,
    *,
    image_id: str,
    recipe_path: str,
    dockerfile_path: str,
    overlay: tuple[str, str] | None,
    source_url: str,
    distro: str,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Provenance of `release`, built as `lock` says. `overlay`: (path, sha256) of the organization
    overlay, when the channel has one."""
    env = os.environ if environ is None else environ
    deps: list[dict[str, Any]] = [{"name": "recipe", "uri": recipe_path, "digest": {"sha256": lock.recipe_sha256}}]
    if overlay:
        deps.append({"name": "overlay", "uri": overlay[0], "digest": {"sha256": overlay[1]}})
    if lock.dockerfile_sha256:
        deps.append({"name": "dockerfile", "uri": dockerfile_path, "digest": {"sha256": lock.dockerfile_sha256}})
    deps += [
        {
            "name": item.kind,
            "uri": item.path,
            "digest": {"sha256": item.sha256},
            "annotations": {"destination": item.destination},
        }
        for item in lock.inputs
    ]
    deps.append(
        {
            "name": "base",
            "uri": f"oci://{lock.base.reference}",
            "digest": {"sha256": lock.base.digest.removeprefix("sha256:")},
        }
    )
    deps += [
        {
            "name": "package-source",
            "uri": source.url,
            "annotations": {"suite": source.suite, "components": list(source.components), "kind": source.kind},
        }
        for source in lock.apt_sources
    ]
    os_release = lock.os.version_id if lock.os else None
    deps += [{"name": "package", "uri": sbom.purl(package, distro, os_release)} for package in lock.packages]
    if lock.revision:
        deps.append(
            {
                "name": "source",
                "uri": f"git+{source_url}" if source_url else "git",
                "digest": {"gitCommit": lock.revision},
            }
        )
    run = _github_run(env)
    metadata: dict[str, Any] = {"startedOn": lock.built_at} if lock.built_at else {}
    if "invocationId" in run:
        metadata["invocationId"] = run["invocationId"]
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {"image": image_id, "version": release.version, "recipe": recipe_path},
            "internalParameters": {"fingerprint": lock.fingerprint},
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {"id": run.get("workflow", "urn:builder:cli"), "version": {"builder": __version__}},
            "metadata": metadata,
        },
    }
