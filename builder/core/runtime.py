"""The strict runtime profile: what an image needs when it runs, and how to run it that way.

A recipe's `runtime:` block declares it (writable paths, exposed ports, an arbitrary uid);
the build runs every recipe test again under the profile, the lock records the profile the
tests passed under, and the catalog publishes it as `docker run` flags and a Kubernetes
securityContext. Everything not declared is denied: a read-only root, no capabilities,
no new privileges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from builder.core import patterns

# tmpfs mounts carry no programs and no device or setuid files; Docker's own defaults, spelled out.
TMPFS_OPTIONS = "rw,noexec,nosuid,nodev"
DEFAULT_WRITABLE = ("/tmp",)  # noqa: S108 - a path in the image, mounted as a fresh tmpfs
MAX_PATH = 1024
# Plain YAML scalars reach the model as the text written: `8080` is "8080" here.
_PORT = re.compile(r"([1-9][0-9]{0,4})(?:/(tcp|udp))?")
# A tmpfs hides what the image holds at its path: never over the root or a system folder.
_SYSTEM = frozenset(
    {
        "/bin",
        "/boot",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/opt",
        "/root",
        "/sbin",
        "/srv",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/lib",
    }
)
_KERNEL = ("/proc", "/sys", "/dev")
_USER = re.compile(r"[1-9][0-9]{0,9}:[1-9][0-9]{0,9}")


def writable_path(value: object) -> str:
    """An absolute, normalized folder that a tmpfs can cover without hiding the system."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a path; give an absolute folder, e.g. /var/cache/app")
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path; start it with /")
    if not patterns.PATH_CHARS.fullmatch(value) or len(value) > MAX_PATH:
        raise ValueError(
            f"{value!r} has characters not allowed in paths here "
            f"(letters, digits and . _ @ + - / only, at most {MAX_PATH})"
        )
    if value == "/":
        raise ValueError(
            "'/' would make the whole root writable; name the folders the program writes, e.g. /var/cache/app"
        )
    if not patterns.NORMAL_PATH.fullmatch(value) or any(part in (".", "..") for part in value.split("/")):
        raise ValueError(f"{value!r} is not a normalized path (no //, . or .. parts, no trailing /)")
    for kernel in _KERNEL:
        if value == kernel or value.startswith(kernel + "/"):
            raise ValueError(
                f"{value!r} is in {kernel}, which the container runtime provides; name a folder of the image"
            )
    if value in _SYSTEM:
        raise ValueError(
            f"{value!r} is a system folder: a tmpfs there hides the image's own files; "
            "name the folder the program writes, e.g. /var/cache/app"
        )
    return value


def port(value: object) -> str:
    """An exposed port: a number 1-65535 (TCP), or NUMBER/tcp, NUMBER/udp; as NUMBER/PROTOCOL."""
    hint = "a number from 1 to 65535 such as 8080, or NUMBER/tcp, NUMBER/udp such as 53/udp"
    if isinstance(value, bool) or not isinstance(value, int | str):
        shown = str(value).lower() if isinstance(value, bool) else repr(value)
        raise ValueError(f"{shown} is not a port; give {hint}")
    if isinstance(value, str):
        match = _PORT.fullmatch(value)
        if match is None:
            raise ValueError(f"{value!r} is not a port; give {hint}")
        number, protocol = int(match.group(1)), match.group(2) or "tcp"
    else:
        number, protocol = value, "tcp"
    if not 1 <= number <= 65535:
        raise ValueError(f"{number} is out of range (1 to 65535)")
    return f"{number}/{protocol}"


def strict_bool(value: object) -> bool:
    """true or false, as YAML 1.2 spells them; never yes, no, on, off, 0 or 1."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    shown = repr(value) if isinstance(value, str) else str(value)
    raise ValueError(f"expected true or false, got {shown}")


Bool = Annotated[bool, PlainValidator(strict_bool), WithJsonSchema({"type": "boolean"})]
Writable = Annotated[
    str,
    PlainValidator(writable_path),
    WithJsonSchema({"type": "string", "pattern": patterns.anchored(patterns.NORMAL_PATH), "maxLength": MAX_PATH}),
]
Port = Annotated[
    str,
    PlainValidator(port),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": patterns.anchored(_PORT)},
            ]
        }
    ),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Runtime(_Frozen):
    """What the image needs when it runs; everything else is denied (see `runtime:` in docs/recipes.md)."""

    writable: tuple[Writable, ...] = Field(
        DEFAULT_WRITABLE,
        description=(
            "Folders the program writes, each mounted as an empty tmpfs over a read-only root; "
            "default [/tmp], [] for none"
        ),
    )
    ports: tuple[Port, ...] = Field((), description="Ports the program listens on (EXPOSE): 8080, or 53/udp")
    arbitrary_uid: Bool = Field(
        False,
        description=("It must also run as any uid with gid 0 (OpenShift's restricted policy); its tests run so too"),
    )

    @field_validator("writable", "ports")
    @classmethod
    def _each_once(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        what = "path" if info.field_name == "writable" else "port"
        for value in values:
            if values.count(value) > 1:
                raise ValueError(f"{value} is listed twice; list each {what} once")
            # A folder inside another is mounted over it; normalized ports (N/PROTO) never nest.
            outer = next((o for o in values if value.startswith(o + "/")), None)
            if outer is not None:
                raise ValueError(f"{value} is inside {outer}, which is writable already; list {outer} only")
        return values


def hidden_file(runtime: Runtime, destinations: Iterable[str]) -> tuple[int, str] | None:
    """A tmpfs starts empty: the index in `writable` of one over a file the recipe puts in the
    image, and why it is refused; None when there is none."""
    destinations = tuple(destinations)
    for index, path in enumerate(runtime.writable):
        hidden = sorted(d for d in destinations if d.startswith(path + "/"))
        if hidden:
            return index, (
                f"{path} is mounted as an empty tmpfs, which hides {', '.join(hidden)}; "
                "put the file elsewhere or name a narrower folder"
            )
    return None


def breaks(old: Runtime, new: Runtime) -> bool:
    """Whether a deployment made for `old` may fail with `new`: a path to mount, a port gone, a uid."""
    return bool(
        set(new.writable) - set(old.writable)
        or set(old.ports) - set(new.ports)
        or (old.arbitrary_uid and not new.arbitrary_uid)
    )


def _user(value: str) -> str:
    if not _USER.fullmatch(value):
        raise ValueError(f"{value!r} is not a numeric non-root uid:gid")
    return value


class Profile(_Frozen):
    """The profile an image's tests passed under, as the lock records it."""

    user: Annotated[str, AfterValidator(_user)] = Field(description="uid:gid the image runs as")
    writable: tuple[Writable, ...] = ()
    ports: tuple[Port, ...] = ()
    arbitrary_uid: Bool = False

    @classmethod
    def of(cls, runtime: Runtime, uid: int, gid: int) -> Profile:
        return cls(
            user=f"{uid}:{gid}", writable=runtime.writable, ports=runtime.ports, arbitrary_uid=runtime.arbitrary_uid
        )

    def docker_run_flags(self) -> list[str]:
        """The `docker run` flags of the profile (the image's network is the consumer's choice)."""
        flags = ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", f"--user={self.user}"]
        return flags + [f"--tmpfs={path}:{TMPFS_OPTIONS}" for path in self.writable]

    def kubernetes(self) -> dict[str, Any]:
        """The container's securityContext, volumeMounts and ports, and the pod's volumes."""
        uid, gid = (int(part) for part in self.user.split(":"))
        volumes = [(f"writable-{index}", path) for index, path in enumerate(self.writable, 1)]
        container = {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": gid,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [{"name": name, "mountPath": path} for name, path in volumes],
            "ports": [
                {"containerPort": int(item.split("/")[0]), "protocol": item.split("/")[1].upper()}
                for item in self.ports
            ],
        }
        return {"container": container, "volumes": [{"name": name, "emptyDir": {}} for name, _ in volumes]}


@dataclass(frozen=True)
class Confinement:
    """How the engine confines one test run: the profile, or the profile with one part relaxed."""

    tmpfs: tuple[str, ...] = ()
    user: str | None = None  # uid:gid; None: the image's USER
    read_only: bool = True  # False only to tell which part of the profile a test trips over
