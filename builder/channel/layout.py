"""Every file of an image line in the channel's output folder, named once: base-images/NAME[/VARIANT]/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builder.channel import history
from builder.channel import lock as lockfile
from builder.core.settings import Settings
from builder.recipe.variants import ImageSpec

DOCKERFILE = "Dockerfile"
LOCK = "image.lock.json"
SBOM = "sbom.spdx.json"
RELEASES = "releases.json"
CHANGELOG = "CHANGELOG.md"
SIGNATURES = "signatures.json"
# What a build or a release writes for an image line, in the order a reviewer reads them.
ARTEFACTS = (DOCKERFILE, LOCK, SBOM, RELEASES, CHANGELOG)


@dataclass(frozen=True)
class ImageFiles:
    """The output folder of one image line and each file in it."""

    image: str  # image id: NAME or NAME/VARIANT
    folder: Path

    @classmethod
    def of(cls, settings: Settings, image: ImageSpec) -> ImageFiles:
        return cls(image.id, settings.output_dir / image.id)

    @property
    def dockerfile(self) -> Path:
        return self.folder / DOCKERFILE

    @property
    def lock(self) -> Path:
        return self.folder / LOCK

    @property
    def sbom(self) -> Path:
        return self.folder / SBOM

    @property
    def releases(self) -> Path:
        return self.folder / RELEASES

    @property
    def changelog(self) -> Path:
        return self.folder / CHANGELOG

    @property
    def signatures(self) -> Path:
        return self.folder / SIGNATURES

    def read_lock(self) -> lockfile.Lock | None:
        """The committed lock, or None when the image line was never built."""
        return lockfile.read(self.lock)

    def read_history(self) -> history.Record:
        """The release record; an empty one when the line was never released."""
        return history.read(self.releases, self.image)
