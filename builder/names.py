"""Allow-lists for every kind of value a recipe can carry into a Dockerfile.

Each check raises ValueError with a message that says what is wrong and how to fix it;
the model turns that into a located problem.
"""

from __future__ import annotations

import re

import semver

from builder import imageref

# Debian Policy 5.6.1: lowercase letters, digits, + - . ; at least two characters,
# starting with an alphanumeric. Ubuntu follows the same rule.
_DEB_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# Alpine's abuild accepts a little more (underscores); never whitespace or shell syntax.
_APK_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9_+.-]*$")
_IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Docker's label guidance: reverse-DNS, lowercase alphanumerics, dots and dashes.
_LABEL_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PATH_CHARS = re.compile(r"^[A-Za-z0-9._@+/-]+$")
_TEST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")

PACKAGE_RULES = {
    "debian": (_DEB_PACKAGE, "lowercase letters, digits and + - . only, at least 2 characters, "
               "starting with a letter or digit"),
    "ubuntu": (_DEB_PACKAGE, "lowercase letters, digits and + - . only, at least 2 characters, "
               "starting with a letter or digit"),
    "alpine": (_APK_PACKAGE, "lowercase letters, digits and _ + - . only, starting with a "
               "letter or digit"),
}
MAX_ID = 2_147_483_646
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY",
                "CREDENTIAL")


def text(value: str) -> str:
    """Any single-line text: no control characters (they would break the Dockerfile)."""
    for char in value:
        if ord(char) < 0x20 or ord(char) == 0x7F or char in "\u2028\u2029\u0085":
            raise ValueError(f"contains the control character U+{ord(char):04X}; "
                             "use a single line of printable text")
    return value


def package(value: str, distro: str) -> str:
    pattern, rule = PACKAGE_RULES[distro]
    if pattern.match(value):
        return value
    hint = ""
    if "=" in value:
        hint = "; versions are not pinned in recipes: the lock records them and security updates move them"
    elif value.lower() != value and pattern.match(value.lower()):
        hint = f"; did you mean {value.lower()!r}?"
    raise ValueError(f"{value!r} is not a valid {distro} package name ({rule}){hint}")


def image_name(value: str) -> str:
    if len(value) > 64 or not _IMAGE_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid image name (lowercase letters and digits, "
                         "separated by single . _ or -; at most 64 characters)")
    return value


def env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid environment variable name (letters, digits "
                         "and _, not starting with a digit)")
    return value


RESERVED_LABELS = frozenset({
    "org.opencontainers.image.base.name", "org.opencontainers.image.base.digest",
    "org.opencontainers.image.version", "org.opencontainers.image.created",
    "org.opencontainers.image.revision",
})


def label_key(value: str) -> str:
    if value in RESERVED_LABELS:
        raise ValueError(f"{value} is set by the builder from the lock and the build; remove it")
    if len(value) > 128 or not _LABEL_KEY.match(value) or ".." in value:
        raise ValueError(f"{value!r} is not a valid label key (lowercase reverse-DNS such as "
                         "org.example.team: letters, digits, . and -)")
    return value


def user_name(value: str) -> str:
    if value == "root":
        raise ValueError("the user must not be root; images run as a non-root user "
                         "(omit `user` for the default nonroot 65532:65532)")
    if not _USER_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid user name (lowercase letters, digits, _ "
                         "and -, starting with a letter or _, at most 32 characters)")
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
    if not _PATH_CHARS.match(value):
        raise ValueError(f"{value!r} has characters not allowed in paths here "
                         "(letters, digits and . _ @ + - / only)")
    parts = value.split("/")[1:]
    if value != "/" and (any(p in ("", ".", "..") for p in parts)):
        raise ValueError(f"{value!r} is not a normalized path (no //, . or .. parts, "
                         "no trailing /)")
    return value


def upstream_image(value: str) -> str:
    try:
        ref = imageref.parse(value)
    except imageref.ReferenceError as exc:
        raise ValueError(str(exc)) from None
    if ref.digest:
        raise ValueError(f"{value!r} carries a digest; name a tag only: the digest is resolved "
                         "into image.lock.json and the Dockerfile, and watched for updates")
    if ref.tag is None:
        raise ValueError(f"{value!r} has no tag; name one explicitly, e.g. debian:bookworm-slim")
    if ref.tag == "latest":
        raise ValueError(f"{value!r} uses the moving `latest` tag; name a release tag, "
                         "e.g. debian:bookworm-slim")
    return value


def version(value: str) -> str:
    try:
        parsed = semver.Version.parse(value)
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)"
                         ) from None
    if parsed.prerelease or parsed.build:
        raise ValueError(f"{value!r}: image lines use plain MAJOR.MINOR.PATCH versions")
    return value


def test_name(value: str) -> str:
    if not _TEST_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid test name (letters, digits, spaces and . _ -,"
                         " at most 64 characters)")
    return value


def looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


_URL = re.compile(r"^(https?)://([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?(/[A-Za-z0-9._~/+-]*)?$")
_SUITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_COMPONENT = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


def repository_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not an http(s) URL of a package repository "
                         "(e.g. https://apt.example.com/debian)")
    return value


def url_host(value: str) -> str:
    match = _URL.match(value)
    return match.group(2) if match else ""


def suite(value: str) -> str:
    if not _SUITE.match(value):
        raise ValueError(f"{value!r} is not a suite name (e.g. bookworm-security)")
    return value


def component(value: str) -> str:
    if not _COMPONENT.match(value):
        raise ValueError(f"{value!r} is not a component name (e.g. main)")
    return value


_REPO_PATH = re.compile(r"^[A-Za-z0-9._@+-]+(?:/[A-Za-z0-9._@+-]+)*$")


def repository_path(value: str) -> str:
    """A committed file, by its path from the repository root: never absolute, `..` or a URL."""
    if "://" in value or value.startswith(("http:", "https:", "git@")):
        raise ValueError(f"{value!r} is a URL; commit the file and give its path in the repository "
                         "(e.g. files/pip.conf)")
    if value.startswith("/"):
        raise ValueError(f"{value!r} is absolute; give the path from the repository root "
                         "(e.g. files/pip.conf)")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{value!r} leaves or walks around the repository (no .., . or // parts); "
                         "give the plain path from the repository root")
    if not _REPO_PATH.match(value):
        raise ValueError(f"{value!r} has characters not allowed in paths here "
                         "(letters, digits and . _ @ + - / only)")
    if ".git" in parts:
        raise ValueError(f"{value!r} is inside .git, which holds the checkout's credentials and "
                         "history; commit the file elsewhere")
    if value in _CONTEXT_NAMES:
        raise ValueError(f"{value!r} is a name the build context reserves for itself; move the "
                         "file into a folder (e.g. files/)")
    return value


_CONTEXT_NAMES = frozenset({"Dockerfile", ".dockerignore"})


_MODE = re.compile(r"^0?[0-7]{3}$")


def file_mode(value: str) -> str:
    """An octal mode, as text ("0644"): no setuid, setgid or sticky bits, never world-writable."""
    if not _MODE.match(value):
        raise ValueError(f"{value!r} is not an octal file mode like \"0644\" (quote it; setuid, "
                         "setgid and sticky bits are not allowed)")
    if int(value, 8) & 0o002:
        raise ValueError(f"{value!r} is world-writable; drop the o+w bit (e.g. \"0644\")")
    return value.zfill(4)
