"""Recipes to Dockerfiles: a pure function over the model, and the atomic write of base-images/."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import jinja2

from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.core.errors import StaleError
from builder.core.files import read_if_exists, write_many_atomic
from builder.core.reference import ImageRef
from builder.core.settings import Settings
from builder.dockerfile.syntax import exec_form, quote
from builder.recipe import distroless, inputs
from builder.recipe.graph import Channel
from builder.recipe.model import Repository, User
from builder.recipe.variants import ImageSpec

_SHELLS = {
    "debian": ["/bin/bash", "-o", "errexit", "-o", "nounset", "-o", "pipefail", "-c"],
    "ubuntu": ["/bin/bash", "-o", "errexit", "-o", "nounset", "-o", "pipefail", "-c"],
    "alpine": ["/bin/sh", "-o", "errexit", "-o", "nounset", "-o", "pipefail", "-c"],
}
_RUN_TEMPLATES = {"debian": "apt.j2", "ubuntu": "apt.j2", "alpine": "apk.j2"}


@dataclass(frozen=True)
class RenderInput:
    """Everything the Dockerfile depends on besides the recipe itself."""

    image: ImageSpec
    base: ImageRef  # as pulled; carries the digest when the lock pins it
    base_display: str  # what the base is called in labels (no digest)
    inherited_user: User | None  # the parent image's user, which already exists
    version: str = ""  # the version this build will be released as; default the recipe's
    # Distroless images start from scratch, so what ancestors gave by inheritance
    # (their packages and environment) is restated.
    inherited_packages: tuple[str, ...] = ()
    inherited_env: tuple[tuple[str, str], ...] = ()
    inherited_files: tuple[str, ...] = ()  # destinations of the ancestors' committed files

    @property
    def image_version(self) -> str:
        return self.version or self.image.recipe.version


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("builder.dockerfile", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # package files: no stat of every template on every render
        autoescape=False,  # noqa: S701 - output is a Dockerfile; values are escaped by quote()
    )


def render_dockerfile(data: RenderInput) -> str:
    image = data.image
    user = image.user
    labels = {
        "org.opencontainers.image.title": image.name,
        "org.opencontainers.image.description": image.description,
        "org.opencontainers.image.version": f"{data.image_version}{image.tag_suffix}",
        "org.opencontainers.image.base.name": data.base_display,
        **image.labels,
    }
    if data.base.digest:
        labels["org.opencontainers.image.base.digest"] = data.base.digest
    create_user = data.inherited_user != user
    context = {
        "source": image.source,
        "image_id": image.id,
        "version": data.image_version,
        "distro": image.recipe.distro,
        "pinned": data.base.digest is not None,
        "from_channel": data.inherited_user is not None,
        "from_reference": str(data.base),
        "shell": json.dumps(_SHELLS[image.recipe.distro]),
        "run_template": _RUN_TEMPLATES[image.recipe.distro],
        "packages": _packages(image),
        "apt_sources": [_source_line(repo) for repo in image.recipe.repositories],
        "sources_list": f"/etc/apt/sources.list.d/builder-{image.name}.list",
        "early_copies": [json.dumps([i.path, i.destination]) for i in image.inputs if i.kind != "file"],
        "file_copies": [(i.owner, json.dumps([i.path, i.destination])) for i in image.inputs if i.kind == "file"],
        "ca_certificates": any(item.kind == "ca-certificate" for item in image.inputs),
        "create_user": create_user,
        "user_name": user.name,
        "uid": user.uid,
        "gid": user.gid,
        "home": user.home_dir,
        "workdir": image.workdir,
        "workdir_needs_creating": image.workdir != user.home_dir,
        "strip_setuid": image.recipe.hardening.strip_setuid,
        "setuid_allow": list(image.recipe.hardening.setuid_allow),
        "remove_package_manager": image.recipe.hardening.remove_package_manager,
        "remove_shells": image.recipe.hardening.remove_shells,
        "labels": [(key, quote(value)) for key, value in sorted(labels.items())],
        "env": [(key, quote(value)) for key, value in sorted(image.env.items())],
        "entrypoint": exec_form(image.recipe.entrypoint) if image.recipe.entrypoint else "",
        "cmd": exec_form(image.recipe.cmd) if image.recipe.cmd else "",
        "ports": list(image.runtime.ports),
    }
    if image.final == "distroless":
        return _render_distroless(data, context)
    return _environment().get_template("Dockerfile.j2").render(context)


def _packages(image: ImageSpec) -> list[str]:
    wanted = set(image.packages)
    if any(item.kind == "ca-certificate" for item in image.inputs):
        wanted.add("ca-certificates")  # its update-ca-certificates adds them to the trust store
    return sorted(wanted)


def _source_line(repo: Repository) -> str:
    if repo.trusted:
        return f"deb [trusted=yes] {repo.url} {repo.suite} {' '.join(repo.components)}"
    if repo.suite is None:
        return repo.url  # an apk repository: one URL a line
    key = inputs.key_destination(repo.signed_by or "", alpine=False)
    return f"deb [signed-by={key}] {repo.url} {repo.suite} {' '.join(repo.components)}"


def _render_distroless(data: RenderInput, context: dict[str, object]) -> str:
    image = data.image
    user = image.user
    requested = set(data.inherited_packages) | set(image.packages)
    passwd, group = distroless.accounts(user.name, user.uid, user.gid, user.home_dir)
    env = {"PATH": distroless.PATH, **dict(data.inherited_env), **image.env}
    if image.debug:
        env["PATH"] = f"{env['PATH']}:{distroless.BUSYBOX_DIR}"
    context.update(
        {
            "debug": image.debug,
            "staging": distroless.STAGING,
            "unpacked": distroless.UNPACKED,
            "stage_script": distroless.stage_script(),
            "stage_script_path": distroless.STAGE_SCRIPT,
            "busybox": distroless.BUSYBOX_DIR,
            "packages": sorted(requested - set(distroless.DATA_ONLY)),
            # Files go straight into the staged root; certificates and keys serve the build stage.
            "file_copies": [
                (i.owner, json.dumps([i.path, distroless.STAGING + i.destination]))
                for i in image.inputs
                if i.kind == "file"
            ],
            "inherited_files": list(data.inherited_files),
            "data_only": list(distroless.DATA_ONLY),
            "not_staged": list(distroless.NOT_STAGED),
            "dropped": list(distroless.DROPPED_DIRS),
            "passwd": passwd,
            "group": group,
            "nsswitch": list(distroless.NSSWITCH),
            "env": [(key, quote(value)) for key, value in sorted(env.items())],
        }
    )
    return _environment().get_template("distroless.j2").render(context)


def base_reference(
    settings: Settings, channel: Channel, image: ImageSpec, *, read: dict[str, lockfile.Lock | None] | None = None
) -> tuple[ImageRef, str]:
    """The base as pulled (without digest) and as named in labels.

    `read`: the local locks read so far, by image id, for a caller that asks for many images
    (every child of a parent names the parent's version, read once).
    """
    parent = channel.parent(image)
    if parent is not None:
        repository = settings.image_repository(parent.name)
        domain, path = repository.split("/", 1)
        parent_lock = _local_lock(settings, parent, read)
        version = parent_lock.version if parent_lock else parent.recipe.version
        ref = ImageRef(domain, path, tag=f"{version}{parent.tag_suffix}")
        return ref, str(ref)
    upstream = str(image.from_.image)
    pulled = settings.pull_reference(upstream)
    return pulled, str(pulled)


def _local_lock(
    settings: Settings, image: ImageSpec, read: dict[str, lockfile.Lock | None] | None
) -> lockfile.Lock | None:
    if read is None:
        return ImageFiles.of(settings, image).read_lock()
    if image.id not in read:
        read[image.id] = ImageFiles.of(settings, image).read_lock()
    return read[image.id]


def render_input(
    settings: Settings,
    channel: Channel,
    image: ImageSpec,
    lock: lockfile.Lock | bool | None = True,
    *,
    read: dict[str, lockfile.Lock | None] | None = None,
) -> RenderInput:
    """What `image` renders from; `lock` is its lock when the caller has read it already;
    `read` as for base_reference()."""
    base, display = base_reference(settings, channel, image, read=read)
    if lock is True:
        lock = _local_lock(settings, image, read)
    # The lock pins the base only while it still names the same base; a recipe that
    # moved to another tag renders unpinned until the next build resolves it.
    if isinstance(lock, lockfile.Lock) and lock.base.reference == display:
        base = base.with_digest(lock.base.digest)
    parent = channel.parent(image)
    version = lock.version if isinstance(lock, lockfile.Lock) else ""
    return with_ancestry(channel, RenderInput(image, base, display, parent.user if parent else None, version))


def with_ancestry(channel: Channel, data: RenderInput) -> RenderInput:
    """`data` with what the image's ancestors contribute, for images that start from scratch."""
    if data.image.final != "distroless":
        return data
    packages: set[str] = set()
    env: dict[str, str] = {}
    files: set[str] = set()
    ancestor = channel.parent(data.image)
    while ancestor is not None:
        packages.update(ancestor.packages)
        env = {**ancestor.env, **env}
        files.update(i.destination for i in ancestor.inputs if i.kind == "file")
        ancestor = channel.parent(ancestor)
    own = {i.destination for i in data.image.inputs if i.kind == "file"}
    return replace(
        data,
        inherited_packages=tuple(sorted(packages)),
        inherited_env=tuple(sorted(env.items())),
        inherited_files=tuple(sorted(files - own)),
    )


def render_all(settings: Settings, channel: Channel, selected: list[str]) -> dict[Path, str]:
    """Every output file for the selected images, by path; nothing written."""
    outputs: dict[Path, str] = {}
    read: dict[str, lockfile.Lock | None] = {}
    for image_id in selected:
        image = channel.images[image_id]
        path = ImageFiles.of(settings, image).dockerfile
        outputs[path] = render_dockerfile(render_input(settings, channel, image, read=read))
    return outputs


def stale(outputs: dict[Path, str]) -> list[Path]:
    return [path for path, text in outputs.items() if read_if_exists(path) != text]


def write(outputs: dict[Path, str]) -> list[Path]:
    """Write the files that changed, each atomically; the paths written."""
    changed = stale(outputs)
    write_many_atomic({path: outputs[path] for path in changed})
    return changed


def check(outputs: dict[Path, str], root: Path) -> None:
    changed = stale(outputs)
    if changed:
        lines = ", ".join(str(p.relative_to(root)) for p in changed)
        raise StaleError(f"stale rendered files (run `builder render` and commit): {lines}")
