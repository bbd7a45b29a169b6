"""S-forbidden-phrases: every taboo phrase is caught with its replacement, evasions included,
and harmless text made of the same characters passes."""

from __future__ import annotations

import pathlib

import pytest

from service.templates import Catalog, PhraseGuard, fold
from service.templates.guard import TRADITIONAL, Pattern

PHRASES = pathlib.Path(__file__).resolve().parents[2] / "phrases"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(PHRASES)


@pytest.fixture(scope="module")
def guard(catalog: Catalog) -> PhraseGuard:
    return catalog.guard()


def entries(catalog: Catalog, locale: str) -> list[tuple[str, str, bool]]:
    return [(e.phrase, e.replacement, e.whole_message) for e in catalog.forbidden(locale)]


def to_traditional(text: str) -> str:
    back = {simplified: traditional for traditional, simplified in TRADITIONAL.items()}
    back["复"] = "復"
    return "".join(back.get(char, char) for char in text)


def to_full_width(text: str) -> str:
    return "".join(
        chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else "\u3000" if char == " " else char
        for char in text
    )


def evasions(phrase: str) -> list[str]:
    """The obvious ways to write a phrase so that a plain substring test misses it."""
    chars = list(phrase)
    return [
        phrase,
        " ".join(chars),  # spaces inside
        "·".join(chars),  # punctuation inside
        "\u200b".join(chars),  # zero-width spaces inside
        "*".join(chars) + "!!",
        to_full_width(phrase),
        to_traditional(phrase),
        phrase.upper(),
    ]


def zh_cases() -> list[tuple[str, str, bool]]:
    return entries(Catalog.load(PHRASES), "zh-CN")


def en_cases() -> list[tuple[str, str, bool]]:
    return entries(Catalog.load(PHRASES), "en")


@pytest.mark.parametrize(("phrase", "replacement", "whole"), zh_cases() + en_cases())
def test_every_taboo_phrase_and_its_evasions_are_caught_with_the_replacement(
    guard: PhraseGuard, phrase: str, replacement: str, whole: bool
) -> None:
    for text in evasions(phrase):
        sentence = text if whole else f"好的,{text}"
        hit = guard.screen(sentence)
        assert hit is not None, f"{sentence!r} got through"
        assert hit.replacement == replacement, sentence


@pytest.fixture(scope="module")
def handbook(catalog: Catalog) -> PhraseGuard:
    """The handbook's phrases alone: a rotation may hold a curated synonym (与我无关这)."""
    rows = [(loc, *entry) for loc in ("zh-CN", "en") for entry in entries(catalog, loc)]
    return PhraseGuard(rows, [])


@pytest.mark.parametrize(("phrase", "replacement", "whole"), zh_cases())
def test_same_characters_in_another_order_pass(
    handbook: PhraseGuard, phrase: str, replacement: str, whole: bool
) -> None:
    guard = handbook
    letters = "".join(char for char in phrase if fold(char).chars)
    for shuffled in {letters[::-1], letters[1:] + letters[0], letters[-1] + letters[:-1]}:
        if shuffled == letters:
            continue
        assert guard.screen(shuffled) is None, shuffled
        assert guard.screen(f"好的,{shuffled}。") is None, shuffled


# Written by hand in traditional characters, as a Hong Kong or Taiwan agent would type them.
TRADITIONAL_SPELLINGS = {
    "您搞錯了": "您搞错了",
    "我已經說得很清楚了": "我已经说得很清楚了",
    "您聽明白了嗎?": "您听明白了吗?",
    "啊,你說甚麼?": "啊,你说什么?",
    "啊,妳說什麼?": "啊,你说什么?",
    "您把我搞糊塗了": "您把我搞糊涂了",
    "這與我無關": "这与我无关",
    "這不歸我管": "这不归我管",
    "我辦不了": "我办不了",
    "沒方法": "没方法",
    "沒辦法": "没办法",
}


@pytest.mark.parametrize(("written", "phrase"), sorted(TRADITIONAL_SPELLINGS.items()))
def test_traditional_spellings_are_caught(guard: PhraseGuard, written: str, phrase: str) -> None:
    hit = guard.screen(written)
    assert hit is not None and hit.phrase == phrase


def test_every_zh_taboo_phrase_has_a_hand_written_traditional_check(catalog: Catalog) -> None:
    # Whole-message phrases of plain characters (不知道) read the same in both scripts.
    checked = set(TRADITIONAL_SPELLINGS.values())
    for phrase, _replacement, _whole in entries(catalog, "zh-CN"):
        if to_traditional(phrase) != phrase:
            assert phrase in checked, f"add the traditional spelling of {phrase!r}"


def test_traditional_table_is_one_way() -> None:
    assert all(len(k) == len(v) == 1 for k, v in TRADITIONAL.items())
    assert not set(TRADITIONAL) & set(TRADITIONAL.values()), "a character maps to a mapped one"


@pytest.mark.parametrize(
    "text",
    [
        "如果您不知道密码,可以通过手机找回。",  # 不知道 inside a sentence is fine
        "我不清楚的地方会马上帮您确认。",
        "没办法登录的话,请先清除缓存。",
        "您可以把账号告诉我,我帮您查。",
        "我们的沟通存在误解,我再解释一下。",
        "You are wrongly charged twice; I will refund one.",
        "I can't do that right now, but my colleague can.",  # not a whole taboo: see below
        "I don't know yet, let me check.",
        "If you do not know the answer, leave it blank.",
    ],
)
def test_harmless_text_passes(guard: PhraseGuard, text: str) -> None:
    hit = guard.screen(text)
    if text.startswith("I can't do that"):
        assert hit is not None  # a taboo phrase inside a longer sentence is still a taboo
    else:
        assert hit is None, hit


def test_whole_message_phrases_only_on_their_own(guard: PhraseGuard) -> None:
    for text in ("不知道", "不知道。", " 不 知 道 !", "不知道!!!", "I don't know.", "i DON'T know"):
        assert guard.screen(text) is not None, text
    for text in ("不知道的话可以问我", "我知道不", "I don't know yet"):
        assert guard.screen(text) is None, text


def test_latin_phrases_respect_word_boundaries() -> None:
    wrong = Pattern.of("you are wrong")
    assert wrong.found_in(fold("Sorry, but YOU ARE WRONG."))
    assert wrong.found_in(fold("y o u a r e w r o n g"))
    assert wrong.found_in(fold("you-are-wrong"))
    assert wrong.found_in(fold("ｙｏｕ　ａｒｅ　ｗｒｏｎｇ"))
    assert wrong.found_in(fold("yóu àre wróng"))
    assert not wrong.found_in(fold("you are wrongly charged"))
    assert not wrong.found_in(fold("down the bayou are wrong turns"))


def test_keywords_match_word_prefixes_and_chinese_anywhere(guard: PhraseGuard) -> None:
    assert guard.spot("the game crashed again", "stability") == "crash"
    assert guard.spot("老是掉線,怎麼回事", "stability") == "掉线"
    assert guard.spot("你們回覆太慢了", "slow_reply") == "回复太慢"
    assert guard.spot("你 是 白 痴 吗", "abuse") == "白痴"
    assert guard.spot("what a MORON", "abuse") == "moron"
    assert guard.spot("thanks, that fixed it", "abuse") is None
    assert guard.spot("my classmate", "abuse") is None
    assert guard.spot("anything", "no_such_list") is None


def test_the_chat_locale_table_is_tried_first(guard: PhraseGuard) -> None:
    hit = guard.screen("不知道", "en")
    assert hit is not None and hit.locale == "zh-CN"
    english = guard.screen("I already told you", "zh-CN")
    assert english is not None and english.locale == "en"


def test_a_phrase_without_letters_is_refused() -> None:
    with pytest.raises(ValueError, match="no letters"):
        Pattern.of("?!")
