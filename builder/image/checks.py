"""Checks on a built image: its config, its files, and the recipe's own tests.

Facts are gathered once (config from inspect, files from one export stream), then each
check is a pure function of them, so checks are unit-testable without an engine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from builder.core.facts import AptSource, OsRelease, Package
from builder.image import contents
from builder.image import filesystem_checks as fs
from builder.image.engine import Engine, RunResult
from builder.recipe import distroless, names
from builder.recipe.model import TestSpec
from builder.recipe.variants import ImageSpec
from builder.upstream import package_db

CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
_CACHE_PREFIXES = ("var/lib/apt/lists/", "var/cache/apt/", "var/cache/apk/", "etc/apk/cache/")
_CACHE_ALLOWED = {"var/lib/apt/lists/lock", "var/cache/apt/archives/lock"}


@dataclass
class ImageFacts:
    user: str
    env: dict[str, str]
    size: int
    setuid: list[str] = field(default_factory=list)
    shadow: str | None = None
    cache_files: list[str] = field(default_factory=list)
    dpkg_status: str | None = None
    dpkg_status_d: dict[str, str] = field(default_factory=dict)  # path -> control paragraph
    present: set[str] = field(default_factory=set)  # the shells and package tools found
    committed: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # path -> sha256, mode, uid:gid
    ca_bundle: str | None = None
    wanted: frozenset[str] = frozenset()  # the committed files' paths (no leading /) to look at
    apk_installed: str | None = None
    os_release: str | None = None
    apt_lists: dict[str, str] = field(default_factory=dict)  # path -> text
    files: fs.FileFacts = field(default_factory=fs.FileFacts)

    def os(self) -> OsRelease | None:
        return contents.parse_os_release(self.os_release) if self.os_release else None

    def apt_sources(self) -> tuple[AptSource, ...]:
        found: list[AptSource] = []
        for path, text in sorted(self.apt_lists.items()):
            if path.endswith(".sources"):
                found += contents.parse_sources(text)
            elif path == "etc/apk/repositories":
                found += contents.parse_apk_repositories(text)
            else:
                found += contents.parse_list(text)
        return tuple(dict.fromkeys(found))

    def packages(self) -> tuple[Package, ...]:
        if self.dpkg_status:
            return package_db.from_dpkg_status(self.dpkg_status)
        if self.dpkg_status_d:
            text = "\n\n".join(self.dpkg_status_d[path].strip() for path in sorted(self.dpkg_status_d))
            return package_db.from_dpkg_status(text, status_required=False)
        if self.apk_installed:
            return package_db.from_apk_installed(self.apk_installed)
        return ()


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    passed: bool
    detail: str = ""

    def __str__(self) -> str:
        state = "ok" if self.passed else "FAILED"
        return f"{self.id} {self.title}: {state}{': ' + self.detail if self.detail else ''}"


_WANTED = {
    package_db.DPKG_STATUS: "dpkg_status",
    package_db.APK_INSTALLED: "apk_installed",
    "etc/shadow": "shadow",
    "etc/os-release": "os_release",
    "usr/lib/os-release": "os_release",
}


def gather(engine: Engine, image: str, committed: Iterable[str] = ()) -> ImageFacts:
    """The facts checks need; `committed`: the absolute paths of files the recipe put there."""
    details = engine.inspect(image)
    facts = ImageFacts(
        user=details.user,
        env=dict(details.env),
        size=details.size,
        wanted=frozenset(path.lstrip("/") for path in committed),
    )
    for member, archive in engine.files(image):
        path = member.name.removeprefix("./")
        _note(facts, path, member, archive)
    return facts


_WATCHED = frozenset((*distroless.SHELLS, *distroless.PACKAGE_TOOLS, distroless.BUSYBOX_SHELL.lstrip("/")))


def _note(facts: ImageFacts, path: str, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
    facts.files.note(path, member, archive)
    if path in _WATCHED:
        facts.present.add(path)
    if path in facts.wanted:
        facts.committed[path] = _describe(member, archive)
    if path == CA_BUNDLE and member.isfile():
        handle = archive.extractfile(member)
        facts.ca_bundle = handle.read().decode("ascii", errors="replace") if handle is not None else ""
    if member.isfile() and member.mode & 0o6000:
        facts.setuid.append("/" + path)
    if member.isfile() and path.startswith(_CACHE_PREFIXES) and path not in _CACHE_ALLOWED:
        facts.cache_files.append("/" + path)
    if not member.isfile():
        return
    attribute = _WANTED.get(path)
    is_source = path in ("etc/apt/sources.list", "etc/apk/repositories") or (
        path.startswith("etc/apt/sources.list.d/") and path.endswith((".list", ".sources"))
    )
    is_control = path.startswith(package_db.DPKG_STATUS_D) and not path.endswith(".md5sums")
    if attribute or is_source or is_control:
        handle = archive.extractfile(member)
        text = handle.read().decode("utf-8", errors="replace") if handle is not None else ""
        if is_control:
            facts.dpkg_status_d[path] = text
        elif is_source:
            facts.apt_lists[path] = text
        elif attribute == "os_release":
            facts.os_release = facts.os_release or text
        elif attribute is not None:
            setattr(facts, attribute, text)


def _describe(member: tarfile.TarInfo, archive: tarfile.TarFile) -> tuple[str, str, str]:
    if not member.isfile():
        return ("not a regular file", "", "")
    handle = archive.extractfile(member)
    digest = hashlib.sha256(handle.read() if handle is not None else b"").hexdigest()
    return (digest, f"{member.mode & 0o7777:04o}", f"{member.uid}:{member.gid}")


_NUMERIC_USER = re.compile(r"(\d+)(?::(\d+))?")


def static_checks(image: ImageSpec, facts: ImageFacts) -> list[CheckResult]:
    results = []
    match = _NUMERIC_USER.fullmatch(facts.user)
    if match is None:
        results.append(
            CheckResult(
                "IC001", "numeric non-root user", False, f"config User is {facts.user or 'empty (root)'!r}, not uid:gid"
            )
        )
    elif int(match.group(1)) == 0 or (match.group(2) is not None and int(match.group(2)) == 0):
        results.append(CheckResult("IC001", "numeric non-root user", False, f"config User {facts.user} is root"))
    else:
        results.append(CheckResult("IC001", "numeric non-root user", True, facts.user))

    allowed = set(image.recipe.hardening.setuid_allow)
    extra = sorted(p for p in facts.setuid if p not in allowed)
    results.append(
        CheckResult(
            "IC002", "no setuid/setgid files", not extra, ", ".join(extra[:10]) + (" ..." if len(extra) > 10 else "")
        )
    )

    results.append(_shadow_check(facts.shadow))
    results.append(
        CheckResult(
            "IC004", "no package lists or caches", not facts.cache_files, ", ".join(sorted(facts.cache_files)[:10])
        )
    )
    secrets = sorted(k for k in facts.env if names.looks_secret(k))
    results.append(CheckResult("IC005", "no secret-looking environment names", not secrets, ", ".join(secrets)))
    count = len(facts.packages())
    results.append(
        CheckResult(
            "IC006",
            "package database present",
            count > 0,
            f"{count} packages"
            if count
            else "no /var/lib/dpkg/status, /var/lib/dpkg/status.d/ or "
            "/lib/apk/db/installed: scanners would see an empty image",
        )
    )
    runtime = f"{image.user.uid}:{image.user.gid}"
    user_owned = [i.destination for i in image.inputs if i.kind == "file" and i.owner == runtime]
    results += [
        CheckResult(f.id, f.title, not f.problems, fs.listing(f.problems))
        for f in fs.findings(
            facts.files,
            user=facts.user,
            home=image.user.home_dir,
            capabilities_allow=image.recipe.hardening.capabilities_allow,
            user_owned=user_owned,
            writable_paths=image.runtime.writable,
            extra_groups=(0,) if image.runtime.arbitrary_uid else (),
        )
    ]
    if image.final == "distroless":
        results.append(_distroless_check(image, facts))
    if any(i.kind == "file" for i in image.inputs):
        results.append(_committed_check(image, facts))
    if any(i.kind == "ca-certificate" for i in image.inputs):
        results.append(_trust_check(image, facts))
    return results


def _committed_check(image: ImageSpec, facts: ImageFacts) -> CheckResult:
    problems = []
    for item in image.inputs:
        if item.kind != "file":
            continue
        found = facts.committed.get(item.destination.lstrip("/"))
        wanted = (item.sha256, item.mode, item.owner)
        if found is None:
            problems.append(f"{item.destination} is missing")
        elif found != wanted:
            problems.append(
                f"{item.destination} is {' '.join(found)[:90]}, not {item.path} "
                f"({item.sha256[:12]} {item.mode} {item.owner})"
            )
    return CheckResult(
        "IC008", "committed files in place, unchanged, with their owner and mode", not problems, "; ".join(problems)
    )


def _trust_check(image: ImageSpec, facts: ImageFacts) -> CheckResult:
    title = "the trust store holds the recipe's CA certificates"
    if facts.ca_bundle is None:
        return CheckResult("IC009", title, False, f"/{CA_BUNDLE} is missing")
    # A fingerprint is the sha256 of the DER, so the bundle's certificates need no parsing (some
    # of the distro's own would warn, or one day fail, in a strict X.509 parser).
    try:
        bundle = {hashlib.sha256(base64.b64decode(body)).hexdigest() for body in _PEM_CERT.findall(facts.ca_bundle)}
    except binascii.Error as exc:
        return CheckResult("IC009", title, False, f"/{CA_BUNDLE} does not decode: {exc}")
    missing = [
        f"{c.subject} ({item.path})" for item in image.inputs for c in item.certificates if c.sha256 not in bundle
    ]
    return CheckResult(
        "IC009",
        title,
        not missing,
        "not in the bundle: " + "; ".join(missing) if missing else f"{len(bundle)} certificates",
    )


def _distroless_check(image: ImageSpec, facts: ImageFacts) -> CheckResult:
    problems = [f"/{p} is present" for p in sorted(facts.present & set(distroless.PACKAGE_TOOLS))]
    if image.debug:
        if distroless.BUSYBOX_SHELL.lstrip("/") not in facts.present:
            problems.append(f"{distroless.BUSYBOX_SHELL} is missing: the debug companion carries a busybox shell")
    else:
        shells = {*distroless.SHELLS, distroless.BUSYBOX_SHELL.lstrip("/")}
        problems += [f"/{p} is present" for p in sorted(facts.present & shells)]
    if not facts.dpkg_status_d or facts.dpkg_status:
        problems.append("package metadata is not in /var/lib/dpkg/status.d/ alone")
    title = (
        "debug companion: busybox shell, no package manager"
        if image.debug
        else "distroless: no shell, no package manager"
    )
    return CheckResult("IC007", title, not problems, "; ".join(problems))


def _shadow_check(shadow: str | None) -> CheckResult:
    if shadow is None:
        return CheckResult("IC003", "no passwords in /etc/shadow", True, "no /etc/shadow")
    bad = []
    for line in shadow.splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        secret = parts[1]
        if secret == "":
            bad.append(f"{parts[0]} has an empty password")
        elif not secret.startswith(("!", "*")):
            bad.append(f"{parts[0]} has a password hash")
    return CheckResult("IC003", "no passwords in /etc/shadow", not bad, "; ".join(bad))


def run_tests(engine: Engine, image_ref: str, image: ImageSpec) -> list[CheckResult]:
    results = []
    for test in image.tests:
        problems = test_problems(test, engine.run(image_ref, list(test.run)))
        results.append(
            CheckResult(f"test:{test.name}", f"recipe test {test.name!r}", not problems, "; ".join(problems))
        )
    return results


def test_problems(test: TestSpec, outcome: RunResult) -> list[str]:
    """How `outcome` differs from what `test` expects; empty when it passed."""
    problems = []
    if outcome.exit_code != test.exit_code:
        problems.append(f"exit code {outcome.exit_code}, expected {test.exit_code}")
    if test.stdout is not None and outcome.stdout.strip() != test.stdout.strip():
        problems.append(f"stdout {_clip(outcome.stdout)!r}, expected {test.stdout!r}")
    if problems and outcome.stderr.strip():
        problems.append(f"stderr {_clip(outcome.stderr)!r}")
    return problems


def failed(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed]


def _clip(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."
