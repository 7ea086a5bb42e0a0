"""The release and catalog commands' calls into signing, kept in one place so that the commands
stay short: choose the key, sign each step before its tags move, sign what earlier runs missed,
publish keys and policies. Each returns what the command prints."""

from __future__ import annotations

from collections.abc import Iterator

from builder.channel import history
from builder.channel.layout import ImageFiles
from builder.core.files import Writes
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.release.publish import ReleaseStep
from builder.release.publish import execute as publish_step
from builder.signing import admission, sign
from builder.signing.store import Store
from builder.upstream import registry


def signer(settings: Settings, channel: Channel) -> sign.Signer | None:
    """The release's signer; None when no key is set and none is required (then warn, every run)."""
    admission.key_sets(settings)  # unreadable trusted or revoked keys fail now, before any tag moves
    key = sign.key_from_env(settings)
    if key is None:
        return None
    return sign.Signer(settings, channel, key, Store(registry.docker_config_credentials()))


def sign_step(
    signer: sign.Signer | None, settings: Settings, channel: Channel, step: ReleaseStep, today: str
) -> list[str]:
    """Sign and attest the candidate of `step` as the release it is about to become."""
    if signer is None:
        return []
    lock = ImageFiles.of(settings, channel.images[step.image]).read_lock()
    assert lock is not None  # noqa: S101 - the step was planned from it
    release = history.from_lock(lock, step.version, today, tuple(m.tag for m in step.moves if m.action != "hold"))
    signed = signer.sign(step.image, release, lock).signed
    return [
        f"signed {step.image} {step.version}: {step.repository}@{step.digest[:19]} "
        f"(key {signed.key[:19]}, {len(signed.predicate_types)} attestations)"
    ]


def finish(signer: sign.Signer | None, settings: Settings, selected: list[str]) -> list[str]:
    """Sign the releases of `selected` an earlier run left unsigned; publish keys and policies."""
    said: list[str] = []
    if signer is not None:
        signer.sign_missing(selected, said.append)
    publish(settings)
    return said


def publish(settings: Settings) -> Writes:
    return admission.write(settings)


def release(
    signer: sign.Signer | None,
    settings: Settings,
    channel: Channel,
    steps: list[ReleaseStep],
    client: registry.RegistryClient,
    *,
    today: str,
) -> Iterator[str]:
    """Execute the planned steps, each signed before its tags point at it, with the date the release gets."""
    for step in steps:
        yield from sign_step(signer, settings, channel, step, today)
        publish_step(settings, channel, step, client, today=today)
        yield f"released {step.image} {step.version}"
