"""What a distroless-class image holds, and what it leaves out, stated once.

The build stage resolves the dependency closure of the recipe's packages with apt against
the base's own sources (security suite included), downloads it, and unpacks only the
packages' files into a staging root; the final stage is that root on scratch. Maintainer
scripts never run, so what they would have done for a runtime is done explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

STAGING = "/staging"
UNPACKED = "/var/cache/builder/unpack"  # one folder per package, merged into STAGING
STAGE_SCRIPT = "/var/cache/builder/stage.py"
DEBUG = "debug"
BUSYBOX_DIR = "/busybox"
BUSYBOX_SHELL = f"{BUSYBOX_DIR}/sh"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Runtime data whose dependencies only serve their maintainer scripts (debconf, perl):
# their files are staged, their dependencies are not.
DATA_ONLY = ("base-files", "ca-certificates", "netbase", "tzdata")

# Package management, shells and account tools: counted as installed while resolving, so
# the closure leaves them (and what only they need) out. A runtime never calls them.
NOT_STAGED = (
    "adduser",
    "apt",
    "base-passwd",
    "bash",
    "dash",
    "debconf",
    "debianutils",
    "dpkg",
    "init-system-helpers",
    "install-info",
    "login",
    "lsb-base",
    "passwd",
    "perl-base",
    "sensible-utils",
    "sysvinit-utils",
    "ucf",
    "usr-is-merged",
    "usrmerge",
)

# Files a runtime never reads. Copyright files stay: licences travel with the binaries.
DROPPED_DIRS = (
    "/usr/share/man",
    "/usr/share/info",
    "/usr/share/locale",
    "/usr/share/lintian",
    "/usr/share/linda",
    "/usr/share/bug",
    "/usr/share/doc-base",
    "/usr/share/bash-completion",
    "/usr/share/menu",
)

# Present in a distroless image, these mean a shell or a package manager slipped in.
SHELLS = (
    "bin/sh",
    "bin/bash",
    "bin/dash",
    "usr/bin/sh",
    "usr/bin/bash",
    "usr/bin/dash",
    "bin/busybox",
    "usr/bin/busybox",
)
PACKAGE_TOOLS = (
    "usr/bin/apt",
    "usr/bin/apt-get",
    "usr/bin/dpkg",
    "usr/bin/dpkg-deb",
    "bin/apt",
    "bin/apt-get",
    "bin/dpkg",
    "sbin/apk",
    "usr/sbin/apk",
)
STATUS_DIR = "var/lib/dpkg/status.d/"


def refused_packages(packages: Iterable[str]) -> list[str]:
    """Packages a distroless image cannot carry: shells and package management."""
    return sorted(set(packages) & set(NOT_STAGED))


def companion(variant: str | None) -> str:
    """The variant name of the debug companion of an image (`debug`, or `VARIANT-debug`)."""
    return f"{variant}-{DEBUG}" if variant else DEBUG


def accounts(user: str, uid: int, gid: int, home: str) -> tuple[list[str], list[str]]:
    """/etc/passwd and /etc/group lines: root, nobody and the image's user, no shells."""
    passwd = ["root:x:0:0:root:/root:/usr/sbin/nologin"]
    group = ["root:x:0:"]
    if user != "nobody" and uid != 65534:
        passwd.append("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin")
    if user != "nogroup" and gid != 65534:
        group.append("nogroup:x:65534:")
    passwd.append(f"{user}:x:{uid}:{gid}::{home}:/usr/sbin/nologin")
    group.append(f"{user}:x:{gid}:")
    return passwd, group


NSSWITCH = (
    "passwd: files",
    "group: files",
    "shadow: files",
    "hosts: files dns",
    "networks: files",
    "protocols: files",
    "services: files",
    "ethers: files",
    "rpc: files",
)


def stage_script() -> list[str]:
    """builder/dockerfile/staging.py line by line, each to be written inside single quotes in a RUN."""
    text = resources.files("builder.dockerfile").joinpath("staging.py").read_text(encoding="utf-8")
    if "'" in text or "\\" in text:
        raise ValueError(
            "builder/dockerfile/staging.py must hold no quote or backslash: the Dockerfile writes it "
            "line by line in single-quoted shell strings"
        )
    return text.splitlines()
