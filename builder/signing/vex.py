"""OpenVEX: what a release says about vulnerabilities. `fixed` for the CVE ids the release's
package updates fix; the recipe's `vex:` entries for `not_affected` (with a justification)
and `under_investigation`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from builder.channel.history import Release
from builder.recipe.vex_entry import VexEntry

PREDICATE_TYPE = "https://openvex.dev/ns/v0.2.0"


def product(repository: str, digest: str) -> str:
    """The image's purl, as OpenVEX and the SBOM name it."""
    name = repository.rsplit("/", 1)[-1]
    return f"pkg:oci/{name}@{quote(digest)}?repository_url={quote(repository, safe='')}"


def document(release: Release, entries: tuple[VexEntry, ...], author: str) -> dict[str, Any]:
    """The OpenVEX document of `release`; the same release gives the same bytes."""
    image = {"@id": product(release.repository, release.digest)}
    statements: list[dict[str, Any]] = []
    fixed: dict[str, list[str]] = {}
    for update in release.updates:
        for cve in update.cves:
            fixed.setdefault(cve, []).append(f"{update.name} {update.old or '(new)'} -> {update.new}")
    for cve in sorted(fixed):
        statements.append(
            {
                "vulnerability": {"name": cve},
                "products": [image],
                "status": "fixed",
                "status_notes": "fixed by " + ", ".join(sorted(fixed[cve])),
            }
        )
    for entry in sorted(entries, key=lambda e: e.cve):
        if entry.cve in fixed:
            continue  # a fix shipped: that is what holds now
        statement: dict[str, Any] = {"vulnerability": {"name": entry.cve}, "products": [image], "status": entry.status}
        if entry.justification:
            statement["justification"] = entry.justification
        if entry.impact_statement:
            statement["impact_statement"] = entry.impact_statement
        statements.append(statement)
    return {
        "@context": PREDICATE_TYPE,
        "@id": f"urn:builder:vex:{release.digest.removeprefix('sha256:')}",
        "author": author,
        "timestamp": f"{release.date}T00:00:00Z",
        "version": 1,
        "statements": statements,
    }
