"""Answers of the admin API with personal information masked, for callers without ``pii``.

One rule for every shape: each string in the answer goes through ``detect.mask``, except
links (a signed URL is ours, not the customer's). Masking is applied to what leaves, never to
what is stored: the agent serving a chat reads the customer's words on the socket as written.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from service.privacy.detect import mask

M = TypeVar("M", bound=BaseModel)


def masked(value: Any, key: str = "") -> Any:
    if isinstance(value, str):
        return value if key.endswith("url") else mask(value)
    if isinstance(value, dict):
        return {name: masked(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, key) for item in value]
    return value


def masked_model(model: M) -> M:
    return type(model).model_validate(masked(model.model_dump(by_alias=True)))
