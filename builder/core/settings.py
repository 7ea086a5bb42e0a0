"""Channel settings: `[tool.builder]` of pyproject.toml, overridden by BUILDER_* variables.

`Settings` holds each setting's type and default once; `load` gathers the table and the
environment, and turns the first value it refuses into one ConfigError line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from builder.core import reference as imageref
from builder.core.errors import ConfigError

_REGISTRY = re.compile(r"[a-zA-Z0-9.-]+(?::[0-9]+)?")
_NAMESPACE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_PATTERNS = {
    "registry": (_REGISTRY, "HOST[:PORT]"),
    "namespace": (_NAMESPACE, "a repository path (lowercase components separated by /)"),
}
_LINE = re.compile(r"(?:debian|ubuntu|alpine)/[a-z0-9][a-z0-9.]*")
_DATE_KEYS = ("released", "security", "lts", "extended")
_KEY_FILES = 'expected a list of public key files (PEM), e.g. ["keys/cosign.pub"]'


def is_date(value: object) -> bool:
    """Is `value` a calendar date written YYYY-MM-DD?"""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "builder"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    root: Path
    # Folders are relative to the root.
    recipes_dir: Path = Field(Path("recipes"), validate_default=True)
    output_dir: Path = Field(Path("base-images"), validate_default=True)
    registry: str = "127.0.0.1:5000"
    namespace: str = "base"
    upstream_mirrors: Mapping[str, str] = Field(default_factory=dict)  # registry domain -> mirror
    source_url: str = ""
    apt_mirrors: Mapping[str, str] = Field(default_factory=dict)  # repository URL -> mirror URL
    cache_dir: Path = Field(default_factory=_default_cache)
    github_repository: str = ""
    github_api_url: str = "https://api.github.com"
    reviewers: tuple[str, ...] = ()
    git_remote: str = "origin"
    # patch: release patch-level rebuilds as soon as they pass.
    auto_release: Literal["none", "patch"] = "none"
    # Public keys (PEM files, relative to the root) that verify the channel's signatures, and
    # those no longer trusted: several trusted keys let a new key take over before the old goes.
    trusted_keys: tuple[Path, ...] = ()
    revoked_keys: tuple[Path, ...] = ()
    require_signing: bool = False  # a release without BUILDER_SIGNING_KEY fails (else: a warning)
    # An organization's own support dates, over the distribution's: "debian/bookworm" = {lts = "2027-06-30"}.
    lifecycle: Mapping[str, Mapping[str, str]] = Field(default_factory=dict)
    lifecycle_window: int = Field(
        180, description="Days before the end of regular security support that watch starts to warn"
    )

    def image_repository(self, name: str) -> str:
        """Where the channel publishes image line `name`: REGISTRY/NAMESPACE/NAME."""
        return f"{self.registry}/{self.namespace}/{name}"

    def pull_reference(self, upstream: str) -> imageref.ImageRef:
        """The upstream reference as it is pulled, through a mirror when one is set."""
        ref = imageref.parse(upstream)
        mirror = self.upstream_mirrors.get(ref.domain)
        return ref.with_domain(mirror) if mirror else ref

    # Validators refuse with the message ConfigError shows after "[tool.builder] FIELD: ".
    @field_validator("registry", "namespace", "recipes_dir", "output_dir", mode="before")
    @classmethod
    def _non_empty(cls, value: object) -> object:
        if isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value:
            raise ValueError("expected a non-empty string")
        return value

    @field_validator("registry", "namespace")
    @classmethod
    def _whole_value(cls, value: str, info: ValidationInfo) -> str:
        pattern, what = _PATTERNS[str(info.field_name)]
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    @field_validator("upstream_mirrors", mode="before")
    @classmethod
    def _upstream_mirrors(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError("expected a table of DOMAIN = MIRROR")
        for domain, mirror in value.items():
            if not isinstance(mirror, str) or not _REGISTRY.fullmatch(mirror) or not _REGISTRY.fullmatch(domain):
                raise ValueError(f"{domain} = {mirror!r} is not DOMAIN = HOST[:PORT]")
        return value

    @field_validator("apt_mirrors", mode="before")
    @classmethod
    def _apt_mirrors(cls, value: object) -> object:
        web = ("http://", "https://")
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and str(k).startswith(web) and v.startswith(web) for k, v in value.items()
        ):
            raise ValueError('expected a table of "http://repo" = "http://mirror"')
        return {str(k): v for k, v in value.items()}

    @field_validator("recipes_dir", "output_dir", "trusted_keys", "revoked_keys")
    @classmethod
    def _under_root(cls, value: Path | tuple[Path, ...], info: ValidationInfo) -> Path | tuple[Path, ...]:
        root: Path = info.data["root"]
        return root / value if isinstance(value, Path) else tuple(root / path for path in value)

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _cache_dir(cls, value: object) -> object:
        return str(value) if value else _default_cache()  # empty: the default

    @field_validator("source_url", "github_repository", "github_api_url", "git_remote", mode="before")
    @classmethod
    def _text(cls, value: object) -> str:
        return str(value)

    @field_validator("reviewers", mode="before")
    @classmethod
    def _reviewers(cls, value: object) -> object:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of GitHub user names")
        return value

    @field_validator("auto_release", mode="before")
    @classmethod
    def _auto_release(cls, value: object) -> object:
        if value not in ("none", "patch"):
            raise ValueError(f"{value!r} is not one of none, patch")
        return value

    @field_validator("trusted_keys", "revoked_keys", mode="before")
    @classmethod
    def _key_files(cls, value: object) -> object:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(_KEY_FILES)
        return value

    @field_validator("lifecycle", mode="before")
    @classmethod
    def _lifecycle(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError('expected a table of "DISTRO/CODENAME" = {lts = "YYYY-MM-DD", ...}')
        for line, dates in value.items():
            if not _LINE.fullmatch(str(line)):
                raise ValueError(f"{line!r} is not DISTRO/CODENAME (debian, ubuntu or alpine), e.g. debian/bookworm")
            if not isinstance(dates, dict) or not dates:
                raise ValueError(f'{line}: expected a table of dates, e.g. {{lts = "2028-06-30"}}')
            for key, date in dates.items():
                if key not in _DATE_KEYS:
                    raise ValueError(f"{line}: {key!r} is not one of {', '.join(_DATE_KEYS)}")
                if not is_date(date):
                    raise ValueError(f"{line}: {key}: expected a date YYYY-MM-DD in quotes")
        return value

    @field_validator("lifecycle_window", mode="before")
    @classmethod
    def _window(cls, value: object) -> object:
        text = str(value)
        if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,4}", text):
            raise ValueError(f"{value!r} is not a number of days (0 to 9999)")
        return int(text)

    @field_validator("require_signing", mode="before")
    @classmethod
    def _flag(cls, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):  # from the environment
            return value == "true"
        raise ValueError(f"{value!r} is not true or false")


KEYS = tuple(name for name in Settings.model_fields if name != "root")
_LISTS = ("reviewers", "trusted_keys", "revoked_keys")
_TABLES_ONLY = ("lifecycle",)  # no environment variable: a table does not fit in one


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
        if key in _TABLES_ONLY:
            continue
        override = env.get(f"BUILDER_{key.upper()}")
        if override is not None:
            if key.endswith("_mirrors"):
                table[key] = _parse_mirrors(override)
            elif key in _LISTS:
                table[key] = [r.strip() for r in override.split(",") if r.strip()]
            else:
                table[key] = override
    try:
        return Settings.model_validate({**table, "root": root})
    except ValidationError as exc:
        error: Any = exc.errors()[0]
        raise ConfigError(
            f"[tool.builder] {error['loc'][0]}: {str(error['msg']).removeprefix('Value error, ')}"
        ) from None


def _parse_mirrors(text: str) -> dict[str, str]:
    mirrors: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        domain, sep, mirror = item.partition("=")
        if not sep:
            raise ConfigError(
                f"mirrors: {item!r} is not FROM=TO "
                "(e.g. docker.io=127.0.0.1:5000 or http://deb.debian.org/debian=http://mirror/debian)"
            )
        mirrors[domain.strip()] = mirror.strip()
    return mirrors
