"""A recipe's `vex:` entry: a maintainer's statement about one CVE (OpenVEX `not_affected` or
`under_investigation`). Not part of what shapes the image: changing one rebuilds nothing."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from builder.recipe import names

_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")
Justification = Literal[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
]


def _cve(value: str) -> str:
    if not _CVE.fullmatch(value):
        raise ValueError(f"{value!r} is not a CVE id (CVE-YYYY-NNNN)")
    return value


class VexEntry(BaseModel):
    """A maintainer's statement about one CVE in a recipe's `vex:` list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cve: Annotated[str, AfterValidator(_cve)] = Field(description="The CVE id, e.g. CVE-2024-1234")
    status: Literal["not_affected", "under_investigation"]
    justification: Justification | None = Field(None, description="Why: required with not_affected")
    impact_statement: Annotated[str, AfterValidator(names.text)] | None = Field(
        None, max_length=1000, description="Details for consumers"
    )

    @model_validator(mode="after")
    def _justified(self) -> VexEntry:
        if self.status == "not_affected" and self.justification is None:
            raise ValueError(
                "status not_affected needs a justification (one of OpenVEX's: "
                "component_not_present, vulnerable_code_not_present, ...)"
            )
        if self.status != "not_affected" and self.justification is not None:
            raise ValueError(f"a justification is only for status not_affected, not {self.status}")
        return self
