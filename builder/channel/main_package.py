"""A line's main package (`main_package:` in its recipe): the version its lock records, and agreement.

Every image of a line (hardened, distroless, -dev, debug companions) carries the main package from
the same release, so that a consumer who builds in one form and runs in another gets the same
interpreter in both stages. The catalog shows the version; `builder release` refuses a line whose
built images disagree.
"""

from __future__ import annotations

from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core.errors import ReleaseError
from builder.core.plaintext import escape
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.recipe.variants import ImageSpec


def version_in(lock: Lock, name: str) -> str | None:
    """The package version `lock` records for `name` (Debian's or Alpine's form), or None."""
    return next((package.version for package in lock.packages if package.name == name), None)


def upstream(version: str) -> str:
    """The upstream part of a package version: 3.11.2 of 3.11.2-1+b1, 2.40 of 1:2.40-1, 3.1.4 of 3.1.4-r5."""
    without_epoch = version.split(":", 1)[1] if ":" in version else version
    return without_epoch.rsplit("-", 1)[0] if "-" in without_epoch else without_epoch


def shown(image: ImageSpec, lock: Lock | None) -> str | None:
    """`python3 3.11.2` for the catalog, when the recipe names a main package and the lock holds it."""
    name = image.recipe.main_package
    version = version_in(lock, name) if name and lock else None
    return f"{name} {upstream(version)}" if name and version else None


def check_agreement(settings: Settings, channel: Channel, image: ImageSpec) -> None:
    """ReleaseError when another built image of `image`'s line has another version of its main package."""
    name = image.recipe.main_package
    lock = ImageFiles.of(settings, image).read_lock()
    mine = version_in(lock, name) if name and lock else None
    if name is None or mine is None:
        return
    for other in sorted(channel.images.values(), key=lambda spec: spec.id):
        if other.recipe.name != image.recipe.name or other.id == image.id:
            continue
        their_lock = ImageFiles.of(settings, other).read_lock()
        theirs = version_in(their_lock, name) if their_lock else None
        if theirs is not None and theirs != mine:
            raise ReleaseError(
                f"{image.id}: {escape(name)} is {escape(mine)} but {other.id} has {escape(theirs)}; the images "
                f"of a line are released with the same {escape(name)}: rebuild them together "
                f"(`builder build {image.recipe.name} --force --push`), then release"
            )
