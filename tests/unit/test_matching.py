"""Evasions of the taboo and abuse lists that the shared normalisation catches."""

from __future__ import annotations

import pathlib

import pytest

from service.phrases import Catalog, PhraseGuard

PHRASES = pathlib.Path(__file__).resolve().parents[2] / "phrases"


@pytest.fixture(scope="module")
def guard() -> PhraseGuard:
    return Catalog.load(PHRASES).guard()


@pytest.mark.parametrize(
    "text",
    [
        "您\u3164搞错了",
        "您\u200d搞\u200b错了",
        "您搞\ufe0f错\u00ad了",
        "你搞错了",
        "你把我搞糊涂了",
    ],
)
def test_taboo_evasions_are_caught(guard: PhraseGuard, text: str) -> None:
    assert guard.screen(text, "zh-CN") is not None


@pytest.mark.parametrize("text", ["ѕtupid", "idіot", "傻\u3164逼", "bіtch"])
def test_abuse_evasions_are_caught(guard: PhraseGuard, text: str) -> None:
    assert guard.spot(text, "abuse") is not None


@pytest.mark.parametrize(
    "text", ["您好,请问有什么可以帮您?", "Thank you for waiting.", "已为您补发道具,请查收。"]
)
def test_ordinary_sentences_pass(guard: PhraseGuard, text: str) -> None:
    assert guard.screen(text, "zh-CN") is None
    assert guard.spot(text, "abuse") is None
