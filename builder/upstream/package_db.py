"""Installed packages, read from an image's own package database."""

from __future__ import annotations

from debian.deb822 import Deb822

from builder.core.facts import Package

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_D = "var/lib/dpkg/status.d/"
APK_INSTALLED = "lib/apk/db/installed"


def from_dpkg_status(text: str, status_required: bool = True) -> tuple[Package, ...]:
    """Packages whose status is `install ok installed`, sorted by name and architecture.

    Distroless images keep one control paragraph per package in /var/lib/dpkg/status.d/,
    without a Status field: there every paragraph is an installed package.
    """
    found = []
    for para in Deb822.iter_paragraphs(text.splitlines(), use_apt_pkg=False):
        if "Package" not in para:
            continue
        if (status_required or "Status" in para) and para.get("Status", "").split()[-1:] != ["installed"]:
            continue
        name = para["Package"]
        source = para.get("Source", name).split()[0]
        found.append(
            Package(name=name, version=para["Version"], source=source, architecture=para.get("Architecture", "all"))
        )
    return tuple(sorted(found, key=lambda p: (p.name, p.architecture)))


def apk_stanzas(text: str) -> list[dict[str, str]]:
    """The `K:value` stanzas of apk's installed database and of APKINDEX (same format)."""
    stanzas = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and len(key) == 1:
                fields.setdefault(key, value)
        if fields:
            stanzas.append(fields)
    return stanzas


def from_apk_installed(text: str) -> tuple[Package, ...]:
    found = []
    for fields in apk_stanzas(text):
        if "P" in fields and "V" in fields:
            found.append(
                Package(
                    name=fields["P"],
                    version=fields["V"],
                    source=fields.get("o", fields["P"]),
                    architecture=fields.get("A", "noarch"),
                )
            )
    return tuple(sorted(found, key=lambda p: (p.name, p.architecture)))
