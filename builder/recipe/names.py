"""Allow-lists for every kind of value a recipe can carry into a Dockerfile.

Each check raises ValueError with a message that says what is wrong and how to fix it;
the model turns that into a located problem.
"""

from __future__ import annotations

import re

import semver

from builder.core import patterns, plaintext, reference
from builder.recipe import source

# Every pattern here is matched against the whole value (re.fullmatch): `^...$` with
# re.match would let a final newline through. The model's JSON Schema reuses them, anchored.
# Debian Policy 5.6.1: lowercase letters, digits, + - . ; at least two characters,
# starting with an alphanumeric. Ubuntu follows the same rule.
DEB_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
# Alpine's abuild accepts a little more (underscores); never whitespace or shell syntax.
APK_PACKAGE = re.compile(r"[a-z0-9][a-z0-9_+.-]*")
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
IMAGE_NAME_MAX = 64
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Docker's label guidance, as hadolint's DL3048 checks it: lowercase reverse-DNS starting
# with a letter, ending in a letter or digit, no `..` or `--`.
LABEL_KEY = re.compile(r"(?!.*(?:\.\.|--))[a-z](?:[a-z0-9.-]*[a-z0-9])?")
LABEL_KEY_MAX = 128
_DOCKER_LABELS = ("com.docker.", "io.docker.", "org.dockerproject.")
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ABS_PATH = re.compile("/" + patterns.PATH_CHARS.pattern)
_TEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")


PACKAGE_RULES = {
    "debian": (
        DEB_PACKAGE,
        "lowercase letters, digits and + - . only, at least 2 characters, starting with a letter or digit",
    ),
    "ubuntu": (
        DEB_PACKAGE,
        "lowercase letters, digits and + - . only, at least 2 characters, starting with a letter or digit",
    ),
    "alpine": (APK_PACKAGE, "lowercase letters, digits and _ + - . only, starting with a letter or digit"),
}
MAX_ID = 2_147_483_646
NAME_MAX = 255  # bytes in one path part (NAME_MAX of Linux); these paths are ASCII
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY", "CREDENTIAL")


def text(value: str) -> str:
    """Any single-line text: no control, bidi or invisible characters (see plaintext.py)."""
    char = plaintext.first_unsafe(value)
    if char is not None:
        raise ValueError(f"contains the {_kind(char)} U+{ord(char):04X}; use a single line of printable text")
    return value


def _kind(char: str) -> str:
    code = ord(char)
    if code < 0xA0:
        return "control character"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return "bidi control character"
    if code in (0x2028, 0x2029):
        return "line separator"
    return "invisible character"


def package(value: str, distro: str) -> str:
    pattern, rule = PACKAGE_RULES[distro]
    if pattern.fullmatch(value):
        return value
    hint = ""
    if "=" in value:
        hint = "; versions are not pinned in recipes: the lock records them and security updates move them"
    elif value.lower() != value and pattern.fullmatch(value.lower()):
        hint = f"; did you mean {value.lower()!r}?"
    raise ValueError(f"{value!r} is not a valid {distro} package name ({rule}){hint}")


def image_name(value: str) -> str:
    if len(value) > IMAGE_NAME_MAX or not IMAGE_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid image name (lowercase letters and digits, "
            f"separated by single . _ or -; at most {IMAGE_NAME_MAX} characters)"
        )
    return value


def env_name(value: str) -> str:
    if not ENV_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid environment variable name (letters, digits and _, not starting with a digit)"
        )
    return value


RESERVED_LABELS = frozenset(
    {
        "org.opencontainers.image.base.name",
        "org.opencontainers.image.base.digest",
        "org.opencontainers.image.version",
        "org.opencontainers.image.created",
        "org.opencontainers.image.revision",
    }
)


def label_key(value: str) -> str:
    if value in RESERVED_LABELS:
        raise ValueError(f"{value} is set by the builder from the lock and the build; remove it")
    if value.startswith(_DOCKER_LABELS):
        raise ValueError(
            f"{value!r} is in a namespace Docker reserves for itself "
            f"({', '.join(_DOCKER_LABELS)}); use your own, e.g. org.example.team"
        )
    if len(value) > LABEL_KEY_MAX or not LABEL_KEY.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid label key (lowercase reverse-DNS such as "
            "org.example.team: letters, digits, . and -, starting with a letter, "
            "no .. or --)"
        )
    return value


def user_name(value: str) -> str:
    if value == "root":
        raise ValueError(
            "the user must not be root; images run as a non-root user (omit `user` for the default nonroot 65532:65532)"
        )
    if not USER_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid user name (lowercase letters, digits, _ "
            "and -, starting with a letter or _, at most 32 characters)"
        )
    return value


def numeric_id(value: int) -> int:
    if value == 0:
        raise ValueError("0 is root; use a non-root id such as 65532")
    if not 0 < value <= MAX_ID:
        raise ValueError(f"{value} is out of range (1 to {MAX_ID})")
    return value


def absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path; start it with /")
    if not patterns.PATH_CHARS.fullmatch(value):
        raise ValueError(f"{value!r} has characters not allowed in paths here (letters, digits and . _ @ + - / only)")
    parts = value.split("/")[1:]
    if value != "/" and (any(p in ("", ".", "..") for p in parts)):
        raise ValueError(f"{value!r} is not a normalized path (no //, . or .. parts, no trailing /)")
    return value


# The user's home is created for it and given to it: a folder of its own under one of
# these, never a system folder it would then own.
HOME_PREFIXES = ("/home", "/var/lib", "/srv", "/opt")
# What Debian, Ubuntu and Alpine images and their packages keep in /var/lib.
SYSTEM_FOLDERS = frozenset(
    {
        "/var/lib/apk",
        "/var/lib/apt",
        "/var/lib/dpkg",
        "/var/lib/misc",
        "/var/lib/pam",
        "/var/lib/systemd",
        "/var/lib/ucf",
        "/var/lib/dbus",
        "/var/lib/polkit-1",
        "/var/lib/sudo",
        "/var/lib/private",
        "/var/lib/ca-certificates",
        "/var/lib/python",
        "/var/lib/usrmerge",
        "/var/lib/debconf",
        "/var/lib/update-notifier",
        "/var/lib/ubuntu-advantage",
    }
)


def home_folder(value: str) -> str:
    """`user.home`: an absolute path to a new folder under HOME_PREFIXES (checked as a path first)."""
    prefix = next((p for p in HOME_PREFIXES if value.startswith(p + "/")), None)
    if prefix is None:
        raise ValueError(
            f"{value!r} is not a folder of its own under {', '.join(HOME_PREFIXES)}: "
            "the user owns its home, so it must not be a system folder; use e.g. "
            "/home/NAME or /var/lib/NAME"
        )
    top = "/".join(value.split("/")[: 4 if prefix == "/var/lib" else 3])
    if top in SYSTEM_FOLDERS:
        where = "" if top == value else f"inside {top}, "
        raise ValueError(
            f"{value!r} is {where}a system folder the user would then own; use a new folder, e.g. {prefix}/NAME"
        )
    return value


def boolean(value: object) -> object:
    """Only YAML's plain `true` and `false` (PyYAML would also read yes, no, on, off, ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, source.Quoted):
        raise ValueError(f"expected true or false, got the quoted text {value!r}; drop the quotes")
    if value in ("true", "false"):
        return value == "true"
    shown = repr(value) if isinstance(value, str) else "nothing" if value is None else "a " + type(value).__name__
    raise ValueError(f"expected true or false, got {shown}")


def exec_item(value: str) -> str:
    """An ENTRYPOINT or CMD argument, written in a JSON array."""
    # hadolint's parser reads the JSON escape `\\` before `"` (or before the closing quote)
    # as an escaped quote; Docker reads it right, but the Dockerfile would fail lint.
    if value.endswith("\\") or '\\"' in value:
        where = "at its end" if value.endswith("\\") else "before a double quote"
        raise ValueError(
            f"{value!r} has a backslash {where}, which hadolint misreads in a JSON "
            "array (the Dockerfile would fail lint); drop it or pass the argument another way"
        )
    return value


def upstream_image(value: str) -> str:
    try:
        ref = reference.parse(value)
    except reference.ReferenceError as exc:
        raise ValueError(str(exc)) from None
    if ref.digest:
        raise ValueError(
            f"{value!r} carries a digest; name a tag only: the digest is resolved "
            "into image.lock.json and the Dockerfile, and watched for updates"
        )
    if ref.tag is None:
        raise ValueError(f"{value!r} has no tag; name one explicitly, e.g. debian:bookworm-slim")
    if ref.tag == "latest":
        raise ValueError(f"{value!r} uses the moving `latest` tag; name a release tag, e.g. debian:bookworm-slim")
    return value


def version(value: str) -> str:
    try:
        parsed = semver.Version.parse(value)
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)") from None
    if parsed.prerelease or parsed.build:
        raise ValueError(f"{value!r}: image lines use plain MAJOR.MINOR.PATCH versions")
    return value


def test_name(value: str) -> str:
    if not _TEST_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid test name (letters, digits, spaces and . _ -, at most 64 characters)"
        )
    return value


def looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


_URL = re.compile(r"(https?)://([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?(/[A-Za-z0-9._~/+-]*)?")
_SUITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_COMPONENT = re.compile(r"[a-z0-9][a-z0-9-]*")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


def repository_url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an http(s) URL of a package repository (e.g. https://apt.example.com/debian)"
        )
    return value


def url_host(value: str) -> str:
    match = _URL.fullmatch(value)
    return match.group(2) if match else ""


def suite(value: str) -> str:
    if not _SUITE.fullmatch(value):
        raise ValueError(f"{value!r} is not a suite name (e.g. bookworm-security)")
    return value


def component(value: str) -> str:
    if not _COMPONENT.fullmatch(value):
        raise ValueError(f"{value!r} is not a component name (e.g. main)")
    return value


REPO_PATH = patterns.RELATIVE_PATH


# Where a committed file may not go, and what to do instead.
RESERVED_DESTINATIONS = (
    ("/etc/passwd", "set `user:` instead"),
    ("/etc/group", "set `user:` instead"),
    ("/etc/shadow", "set `user:` instead"),
    ("/etc/sudoers", "the images have no sudo"),
    ("/etc/apt", "declare `repositories:` instead"),
    ("/etc/apk", "declare `repositories:` instead"),
    ("/usr/local/share/ca-certificates", "list the certificate under `ca_certificates:` instead"),
    ("/etc/ssl/certs", "list the certificate under `ca_certificates:` instead"),
    ("/proc", "it is not a file system of the image"),
    ("/sys", "it is not a file system of the image"),
    ("/dev", "it is not a file system of the image"),
    ("/var/lib/dpkg", "it is the package database"),
    ("/lib/apk/db", "it is the package database"),
    ("/etc/ssl/cert.pem", "list the certificate under `ca_certificates:` instead"),
    ("/usr/share/ca-certificates", "list the certificate under `ca_certificates:` instead"),
    # Paths in the image, not on this machine: the build empties them at its end.
    ("/tmp", "it is emptied at the end of the build"),  # noqa: S108
    ("/var/tmp", "it is emptied at the end of the build"),  # noqa: S108
)


DESCRIPTION_MAX = 200


def description(value: str) -> str:
    """A recipe's description: one line of 1 to DESCRIPTION_MAX characters."""
    if not value.strip() or len(value) > DESCRIPTION_MAX:
        raise ValueError(f"write one line of 1 to {DESCRIPTION_MAX} characters")
    return value


def repository_path(value: str) -> str:
    """A committed file, by its path from the repository root: never absolute, `..` or a URL."""
    if "://" in value or value.startswith(("http:", "https:", "git@")):
        raise ValueError(
            f"{value!r} is a URL; commit the file and give its path in the repository (e.g. files/pip.conf)"
        )
    if value.startswith("/"):
        raise ValueError(f"{value!r} is absolute; give the path from the repository root (e.g. files/pip.conf)")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"{value!r} leaves or walks around the repository (no .., . or // parts); "
            "give the plain path from the repository root"
        )
    if not REPO_PATH.fullmatch(value):
        raise ValueError(f"{value!r} has characters not allowed in paths here (letters, digits and . _ @ + - / only)")
    if any(len(part) > NAME_MAX for part in parts):
        raise ValueError(
            f"{value!r} has a part longer than {NAME_MAX} characters, more than a file system allows; shorten it"
        )
    if ".git" in parts:
        raise ValueError(
            f"{value!r} is inside .git, which holds the checkout's credentials and history; commit the file elsewhere"
        )
    if value in _CONTEXT_NAMES:
        raise ValueError(
            f"{value!r} is a name the build context reserves for itself; move the file into a folder (e.g. files/)"
        )
    return value


_CONTEXT_NAMES = frozenset({"Dockerfile", ".dockerignore"})


_MODE = re.compile(r"0?[0-7]{3}")


def file_mode(value: str) -> str:
    """An octal mode, as text ("0644"): no setuid, setgid or sticky bits, never world-writable."""
    if not _MODE.fullmatch(value):
        raise ValueError(
            f'{value!r} is not an octal file mode like "0644" (quote it; setuid, '
            "setgid and sticky bits are not allowed)"
        )
    if int(value, 8) & 0o002:
        raise ValueError(f'{value!r} is world-writable; drop the o+w bit (e.g. "0644")')
    return value.zfill(4)
