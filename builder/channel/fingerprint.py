"""A candidate's fingerprint: one digest of everything that went into it.

The recipe (as hashed for the lock), the committed inputs (CA certificates, keys, files by
sha256), the rendered Dockerfile, the base image's digest and the version its package
sources offer for every package of the image. A build records it in the lock; `watch`
computes it again from what is offered now. The same fingerprint means nothing new: no
build, no push, no pull-request write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from builder.channel.lock import Lock
from builder.core.facts import InputFile


def of(
    *,
    recipe_sha256: str,
    dockerfile_sha256: str | None,
    base_digest: str,
    inputs: Iterable[InputFile],
    offers: Mapping[str, str],
) -> str:
    data = {
        "recipe": recipe_sha256,
        "dockerfile": dockerfile_sha256 or "",
        "base": base_digest,
        "inputs": sorted(item.describe() for item in inputs),
        "offers": sorted(f"{name}={version}" for name, version in offers.items()),
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def of_lock(lock: Lock) -> str:
    """The fingerprint of a build: its packages are what its sources offered when it ran."""
    return of(
        recipe_sha256=lock.recipe_sha256,
        dockerfile_sha256=lock.dockerfile_sha256,
        base_digest=lock.base.digest,
        inputs=lock.inputs,
        offers={p.name: p.version for p in lock.packages},
    )
