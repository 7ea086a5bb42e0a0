"""Channel settings: defaults, the precedence of [tool.builder] < GITHUB_* < BUILDER_*, and the
exact line each bad setting gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.core import settings
from builder.core.errors import ConfigError

KEY_FILES = 'expected a list of public key files (PEM), e.g. ["keys/cosign.pub"]'
ALLOWED = (
    "recipes_dir, output_dir, registry, namespace, upstream_mirrors, source_url, apt_mirrors, cache_dir, "
    "github_repository, github_api_url, reviewers, git_remote, auto_release, trusted_keys, revoked_keys, "
    "require_signing, lifecycle, lifecycle_window"
)

BAD: list[tuple[str, dict[str, str], str]] = [
    ("registry = ''", {}, "[tool.builder] registry: expected a non-empty string"),
    ("registry = 5000", {}, "[tool.builder] registry: expected a non-empty string"),
    ("registry = 'https://r.example'", {}, "[tool.builder] registry: 'https://r.example' is not HOST[:PORT]"),
    ("", {"BUILDER_REGISTRY": "r.example:5000\n"}, "[tool.builder] registry: 'r.example:5000\\n' is not HOST[:PORT]"),
    (
        "namespace = 'Base'",
        {},
        "[tool.builder] namespace: 'Base' is not a repository path (lowercase components separated by /)",
    ),
    ("namespace = []", {}, "[tool.builder] namespace: expected a non-empty string"),
    ("recipes_dir = ''", {}, "[tool.builder] recipes_dir: expected a non-empty string"),
    ("output_dir = 1", {}, "[tool.builder] output_dir: expected a non-empty string"),
    ("upstream_mirrors = 'docker.io=m'", {}, "[tool.builder] upstream_mirrors: expected a table of DOMAIN = MIRROR"),
    (
        "upstream_mirrors = { 'docker.io' = 'http://m' }",
        {},
        "[tool.builder] upstream_mirrors: docker.io = 'http://m' is not DOMAIN = HOST[:PORT]",
    ),
    (
        "",
        {"BUILDER_UPSTREAM_MIRRORS": "docker.io"},
        "mirrors: 'docker.io' is not FROM=TO (e.g. docker.io=127.0.0.1:5000 or "
        "http://deb.debian.org/debian=http://mirror/debian)",
    ),
    (
        "apt_mirrors = { 'deb.debian.org' = 'http://m' }",
        {},
        '[tool.builder] apt_mirrors: expected a table of "http://repo" = "http://mirror"',
    ),
    (
        "",
        {"BUILDER_APT_MIRRORS": "http://deb.debian.org/debian=mirror"},
        '[tool.builder] apt_mirrors: expected a table of "http://repo" = "http://mirror"',
    ),
    ("reviewers = 'octocat'", {}, "[tool.builder] reviewers: expected a list of GitHub user names"),
    ("reviewers = [1]", {}, "[tool.builder] reviewers: expected a list of GitHub user names"),
    ("auto_release = 'minor'", {}, "[tool.builder] auto_release: 'minor' is not one of none, patch"),
    ("", {"BUILDER_AUTO_RELEASE": "yes"}, "[tool.builder] auto_release: 'yes' is not one of none, patch"),
    ("trusted_keys = 'a.pub'", {}, f"[tool.builder] trusted_keys: {KEY_FILES}"),
    ("revoked_keys = ['']", {}, f"[tool.builder] revoked_keys: {KEY_FILES}"),
    ("require_signing = 'yes'", {}, "[tool.builder] require_signing: 'yes' is not true or false"),
    ("", {"BUILDER_REQUIRE_SIGNING": "1"}, "[tool.builder] require_signing: '1' is not true or false"),
    (
        "lifecycle = 'debian'",
        {},
        '[tool.builder] lifecycle: expected a table of "DISTRO/CODENAME" = {lts = "YYYY-MM-DD", ...}',
    ),
    (
        "lifecycle = { 'fedora/41' = { lts = '2026-01-01' } }",
        {},
        "[tool.builder] lifecycle: 'fedora/41' is not DISTRO/CODENAME (debian, ubuntu or alpine), e.g. debian/bookworm",
    ),
    (
        "lifecycle = { 'debian/bookworm' = {} }",
        {},
        '[tool.builder] lifecycle: debian/bookworm: expected a table of dates, e.g. {lts = "2028-06-30"}',
    ),
    (
        "lifecycle = { 'debian/bookworm' = { eol = '2026-01-01' } }",
        {},
        "[tool.builder] lifecycle: debian/bookworm: 'eol' is not one of released, security, lts, extended",
    ),
    (
        "lifecycle = { 'debian/bookworm' = { lts = '2028-02-30' } }",
        {},
        "[tool.builder] lifecycle: debian/bookworm: lts: expected a date YYYY-MM-DD in quotes",
    ),
    (
        "lifecycle = { 'debian/bookworm' = { lts = 2028-06-30 } }",
        {},
        "[tool.builder] lifecycle: debian/bookworm: lts: expected a date YYYY-MM-DD in quotes",
    ),
    ("lifecycle_window = -1", {}, "[tool.builder] lifecycle_window: -1 is not a number of days (0 to 9999)"),
    (
        "",
        {"BUILDER_LIFECYCLE_WINDOW": "6 months"},
        "[tool.builder] lifecycle_window: '6 months' is not a number of days (0 to 9999)",
    ),
    ("registy = 'r.example'", {}, "pyproject.toml: [tool.builder] registy: unknown setting (did you mean 'registry'?)"),
    ("zzz = 1", {}, f"pyproject.toml: [tool.builder] zzz: unknown setting (allowed: {ALLOWED})"),
]


@pytest.mark.parametrize(("table", "env", "expected"), BAD)
def test_bad_settings(tmp_path: Path, table: str, env: dict[str, str], expected: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.builder]\n{table}\n")
    with pytest.raises(ConfigError) as refused:
        settings.load(tmp_path, env)
    assert refused.value.lines() == [expected]


def test_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\nregistry = \n")
    with pytest.raises(ConfigError) as refused:
        settings.load(tmp_path, {})
    assert refused.value.lines() == [
        f"{tmp_path / 'pyproject.toml'}: invalid TOML: Invalid value (at line 2, column 12)"
    ]


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loaded = settings.load(tmp_path, {})
    assert (loaded.root, loaded.recipes_dir, loaded.output_dir) == (
        tmp_path,
        tmp_path / "recipes",
        tmp_path / "base-images",
    )
    assert (loaded.registry, loaded.namespace, loaded.source_url, loaded.github_repository) == (
        "127.0.0.1:5000",
        "base",
        "",
        "",
    )
    assert (loaded.github_api_url, loaded.git_remote, loaded.auto_release) == (
        "https://api.github.com",
        "origin",
        "none",
    )
    assert (dict(loaded.upstream_mirrors), dict(loaded.apt_mirrors), loaded.reviewers) == ({}, {}, ())
    assert (loaded.trusted_keys, loaded.revoked_keys, loaded.require_signing) == ((), (), False)
    assert loaded.cache_dir == tmp_path / "cache" / "builder"
    assert (dict(loaded.lifecycle), loaded.lifecycle_window) == ({}, 180)
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\ncache_dir = ''\n")
    assert settings.load(tmp_path, {}).cache_dir == tmp_path / "cache" / "builder"


def test_the_environment_overrides_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.builder]\nregistry = 'r.example'\nnamespace = 'a'\nrecipes_dir = 'r'\ngithub_repository = 'o/t'\n"
        "reviewers = ['x']\nupstream_mirrors = { 'docker.io' = 'm.example' }\ntrusted_keys = ['k/a.pub']\n"
        "auto_release = 'patch'\nrequire_signing = true\n"
    )
    from_table = settings.load(tmp_path, {})
    assert (from_table.registry, from_table.namespace, from_table.recipes_dir) == ("r.example", "a", tmp_path / "r")
    assert (from_table.github_repository, from_table.reviewers) == ("o/t", ("x",))
    assert (dict(from_table.upstream_mirrors), from_table.trusted_keys) == (
        {"docker.io": "m.example"},
        (tmp_path / "k" / "a.pub",),
    )
    assert (from_table.auto_release, from_table.require_signing) == ("patch", True)
    env = {
        "BUILDER_REGISTRY": "e.example:5000",
        "GITHUB_REPOSITORY": "o/actions",
        "BUILDER_REVIEWERS": "a, b,",
        "BUILDER_UPSTREAM_MIRRORS": "docker.io = e.example",
        "BUILDER_TRUSTED_KEYS": "/keys/b.pub",
        "BUILDER_AUTO_RELEASE": "none",
        "BUILDER_REQUIRE_SIGNING": "false",
        "BUILDER_OUTPUT_DIR": "/out",
    }
    loaded = settings.load(tmp_path, env)
    assert (loaded.registry, loaded.namespace, loaded.github_repository) == ("e.example:5000", "a", "o/actions")
    assert (loaded.reviewers, dict(loaded.upstream_mirrors)) == (("a", "b"), {"docker.io": "e.example"})
    assert (loaded.trusted_keys, loaded.output_dir) == ((Path("/keys/b.pub"),), Path("/out"))
    assert (loaded.auto_release, loaded.require_signing) == ("none", False)
    assert settings.load(tmp_path, {**env, "BUILDER_GITHUB_REPOSITORY": "o/builder"}).github_repository == "o/builder"
