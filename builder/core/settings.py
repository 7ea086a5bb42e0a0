"""Channel settings: `[tool.builder]` of pyproject.toml, overridden by BUILDER_* variables."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builder.core import reference as imageref
from builder.core.errors import ConfigError

_REGISTRY = re.compile(r"[a-zA-Z0-9.-]+(?::[0-9]+)?")
_NAMESPACE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
KEYS = ("recipes_dir", "output_dir", "registry", "namespace", "upstream_mirrors", "source_url",
        "apt_mirrors", "cache_dir", "github_repository", "github_api_url", "reviewers", "git_remote",
        "auto_release", "trusted_keys", "revoked_keys", "require_signing")


@dataclass(frozen=True)
class Settings:
    root: Path
    recipes_dir: Path
    output_dir: Path
    registry: str = "127.0.0.1:5000"
    namespace: str = "base"
    upstream_mirrors: Mapping[str, str] = field(default_factory=dict)
    source_url: str = ""
    apt_mirrors: Mapping[str, str] = field(default_factory=dict)
    cache_dir: Path = Path.home() / ".cache" / "builder"
    github_repository: str = ""
    github_api_url: str = "https://api.github.com"
    reviewers: tuple[str, ...] = ()
    git_remote: str = "origin"
    auto_release: str = "none"  # none | patch: release patch-level rebuilds as soon as they pass
    # Public keys (PEM files, relative to the root) that verify the channel's signatures, and
    # those no longer trusted: several trusted keys let a new key take over before the old goes.
    trusted_keys: tuple[Path, ...] = ()
    revoked_keys: tuple[Path, ...] = ()
    require_signing: bool = False  # a release without BUILDER_SIGNING_KEY fails (else: a warning)

    def image_repository(self, name: str) -> str:
        """Where the channel publishes image line `name`: REGISTRY/NAMESPACE/NAME."""
        return f"{self.registry}/{self.namespace}/{name}"

    def pull_reference(self, upstream: str) -> imageref.ImageRef:
        """The upstream reference as it is pulled, through a mirror when one is set."""
        ref = imageref.parse(upstream)
        mirror = self.upstream_mirrors.get(ref.domain)
        return ref.with_domain(mirror) if mirror else ref


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` whose pyproject.toml has [tool.builder]."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.builder]" in candidate.read_text(encoding="utf-8"):
            return folder
    return start


def load(root: Path, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    table: dict[str, object] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
        table = dict(data.get("tool", {}).get("builder", {}))
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, 1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(KEYS)
            raise ConfigError(f"pyproject.toml: [tool.builder] {key}: unknown setting ({hint})")
    # GitHub Actions names the repository and API for every job.
    for key, variable in (("github_repository", "GITHUB_REPOSITORY"), ("github_api_url", "GITHUB_API_URL")):
        if env.get(variable):
            table[key] = env[variable]
    for key in KEYS:
        override = env.get(f"BUILDER_{key.upper()}")
        if override is not None:
            if key.endswith("_mirrors"):
                table[key] = _parse_mirrors(override)
            elif key in ("reviewers", "trusted_keys", "revoked_keys"):
                table[key] = [r.strip() for r in override.split(",") if r.strip()]
            else:
                table[key] = override
    return _validate(root, table)


def _parse_mirrors(text: str) -> dict[str, str]:
    mirrors: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        domain, sep, mirror = item.partition("=")
        if not sep:
            raise ConfigError(f"mirrors: {item!r} is not FROM=TO "
                              "(e.g. docker.io=127.0.0.1:5000 or http://deb.debian.org/debian=http://mirror/debian)")
        mirrors[domain.strip()] = mirror.strip()
    return mirrors


def _validate(root: Path, table: dict[str, object]) -> Settings:
    def text(key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"[tool.builder] {key}: expected a non-empty string")
        return value

    registry = text("registry", "127.0.0.1:5000")
    if not _REGISTRY.fullmatch(registry):
        raise ConfigError(f"[tool.builder] registry: {registry!r} is not HOST[:PORT]")
    namespace = text("namespace", "base")
    if not _NAMESPACE.fullmatch(namespace):
        raise ConfigError(f"[tool.builder] namespace: {namespace!r} is not a repository path "
                          "(lowercase components separated by /)")
    mirrors = table.get("upstream_mirrors", {})
    if not isinstance(mirrors, dict):
        raise ConfigError("[tool.builder] upstream_mirrors: expected a table of DOMAIN = MIRROR")
    for domain, mirror in mirrors.items():
        if not isinstance(mirror, str) or not _REGISTRY.fullmatch(mirror) or not _REGISTRY.fullmatch(domain):
            raise ConfigError(f"[tool.builder] upstream_mirrors: {domain} = {mirror!r} is not "
                              "DOMAIN = HOST[:PORT]")
    apt_mirrors = table.get("apt_mirrors", {})
    if not isinstance(apt_mirrors, dict) or not all(
            isinstance(v, str) and str(k).startswith(("http://", "https://")) and v.startswith(("http://", "https://"))
            for k, v in apt_mirrors.items()):
        raise ConfigError("[tool.builder] apt_mirrors: expected a table of \"http://repo\" = \"http://mirror\"")
    default_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "builder"
    return Settings(
        root=root,
        recipes_dir=root / text("recipes_dir", "recipes"),
        output_dir=root / text("output_dir", "base-images"),
        registry=registry,
        namespace=namespace,
        upstream_mirrors=dict(mirrors),
        source_url=str(table.get("source_url", "")),
        apt_mirrors={str(k): str(v) for k, v in apt_mirrors.items()},
        cache_dir=Path(str(table.get("cache_dir") or default_cache)),
        github_repository=str(table.get("github_repository", "")),
        github_api_url=str(table.get("github_api_url", "https://api.github.com")),
        reviewers=_names(table.get("reviewers", [])),
        git_remote=str(table.get("git_remote", "origin")),
        auto_release=_auto_release(table.get("auto_release", "none")),
        trusted_keys=tuple(root / p for p in _paths("trusted_keys", table.get("trusted_keys", []))),
        revoked_keys=tuple(root / p for p in _paths("revoked_keys", table.get("revoked_keys", []))),
        require_signing=_flag("require_signing", table.get("require_signing", False)),
    )


def _auto_release(value: object) -> str:
    if value not in ("none", "patch"):
        raise ConfigError(f"[tool.builder] auto_release: {value!r} is not one of none, patch")
    return str(value)


def _paths(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"[tool.builder] {key}: expected a list of public key files (PEM), "
                          "e.g. [\"keys/cosign.pub\"]")
    return tuple(value)


def _flag(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # from the environment
        return value == "true"
    raise ConfigError(f"[tool.builder] {key}: {value!r} is not true or false")


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("[tool.builder] reviewers: expected a list of GitHub user names")
    return tuple(value)
