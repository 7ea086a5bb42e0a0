"""One recipe makes one image, plus one per variant. `ImageSpec` is that image's resolved view."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from builder.core.facts import Form, InputFile, RecipeSnapshot
from builder.core.runtime import Runtime
from builder.recipe import distroless
from builder.recipe.fields import Final
from builder.recipe.model import FromSpec, Recipe, TestSpec, User, Variant


@dataclass(frozen=True)
class ImageSpec:
    recipe: Recipe
    variant: Variant | None
    source: str  # the recipe file, as shown to people (recipes/NAME.yaml)
    debug: bool = False  # the debug companion of a distroless image: the same plus busybox
    inputs: tuple[InputFile, ...] = ()  # committed files (CA certificates, keys, files), hashed

    @property
    def id(self) -> str:
        """`python`, or `python/trixie` for a variant: also its folder under base-images/."""
        variant = self.variant_name
        return f"{self.recipe.name}/{variant}" if variant else self.recipe.name

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def variant_name(self) -> str | None:
        variant = self.variant.name if self.variant else None
        return distroless.companion(variant) if self.debug else variant

    @property
    def tag_suffix(self) -> str:
        variant = self.variant_name
        return f"-{variant}" if variant else ""

    @property
    def final(self) -> Final:
        if self.variant and self.variant.final:
            return self.variant.final
        return self.recipe.final

    @property
    def form(self) -> Form:
        return "distroless-debug" if self.debug else self.final

    @property
    def description(self) -> str:
        text = self.variant.description if self.variant and self.variant.description else None
        text = text or self.recipe.description
        return f"{text} (debug: with a busybox shell)" if self.debug else text

    @property
    def from_(self) -> FromSpec:
        if self.variant and self.variant.from_:
            return self.variant.from_
        return self.recipe.from_

    @property
    def parent_id(self) -> str | None:
        """The image id of the channel image this one builds FROM, if any."""
        spec = self.from_
        if spec.recipe is None:
            return None
        return f"{spec.recipe}/{spec.variant}" if spec.variant else spec.recipe

    @property
    def packages(self) -> tuple[str, ...]:
        extra = self.variant.packages if self.variant else ()
        return tuple(sorted({*self.recipe.packages, *extra}))

    @property
    def env(self) -> dict[str, str]:
        merged = dict(self.recipe.env)
        if self.variant:
            merged.update(self.variant.env)
        return merged

    @property
    def labels(self) -> dict[str, str]:
        merged = dict(self.recipe.labels)
        if self.variant:
            merged.update(self.variant.labels)
        return merged

    @property
    def user(self) -> User:
        return self.recipe.user

    @property
    def workdir(self) -> str:
        return self.recipe.workdir or self.recipe.user.home_dir

    @property
    def tests(self) -> tuple[TestSpec, ...]:
        if self.variant and self.variant.tests is not None:
            return self.variant.tests
        return self.recipe.tests

    @property
    def runtime(self) -> Runtime:
        if self.variant and self.variant.runtime is not None:
            return self.variant.runtime
        return self.recipe.runtime


def effective_spec(image: ImageSpec) -> RecipeSnapshot:
    """The recipe as this image sees it, in the form locks and releases keep."""
    source = image.from_
    user = image.user
    return RecipeSnapshot(
        base=f"recipe:{image.parent_id}" if image.parent_id else str(source.image),
        distro=image.recipe.distro,
        packages=image.packages,
        user=f"{user.name} {user.uid}:{user.gid} {user.home_dir}",
        workdir=image.workdir,
        env=image.env,
        labels=image.labels,
        entrypoint=image.recipe.entrypoint,
        cmd=image.recipe.cmd,
        hardening=image.recipe.hardening.model_dump(mode="json"),
        repositories=tuple(
            " ".join(
                [r.url, r.suite or "", *r.components, f"signed-by={r.signed_by}" if r.signed_by else "trusted"]
            ).replace("  ", " ")
            for r in image.recipe.repositories
        ),
        final=image.form,
        inputs=tuple(item.describe() for item in image.inputs),
        runtime=image.runtime,
    )


def spec_sha256(image: ImageSpec) -> str:
    """A hash of everything in the recipe that shapes this image (its version aside).

    Other variants do not count, and neither do `version`, which releases bump, `vex` and `accept_eol`.
    """
    # Defaults are left out, so a new optional field in the model changes no hash.
    recipe = image.recipe.model_dump(
        mode="json", by_alias=True, exclude_defaults=True, exclude={"variants", "version", "vex", "accept_eol"}
    )
    variant = image.variant.model_dump(mode="json", by_alias=True, exclude_defaults=True) if image.variant else None
    shaped: dict[str, object] = {"recipe": recipe, "variant": variant}
    if image.inputs:
        shaped["inputs"] = [item.describe() for item in image.inputs]
    if image.debug:
        shaped["debug"] = True
    text = json.dumps(shaped, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expand(recipe: Recipe, source: str, inputs: tuple[InputFile, ...] = ()) -> list[ImageSpec]:
    """The recipe's images: its own, one per variant, and a debug companion per distroless one."""
    images = [ImageSpec(recipe, None, source, inputs=inputs)]
    images += [ImageSpec(recipe, v, source, inputs=inputs) for v in recipe.variants]
    companions = [replace(i, debug=True) for i in images if i.final == "distroless"]
    return images + companions
