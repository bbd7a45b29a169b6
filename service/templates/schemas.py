"""Admin API shapes for templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Wording = Annotated[str, Field(min_length=1, max_length=2000)]


class TemplateIn(BaseModel):
    """A deployment's wording of one template in one locale (``PUT``)."""

    model_config = ConfigDict(extra="forbid")

    text: Wording
    variants: dict[str, Wording] = Field(
        default_factory=dict, description="weekend / holiday wording; absent ones use `text`"
    )


class TemplateWording(BaseModel):
    text: str
    variants: dict[str, str]


class TemplateOut(BaseModel):
    key: str
    locale: str
    standard: str = Field(description="the S-… rule of SERVICE-STANDARDS.md it serves")
    variables: list[str] = Field(description="the {names} its wording may use")
    quick_reply: bool = Field(description="agents may send it with the `template` frame")
    text: str
    variants: dict[str, str]
    overridden: bool
    updated_by: str | None
    updated_at: datetime | None
    default: TemplateWording = Field(description="the phrases file's wording")
