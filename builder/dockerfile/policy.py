"""The hardening policy: rules with ids, anchors and fix hints, run on recipes and Dockerfiles."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from builder.channel import lifecycle
from builder.channel.layout import ImageFiles
from builder.core import plaintext
from builder.core.files import read_if_exists
from builder.core.settings import Settings
from builder.dockerfile import hadolint, render, syntax
from builder.recipe import names
from builder.recipe.graph import Channel
from builder.recipe.variants import ImageSpec

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    anchor: str
    hint: str
    severity: Severity


@dataclass(frozen=True)
class Finding:
    rule: Rule
    image: str
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return plaintext.line(f"{where}: {self.rule.id} {self.rule.severity}: {self.message} (fix: {self.rule.hint})")

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "severity": self.rule.severity,
            "anchor": self.rule.anchor,
            "hint": self.rule.hint,
            "image": self.image,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


RULES = {
    rule.id: rule
    for rule in (
        Rule(
            "HB001",
            "Base image is pinned by digest",
            "CIS Docker Benchmark 4.2; hadolint DL3006/DL3007",
            "run `builder build` to resolve the digest into image.lock.json, then `builder render`",
            "warning",
        ),
        Rule(
            "HB002",
            "Last USER is a numeric, non-root uid:gid",
            "CIS Docker Benchmark 4.1; hadolint DL3002; dockle CIS-DI-0001",
            "end the Dockerfile with `USER uid:gid`, both non-zero (render it from the recipe)",
            "error",
        ),
        Rule(
            "HB003",
            "setuid/setgid bits are stripped",
            "CIS Docker Benchmark 4.8; dockle CIS-DI-0008",
            "set hardening.strip_setuid: true and list needed files in hardening.setuid_allow",
            "error",
        ),
        Rule(
            "HB004",
            "apt installs without recommended packages",
            "CIS Docker Benchmark 4.3; hadolint DL3015",
            "add --no-install-recommends to every apt-get install",
            "error",
        ),
        Rule(
            "HB005",
            "Package index and caches are removed in the layer that made them",
            "hadolint DL3009/DL3019; dockle DKL-DI-0005",
            "remove /var/lib/apt/lists/* in the same RUN, or use apk --no-cache",
            "error",
        ),
        Rule(
            "HB006",
            "Package index refresh is never alone in a RUN",
            "CIS Docker Benchmark 4.7; dockle CIS-DI-0007",
            "refresh and install in the same RUN instruction",
            "error",
        ),
        Rule(
            "HB007",
            "COPY, never ADD",
            "CIS Docker Benchmark 4.9; hadolint DL3020; dockle CIS-DI-0009",
            "use COPY for local files; fetch remote files in a verified RUN step",
            "error",
        ),
        Rule(
            "HB008",
            "No secrets in environment variables or labels",
            "CIS Docker Benchmark 4.10; dockle CIS-DI-0010",
            "pass secrets at run time (mounted files, orchestrator secrets), never bake them in",
            "error",
        ),
        Rule(
            "HB009",
            "ENTRYPOINT and CMD use the exec (JSON) form",
            "hadolint DL3025",
            "write them as JSON arrays (the renderer does)",
            "error",
        ),
        Rule(
            "HB010",
            "The package database stays for scanners",
            "dockle DKL-LI-0003 rationale; distroless status.d",
            "never delete /var/lib/dpkg or /lib/apk/db: scanners read the installed packages there",
            "error",
        ),
        Rule(
            "HB011",
            "No privilege-escalation tools",
            "dockle DKL-DI-0001",
            "remove sudo/doas from packages; the image runs as its own non-root user",
            "error",
        ),
        Rule(
            "HB012",
            "The recipe declares tests",
            "project policy: every image line is tested",
            "add `tests:` with at least one command that proves the image works",
            "warning",
        ),
        Rule(
            "HB013",
            "The Dockerfile is the rendered output of its recipe",
            "project policy",
            "run `builder render` and commit the result; never edit base-images/ by hand",
            "error",
        ),
        Rule(
            "HB014",
            "hadolint reports nothing",
            "hadolint",
            "fix the recipe or template so the rendered Dockerfile is clean",
            "error",
        ),
        Rule(
            "HB015",
            "Trusted CA certificates are not about to expire",
            "project policy",
            "commit the CA's renewed certificate before the old one expires: an expired one stops every build",
            "warning",
        ),
        Rule(
            "HB016",
            "The distro release is still supported (LTS at least)",
            "project policy; distro-info-data",
            "move the line to a supported release (`builder watch` names it), or keep it with "
            '`accept_eol: "why"` in the recipe',
            "error",
        ),
    )
}

EXPIRY_WARNING = dt.timedelta(days=30)

_ESCALATION = {"sudo", "doas", "sudo-ldap", "su-exec"}
_USER = re.compile(r"(\d+):(\d+)")


def check_recipe(
    channel: Channel, image: ImageSpec, now: dt.datetime | None = None, support: lifecycle.Table | None = None
) -> list[Finding]:
    loaded = channel.recipes[image.name]
    findings = []

    def add(rule_id: str, path: tuple[str | int, ...], message: str) -> None:
        doc, where = loaded.origin(path)
        line, _ = doc.position(where)
        findings.append(Finding(RULES[rule_id], image.id, doc.file, line, message))

    hardening = image.recipe.hardening
    if not hardening.strip_setuid:
        add("HB003", ("hardening", "strip_setuid"), "setuid/setgid stripping is turned off")
    for path, package in _packages(image):
        if package in _ESCALATION:
            add("HB011", path, f"{package} lets a process become root")
    for key in image.env:
        if names.looks_secret(key):
            add("HB008", ("env", key), f"environment variable {key} looks like a secret")
    for key in image.labels:
        if names.looks_secret(key.replace(".", "_").replace("-", "_")):
            add("HB008", ("labels", key), f"label {key} looks like a secret")
    if not image.tests:
        add("HB012", ("tests",), f"{image.id} has no tests")
    now = now or dt.datetime.now(dt.UTC)
    certificates = [i.path for i in image.inputs if i.kind == "ca-certificate"]
    for item in image.inputs:
        for cert in item.certificates:
            left = dt.datetime.fromisoformat(cert.not_after.replace("Z", "+00:00")) - now
            if left < EXPIRY_WARNING:
                add(
                    "HB015",
                    ("ca_certificates", certificates.index(item.path)),
                    f"{cert.subject} in {item.path} expires on {cert.not_after[:10]} ({max(0, left.days)} days left)",
                )
    if support is not None:
        message = _unsupported(channel, image, support, now.date())
        if message is not None:
            add("HB016", _from_path(image), message)
    return findings


def _unsupported(channel: Channel, image: ImageSpec, support: lifecycle.Table, today: dt.date) -> str | None:
    """Why the image's distro release is past the end of its LTS, unless its recipe accepts that."""
    distro = image.recipe.distro
    codename = support.codename(distro, channel.root_of(image).from_.image, None)
    dates = support.dates(distro, codename) if codename else None
    if dates is None or image.recipe.accept_eol is not None:
        return None
    status = lifecycle.assess(dates, today, 0, support.successor(dates, today))
    return status.message if status.level == "unsupported" else None


def _from_path(image: ImageSpec) -> tuple[str | int, ...]:
    """Where the image's base is written: its variant's `from`, else the recipe's."""
    if image.variant is not None and image.variant.from_ is not None:
        return ("variants", image.recipe.variants.index(image.variant), "from")
    return ("from",)


def _packages(image: ImageSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """The image's packages with where each was written: the recipe's, then its variant's."""
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("packages", index), package) for index, package in enumerate(image.recipe.packages)
    ]
    if image.variant is not None:
        at = image.recipe.variants.index(image.variant)
        found += [
            (("variants", at, "packages", index), package) for index, package in enumerate(image.variant.packages)
        ]
    return found


def check_dockerfile(image: ImageSpec, path: str, text: str) -> list[Finding]:
    findings = []

    def add(rule_id: str, line: int | None, message: str) -> None:
        findings.append(Finding(RULES[rule_id], image.id, path, line, message))

    instructions = syntax.parse(text)
    users = [i for i in instructions if i.keyword == "USER"]
    for inst in instructions:
        # `scratch` is no image at all: there is nothing to pin.
        if inst.keyword == "FROM" and "@sha256:" not in inst.args and inst.args.split()[0] != "scratch":
            add("HB001", inst.line, f"FROM {inst.args} is not pinned by digest")
        elif inst.keyword == "ADD":
            add("HB007", inst.line, "ADD fetches and unpacks implicitly")
        elif inst.keyword in ("ENTRYPOINT", "CMD") and syntax.json_array(inst.args) is None:
            add("HB009", inst.line, f"{inst.keyword} uses the shell form")
        elif inst.keyword == "ENV":
            for key, _ in _pairs(inst.args):
                if names.looks_secret(key):
                    add("HB008", inst.line, f"ENV {key} looks like a secret")
        elif inst.keyword == "RUN":
            findings.extend(_check_run(image, path, inst))
    if not users:
        add("HB002", None, "no USER instruction: the image would run as root")
    else:
        last = users[-1]
        match = _USER.fullmatch(last.args)
        if match is None:
            add("HB002", last.line, f"USER {last.args} is not numeric uid:gid")
        elif int(match.group(1)) == 0 or int(match.group(2)) == 0:
            add("HB002", last.line, f"USER {last.args} is root")
    return findings


def _pairs(args: str) -> list[tuple[str, str]]:
    try:
        return syntax.key_values(args)
    except ValueError:
        return []


def _check_run(image: ImageSpec, path: str, inst: syntax.Instruction) -> list[Finding]:
    findings = []
    body = inst.args

    def add(rule_id: str, message: str) -> None:
        findings.append(Finding(RULES[rule_id], image.id, path, inst.line, message))

    for command in re.findall(r"apt-get\s+(?:-\S+\s+)*install\b[^;&|]*", body):
        if "--no-install-recommends" not in command:
            add("HB004", "apt-get install without --no-install-recommends")
    if "apt-get update" in body:
        if "install" not in body and "upgrade" not in body:
            add("HB006", "apt-get update alone in a RUN")
        if "/var/lib/apt/lists" not in body:
            add("HB005", "the apt package lists are left in the image")
    if re.search(r"apk\s+(add|upgrade)\b", body) and "--no-cache" not in body:
        add("HB005", "apk without --no-cache leaves the index in the image")
    if re.search(r"rm\s+(-\S+\s+)*(/var/lib/dpkg|/lib/apk/db)\b", body):
        add("HB010", "the package database is deleted")
    return findings


def lint(
    channel: Channel,
    selected: list[str],
    dockerfiles: dict[str, Path],
    expected: dict[str, str],
    root: Path,
    *,
    support: lifecycle.Table | None = None,
) -> list[Finding]:
    """All findings for the selected images: recipe rules, Dockerfile rules, then hadolint."""
    findings: list[Finding] = []
    present: dict[Path, ImageSpec] = {}
    for image_id in selected:
        image = channel.images[image_id]
        findings.extend(check_recipe(channel, image, support=support))
        path = dockerfiles[image_id]
        shown = str(path.relative_to(root))
        text = read_if_exists(path)
        if text is None:
            findings.append(Finding(RULES["HB013"], image_id, shown, None, "not rendered yet"))
            continue
        if text != expected[image_id]:
            findings.append(Finding(RULES["HB013"], image_id, shown, None, "differs from what the recipe renders to"))
        findings.extend(check_dockerfile(image, shown, text))
        present[path] = image
    for item in hadolint.run(sorted(present)):
        image = present[item.file]
        findings.append(
            Finding(
                RULES["HB014"],
                image.id,
                str(item.file.relative_to(root)),
                item.line,
                f"{item.code} ({item.level}): {item.message}",
            )
        )
    return sorted(findings, key=lambda f: (f.image, f.file, f.line or 0, f.rule.id))


def lint_rendered(settings: Settings, channel: Channel, selected: list[str]) -> list[Finding]:
    """`lint` against what the recipes render to now: a committed Dockerfile that differs is a finding."""
    outputs = render.render_all(settings, channel, selected)
    dockerfiles = {i: ImageFiles.of(settings, channel.images[i]).dockerfile for i in selected}
    return lint(
        channel,
        selected,
        dockerfiles,
        {i: outputs[dockerfiles[i]] for i in selected},
        settings.root,
        support=lifecycle.Table.load(settings),
    )


def failing(findings: list[Finding], *, strict: bool) -> list[Finding]:
    """The findings that fail `lint`: errors, and warnings too when `strict`."""
    return [f for f in findings if f.rule.severity == "error" or strict]
