"""The recipe model: frozen, typed, validated once. No raw dicts past this module."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from builder.core.patterns import anchored
from builder.core.runtime import Runtime, hidden_file
from builder.recipe import distroless, names
from builder.recipe.fields import (
    DEFAULT_ID,
    DEFAULT_USER,
    AbsPath,
    Argv,
    Distro,
    EnvName,
    ExecArgv,
    Final,
    Flag,
    Frozen,
    HomePath,
    Id,
    ImageName,
    LabelKey,
    Packages,
    Text,
    editor_schema,
)
from builder.recipe.problems import FieldError
from builder.recipe.source import Path_
from builder.recipe.vex_entry import VexEntry


class FromSpec(Frozen):
    """What the image builds on: an upstream image by tag, or another recipe of the channel."""

    image: Annotated[Text, AfterValidator(names.upstream_image)] | None = Field(
        None, description="Upstream image by tag, e.g. debian:bookworm-slim (digest goes in the lock)"
    )
    recipe: ImageName | None = Field(None, description="Another recipe of this channel to build FROM")
    variant: ImageName | None = Field(None, description="With `recipe`: which variant of it")

    @model_validator(mode="before")
    @classmethod
    def _image_shorthand(cls, value: object) -> object:
        # `from: debian:bookworm-slim` is short for `from: {image: debian:bookworm-slim}`.
        return {"image": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> FromSpec:
        if (self.image is None) == (self.recipe is None):
            raise ValueError(
                "give exactly one of `image` (an upstream tag) or `recipe` (another recipe of this channel)"
            )
        if self.variant is not None and self.recipe is None:
            raise ValueError("`variant` only applies with `recipe`")
        return self


class User(Frozen):
    """The non-root user the image runs as. Never root, never uid or gid 0."""

    name: Annotated[Text, AfterValidator(names.user_name)] = Field(
        description="User (and group) name",
        json_schema_extra={"pattern": anchored(names.USER_NAME), "not": {"const": "root"}},
    )
    uid: Id
    gid: Id
    home: HomePath | None = Field(
        None, description="Home directory, a folder of its own under /home, /var/lib, /srv or /opt; default /home/NAME"
    )

    @property
    def home_dir(self) -> str:
        return self.home or f"/home/{self.name}"


class Hardening(Frozen):
    strip_setuid: Flag = Field(True, description="Remove setuid/setgid bits from every file")
    setuid_allow: tuple[AbsPath, ...] = Field((), description="Files that keep setuid/setgid bits")
    capabilities_allow: tuple[AbsPath, ...] = Field(
        (), description="Files that may carry file capabilities (security.capability, as setcap sets)"
    )
    remove_package_manager: Flag = Field(
        False, description="Remove the package manager (apt / apk); the package database stays"
    )
    remove_shells: Flag = Field(False, description="Remove shells; needs an exec-form entrypoint")


RepoPath = Annotated[str, AfterValidator(names.repository_path), editor_schema(pattern=anchored(names.REPO_PATH))]


class Repository(Frozen):
    """An extra package repository the image installs from, and `watch` follows."""

    url: Annotated[Text, AfterValidator(names.repository_url)]
    suite: Annotated[Text, AfterValidator(names.suite)] | None = Field(
        None, description="apt: the suite (e.g. bookworm); not used for apk repositories"
    )
    components: tuple[Annotated[Text, AfterValidator(names.component)], ...] = ("main",)
    signed_by: RepoPath | None = Field(
        None,
        description="The repository's public key, committed in this repository: an OpenPGP "
        "key (.asc or .gpg) for apt, an RSA public key (.rsa.pub) for apk",
    )
    trusted: Flag = Field(False, description="Unsigned; only for a repository on 127.0.0.1")

    @model_validator(mode="after")
    def _signed_or_local(self) -> Repository:
        host = names.url_host(self.url)
        if self.trusted and self.signed_by:
            raise ValueError("give `signed_by` (a key) or `trusted: true`, not both")
        if not self.trusted and not self.signed_by:
            raise ValueError(
                "an unsigned repository is refused: give `signed_by: keys/NAME.asc` (its public key, committed here)"
            )
        if self.trusted and self.suite is None:
            raise ValueError(
                "`trusted: true` is for apt test repositories; an apk repository is "
                "signed: give `signed_by` with its .rsa.pub key"
            )
        if self.trusted and host not in names.LOOPBACK_HOSTS:
            raise ValueError(
                f"`trusted: true` skips signature checks and is refused for {host}; "
                "give `signed_by` with the repository's key (trusted is only allowed "
                "for a repository on 127.0.0.1)"
            )
        return self


class FileEntry(Frozen):
    """A committed file copied into the image."""

    source: RepoPath = Field(description="Path in this repository, e.g. files/pip.conf")
    destination: AbsPath = Field(description="Absolute path in the image")
    owner: Literal["root", "user"] | None = Field(
        None, description="root (default) or the image's user; required under the user's home"
    )
    mode: Annotated[Text, AfterValidator(names.file_mode)] = Field(
        "0644", description='Octal mode as text, e.g. "0644"; never world-writable or setuid'
    )

    @model_validator(mode="after")
    def _safe_destination(self) -> FileEntry:
        if self.destination == "/":
            raise ValueError("destination / is a folder: give the file's full path, e.g. /etc/pip.conf")
        for reserved, use in names.RESERVED_DESTINATIONS:
            if self.destination == reserved or self.destination.startswith(reserved + "/"):
                raise ValueError(f"destination {self.destination} is managed by the builder; {use}")
        if self.owner != "user" and int(self.mode, 8) & 0o020:
            raise ValueError(f"mode {self.mode} lets the group write a root-owned file; drop g+w or set `owner: user`")
        return self


class TestSpec(Frozen):
    """A command run inside the built image with the network off."""

    name: Annotated[Text, AfterValidator(names.test_name)]
    run: Argv = Field(description="Command and arguments (exec form, no shell)")
    stdout: Text | None = Field(None, description="Expected standard output, whitespace-trimmed")
    exit_code: Annotated[int, Field(ge=0, le=255)] = 0

    @field_validator("run", mode="before")
    @classmethod
    def _exec_form(cls, value: object) -> object:
        # Tests run without a shell: a command line has to be split, or handed to sh on purpose.
        if isinstance(value, str):
            raise ValueError(
                f"expected the command as a list (exec form, no shell), got {value!r}; "
                f"write [sh, -c, {json.dumps(value)}] to run it with a shell, but distroless "
                "images have no shell: there, call the program itself, e.g. [id, -u] "
                "with `stdout:`"
            )
        return value


class Variant(Frozen):
    """Another image from the same recipe, tagged with a -NAME suffix."""

    name: ImageName
    description: Text | None = None
    from_: FromSpec | None = Field(None, alias="from")
    packages: Packages = Field((), description="Packages added to the recipe's list")
    env: dict[EnvName, Text] = Field(default_factory=dict, description="Merged over the recipe's env")
    labels: dict[LabelKey, Text] = Field(default_factory=dict)
    final: Final | None = Field(None, description="The variant's final form; default the recipe's")
    tests: tuple[TestSpec, ...] | None = Field(
        None,
        description="Replaces the recipe's tests for this variant (e.g. a distroless one, "
        "which has no `id` or `test` to call)",
    )
    runtime: Runtime | None = Field(None, description="Replaces the recipe's runtime profile")


class Recipe(Frozen):
    """One image line of the channel, as written in recipes/NAME.yaml."""

    # Optional in the file: the loader fills it in from the file name (see json_schema).
    name: ImageName = Field(
        description="Repository name in the channel; default the file name, which it must equal when given"
    )
    description: Annotated[Text, AfterValidator(names.description)] = Field(
        json_schema_extra={"minLength": 1, "maxLength": names.DESCRIPTION_MAX}
    )
    version: Annotated[Text, AfterValidator(names.version)] = Field(
        description="The image line's semantic version, MAJOR.MINOR.PATCH"
    )
    distro: Distro
    from_: FromSpec = Field(alias="from")

    packages: Packages = Field((), description="Minimal package set; installed without recommends")
    main_package: Text | None = Field(None, description="One of `packages`: the line's version of it must agree")
    user: User = Field(default_factory=lambda: User(name=DEFAULT_USER, uid=DEFAULT_ID, gid=DEFAULT_ID))
    workdir: AbsPath | None = Field(None, description="Working directory; default the user's home")
    env: dict[EnvName, Text] = Field(default_factory=dict)
    labels: dict[LabelKey, Text] = Field(default_factory=dict)
    entrypoint: ExecArgv | None = None
    cmd: ExecArgv | None = None
    hardening: Hardening = Field(default_factory=Hardening)
    final: Final = Field(
        "hardened",
        description=(
            "hardened: the base image with the packages installed, hardened; distroless: only the files "
            "of the packages' dependency closure on scratch (no shell, no package manager), plus a "
            "-debug companion image with a busybox shell"
        ),
    )
    repositories: tuple[Repository, ...] = Field((), description="Extra package repositories")
    ca_certificates: tuple[RepoPath, ...] = Field(
        (),
        description="PEM CA certificates (committed, e.g. certificates/corp-root.crt) added to the image's trust store",
    )
    files: tuple[FileEntry, ...] = Field((), description="Committed files copied into the image")
    variants: tuple[Variant, ...] = ()
    tests: tuple[TestSpec, ...] = ()
    runtime: Runtime = Field(default_factory=Runtime, description="What the image needs when it runs")
    vex: tuple[VexEntry, ...] = Field(
        (),
        description="Statements about CVEs for the release's OpenVEX "
        "attestation: not_affected (with a justification) or under_investigation",
    )
    accept_eol: Annotated[Text, AfterValidator(names.description)] | None = Field(
        None,
        description="Why this line may stay on a distro release past the end of its LTS: "
        "without it, `builder lint` fails for such a line",
        json_schema_extra={"minLength": 1, "maxLength": names.DESCRIPTION_MAX},
    )

    @field_validator("variants", "tests")
    @classmethod
    def _unique_names(
        cls, values: tuple[Variant | TestSpec, ...], info: ValidationInfo
    ) -> tuple[Variant | TestSpec, ...]:
        what = "variant" if info.field_name == "variants" else "test"
        names_seen = [item.name for item in values]
        for index, name in enumerate(names_seen):
            if name in names_seen[:index]:
                raise FieldError((index, "name"), f"{what} {name!r} is declared twice; give each a unique name")
        return values

    @model_validator(mode="after")
    def _repositories_fit_distro(self) -> Recipe:
        for index, repo in enumerate(self.repositories):
            if self.distro == "alpine" and (repo.suite or repo.components != ("main",)):
                raise FieldError(
                    ("repositories", index, "suite" if repo.suite else "components"),
                    f"{repo.url} is an apk repository: drop `suite` and `components`, alpine repositories are one URL",
                )
            if self.distro != "alpine" and not repo.suite:
                raise FieldError(("repositories", index), f"{repo.url} needs a `suite` (e.g. bookworm)")
        return self

    @model_validator(mode="after")
    def _home_files_name_their_owner(self) -> Recipe:
        home = self.user.home_dir
        for index, entry in enumerate(self.files):
            if entry.owner is None and (entry.destination + "/").startswith(home + "/"):
                raise FieldError(
                    ("files", index, "destination"),
                    f"{entry.destination} is in the home of {self.user.name}, "
                    "who can replace it whoever owns it: say who owns it, `owner: "
                    "user` (the program may change it) or `owner: root`",
                )
        return self

    @model_validator(mode="after")
    def _tmpfs_hides_no_file(self) -> Recipe:
        runtimes: list[tuple[Path_, Runtime | None]] = [(("runtime",), self.runtime)]
        runtimes += [(("variants", i, "runtime"), v.runtime) for i, v in enumerate(self.variants)]
        for at, runtime in runtimes:
            found = hidden_file(runtime, (entry.destination for entry in self.files)) if runtime else None
            if found is not None:
                raise FieldError((*at, "writable", found[0]), found[1])
        return self

    @model_validator(mode="after")
    def _distroless_needs_apt(self) -> Recipe:
        finals = [(("final",), self.final), *((("variants", i, "final"), v.final) for i, v in enumerate(self.variants))]
        where = next((path for path, final in finals if final == "distroless"), None)
        if where is not None and self.distro == "alpine":
            raise FieldError(
                where,
                "`final: distroless` stages Debian packages with apt; alpine images are "
                "already small: use the hardened form with remove_shells",
            )
        return self

    @model_validator(mode="after")
    def _distroless_packages(self) -> Recipe:
        variant_names = {v.name for v in self.variants}
        forms: list[tuple[Variant | None, Final, Path_]] = [(None, self.final, ())]
        forms += [(v, v.final or self.final, ("variants", i)) for i, v in enumerate(self.variants)]
        for variant, final, at in forms:
            if final != "distroless":
                continue
            refused = distroless.refused_packages((*self.packages, *(variant.packages if variant else ())))
            if refused:
                where = f"variant {variant.name!r}" if variant else "the recipe"
                # The first refused package, where it is listed: the variant's list or the recipe's.
                path = (
                    (*at, "packages", variant.packages.index(refused[0]))
                    if variant and refused[0] in variant.packages
                    else ("packages", self.packages.index(refused[0]))
                )
                raise FieldError(
                    path,
                    f"{where} is distroless, which carries no shell or package "
                    f"manager, so {', '.join(refused)} cannot be staged; drop them, or "
                    "make it `final: hardened`",
                )
            debug = distroless.companion(variant.name if variant else None)
            if debug in variant_names:
                clash = next(i for i, v in enumerate(self.variants) if v.name == debug)
                raise FieldError(
                    ("variants", clash, "name"),
                    f"{debug!r} is the name of the debug companion of the distroless image; rename that variant",
                )
        return self

    @model_validator(mode="after")
    def _main_package_installed(self) -> Recipe:
        if self.main_package not in (None, *self.packages):
            raise FieldError(("main_package",), f"{self.main_package!r} is not in `packages`: name one of them")
        return self

    @model_validator(mode="after")
    def _shells_need_entrypoint(self) -> Recipe:
        if self.hardening.remove_shells and self.entrypoint is None:
            raise FieldError(
                ("hardening", "remove_shells"),
                "needs an `entrypoint`: without a shell the image has nothing else to run",
            )
        return self


class OverlayRepository(Repository):
    distro: Distro | None = Field(None, description="Only recipes of this distro get it; default all")

    def for_recipe(self) -> Repository:
        return Repository.model_validate(self.model_dump(exclude={"distro"}))


class Overlay(Frozen):
    """recipes/_overlay.yaml: what the organization adds to every recipe of the channel.

    Lists append (the overlay's items first), maps merge; the same item twice is one item,
    and the same key or destination with two different values is an error naming both.
    """

    repositories: tuple[OverlayRepository, ...] = ()
    ca_certificates: tuple[RepoPath, ...] = ()
    files: tuple[FileEntry, ...] = ()
    packages: tuple[Text, ...] = ()
    labels: dict[LabelKey, Text] = Field(default_factory=dict)
