"""An SPDX 2.3 JSON SBOM per image, made from the lock (so both always agree)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from builder.channel.lock import Lock
from builder.core.facts import Package

_SPDX_ID = re.compile(r"[^A-Za-z0-9.-]")


def purl(package: Package, distro: str, release: str | None) -> str:
    kind = "apk" if distro == "alpine" else "deb"
    qualifiers = f"arch={quote(package.architecture)}"
    if release:
        qualifiers += f"&distro={quote(distro)}-{quote(release)}"
    if package.source != package.name:
        qualifiers += f"&upstream={quote(package.source)}"
    return f"pkg:{kind}/{distro}/{quote(package.name)}@{quote(package.version)}?{qualifiers}"


def _spdx_id(package: Package) -> str:
    return "SPDXRef-Package-" + _SPDX_ID.sub("-", f"{package.name}-{package.architecture}")


def render(lock: Lock, distro: str, release: str | None = None) -> str:
    if lock.result is None:
        raise ValueError(f"{lock.image}: an SBOM describes a pushed image")
    image_id = "SPDXRef-Image"
    packages = [
        {
            "SPDXID": image_id,
            "name": lock.result.repository,
            "versionInfo": lock.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "CONTAINER",
            "checksums": [{"algorithm": "SHA256", "checksumValue": lock.result.digest.removeprefix("sha256:")}],
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": f"pkg:oci/{lock.result.repository.rsplit('/', 1)[-1]}"
                    f"@{quote(lock.result.digest)}?repository_url="
                    f"{quote(lock.result.repository, safe='')}",
                }
            ],
        }
    ]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}
    ]
    for package in lock.packages:
        packages.append(
            {
                "SPDXID": _spdx_id(package),
                "name": package.name,
                "versionInfo": package.version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "sourceInfo": f"built from source package {package.source}",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": purl(package, distro, release),
                    }
                ],
            }
        )
        relationships.append(
            {"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": _spdx_id(package)}
        )
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{lock.image} {lock.version}",
        "documentNamespace": f"https://spdx.org/spdxdocs/{lock.image.replace('/', '-')}-"
        f"{lock.result.digest.removeprefix('sha256:')}",
        "creationInfo": {"created": lock.built_at or "1970-01-01T00:00:00Z", "creators": ["Tool: builder"]},
        "packages": packages,
        "relationships": relationships,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
