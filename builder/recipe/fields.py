"""The value types of recipe fields: each allow-listed as a whole value, with its JSON Schema constraint."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from builder.core.patterns import anchored
from builder.recipe import names

Distro = Literal["debian", "ubuntu", "alpine"]
# hardened: the upstream base with the packages installed the usual way, then hardened.
# distroless: only the files of the packages' dependency closure on scratch; see distroless.py.
Final = Literal["hardened", "distroless"]

Text = Annotated[str, AfterValidator(names.text)]


def editor_schema(**extra: Any) -> Any:
    # Constraints for editors only: the validators above give the friendlier messages.
    return Field(json_schema_extra=extra)


ImageName = Annotated[
    str,
    AfterValidator(names.image_name),
    editor_schema(pattern=anchored(names.IMAGE_NAME), maxLength=names.IMAGE_NAME_MAX),
]
AbsPath = Annotated[str, AfterValidator(names.absolute_path), editor_schema(pattern=anchored(names.ABS_PATH))]
EnvName = Annotated[str, AfterValidator(names.env_name), editor_schema(pattern=anchored(names.ENV_NAME))]
LabelKey = Annotated[
    str,
    AfterValidator(names.label_key),
    editor_schema(pattern=anchored(names.LABEL_KEY), maxLength=names.LABEL_KEY_MAX),
]
Id = Annotated[int, AfterValidator(names.numeric_id), editor_schema(minimum=1, maximum=names.MAX_ID)]


def _not_empty(values: tuple[str, ...]) -> tuple[str, ...]:
    # Not Field(min_length=1): pydantic would add "at least 1 item" when an item is refused.
    if not values:
        raise ValueError("must not be empty")
    return values


Argv = Annotated[tuple[Text, ...], AfterValidator(_not_empty), editor_schema(minItems=1)]
# ENTRYPOINT and CMD are written as JSON arrays into the Dockerfile.
ExecArgv = Annotated[
    tuple[Annotated[Text, AfterValidator(names.exec_item)], ...], AfterValidator(_not_empty), editor_schema(minItems=1)
]
# Only YAML's plain true and false; the schema still says boolean.
Flag = Annotated[bool, BeforeValidator(names.boolean)]
HomePath = Annotated[AbsPath, AfterValidator(names.home_folder)]

DEFAULT_USER = "nonroot"
DEFAULT_ID = 65532


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _check_package(value: str, info: ValidationInfo) -> str:
    distro = (info.context or {}).get("distro")
    return names.package(value, distro) if distro in names.PACKAGE_RULES else value


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice; list each package once")
        seen.add(value)
    return values


Package = Annotated[Text, AfterValidator(_check_package)]
Packages = Annotated[tuple[Package, ...], AfterValidator(_unique)]
