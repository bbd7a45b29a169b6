"""Evasions of the taboo and abuse lists that the shared normalisation catches."""

from __future__ import annotations

import pathlib

import pytest

from service.templates import Catalog, PhraseGuard

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


# -- the one matcher (service/templates/matching.py) ------------------------------------------

from service.templates.matching import Entry, Matcher  # noqa: E402


def test_the_catalogue_builds_its_matcher_once_for_every_list() -> None:
    catalog = Catalog.load(PHRASES)
    assert catalog.guard() is catalog.guard()
    kinds = {entry.kind for entry in catalog.guard().matcher.entries}
    assert kinds == {"forbidden", "profanity", "abuse", "complaint", "slow_reply", "stability"}


def test_overlapping_keys_of_different_lists_are_all_found() -> None:
    matcher = Matcher(
        [Entry("a", "垃圾", "垃圾"), Entry("b", "垃圾客服", "垃圾客服"), Entry("c", "客服", "客服")]
    )
    found = matcher.find("你们这垃圾客服", frozenset({"a", "b", "c"}))
    assert [match.entry.phrase for match in found] == ["垃圾", "垃圾客服", "客服"]
    assert [m.entry.phrase for m in matcher.find("垃圾客服", frozenset({"c"}))] == ["客服"]


def test_one_message_is_matched_once_for_all_lists(guard: PhraseGuard) -> None:
    text = "你们的服务器老是掉线,我要投诉"
    guard.spot(text, "stability")
    from service.templates import fold

    assert guard.matcher in fold(text).memo
    assert guard.spot(text, "complaint") == "投诉"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("您搞搞错了", "您搞错了"),  # inserted
        ("你们搞错了", "您搞错了"),
        ("我已经说的很清楚了", "我已经说得很清楚了"),  # substituted
        ("我已说得很清楚了", "我已经说得很清楚了"),  # dropped (six characters or more)
        ("you are wrrong", "you are wrong"),
        ("nothing to do wiht me", "nothing to do with me"),  # two letters swapped
    ],
)
def test_one_edit_inside_a_long_phrase_is_caught(
    guard: PhraseGuard, text: str, phrase: str
) -> None:
    hit = guard.screen(text)
    assert hit is not None and (hit.phrase, hit.how) == (phrase, "fuzzy")


@pytest.mark.parametrize(
    "text",
    [
        "我搞错了,非常抱歉",  # the first character is never the edit
        "你搞定了吗",  # four characters take an insertion only
        "你说什么时候方便",  # a dropped character needs six
        "我被搞糊涂了",  # never a pronoun: the handbook's own answer
        "I can do that for you",  # no dropped letter in Latin
        "there is nothing I can't do for you",  # nor one between words
    ],
)
def test_one_edit_does_not_turn_ordinary_sentences_into_taboos(
    guard: PhraseGuard, text: str
) -> None:
    assert guard.screen(text) is None


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("不知道啊", "不知道"),
        ("不知道呀!", "不知道"),
        ("嗯,我也不知道啦", "不知道"),
        ("真的不清楚哦", "不清楚"),
        ("没办法呢", "没办法"),
        ("您搞错啦", "您搞错了"),  # a phrase's own final particle swapped
        ("honestly I don't know lol", "I don't know"),
        ("I really don't know", "I don't know"),
    ],
)
def test_particles_and_an_added_word_leave_a_bare_answer_bare(
    guard: PhraseGuard, text: str, phrase: str
) -> None:
    hit = guard.screen(text)
    assert hit is not None and hit.phrase == phrase


def test_a_bare_answer_inside_a_sentence_still_passes(guard: PhraseGuard) -> None:
    for text in ("不知道您现在方便接电话吗?", "我也不清楚的地方会再确认", "I don't know yet"):
        assert guard.screen(text) is None, text


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("ni gao cuo le", "您搞错了"),
        ("nǐ gǎo cuò le", "您搞错了"),
        ("ni3 gao3 cuo4 le5", "您搞错了"),
        ("您搞措了", "您搞错了"),  # homophone characters, toneless from three syllables
        ("我半不了", "我办不了"),
        ("bu zhi dao", "不知道"),
        ("不知到", "不知道"),
    ],
)
def test_pinyin_and_homophones_of_taboo_phrases_are_caught(
    guard: PhraseGuard, text: str, phrase: str
) -> None:
    hit = guard.screen(text)
    assert hit is not None and hit.phrase == phrase
    assert hit.how in ("pinyin", "bare")  # a bare answer is compared whole, by sound too


def test_two_syllable_abuse_needs_its_tones_or_one_of_its_characters(guard: PhraseGuard) -> None:
    assert guard.spot("傻比", "abuse") == "傻逼"  # other tone, 傻 kept
    assert guard.spot("sha bi", "abuse") == "傻逼"
    assert guard.spot("草拟一份方案", "abuse") is None  # cao3 ni3 is not cao4 ni3
    assert guard.spot("白吃白喝", "abuse") is None  # same sound, listed in [not_homophones]


def test_curated_synonyms_report_the_handbook_phrase(guard: PhraseGuard) -> None:
    hit = guard.screen("这跟我没关系")
    assert hit is not None and hit.phrase == "这与我无关"
    assert hit.replacement.startswith("您的问题由我来负责跟进")
    bare = guard.screen("啥?")
    assert bare is not None and bare.phrase == "啊,你说什么?"
    assert guard.screen("啥时候能到账?") is None


@pytest.mark.parametrize(
    ("text", "word"),
    [("1d10t", "idiot"), ("stup1d", "stupid"), ("stuuupid", "stupid"), ("a55hole", "asshole")],
)
def test_leetspeak_is_read_as_letters(guard: PhraseGuard, text: str, word: str) -> None:
    assert guard.spot(text, "abuse") == word


def test_leetspeak_in_a_taboo_phrase(guard: PhraseGuard) -> None:
    hit = guard.screen("y0u 4re wr0ng")
    assert hit is not None and hit.phrase == "you are wrong"
    assert guard.screen("Order 1d 10t shipped") is None  # digits apart from letters stay digits


@pytest.mark.parametrize("text", ["nmsl", "你是sb吗", "CNM", "tmd怎么还没到", "stfu"])
def test_player_abbreviations_are_abuse(guard: PhraseGuard, text: str) -> None:
    assert guard.spot(text, "abuse") is not None


@pytest.mark.parametrize("text", ["USB 接口", "sbc 主板", "the SBS channel", "tmdb"])
def test_abbreviations_are_whole_words_only(guard: PhraseGuard, text: str) -> None:
    assert guard.spot(text, "abuse") is None


def test_agents_are_screened_for_profanity_and_the_abuse_list(guard: PhraseGuard) -> None:
    for text, phrase in (("卧槽", "卧槽"), ("你是白痴吗", "白痴"), ("sb", "sb"), ("wtf", "wtf")):
        hit = guard.screen(text, "zh-CN")
        assert hit is not None and hit.phrase == phrase, text
    english = guard.screen("you idiot", "en")
    assert english is not None and english.replacement == "Please keep to polite service language"


def test_a_question_taboo_needs_the_question_to_end(guard: PhraseGuard) -> None:
    assert guard.screen("What did you say?") is not None
    assert guard.screen("What did you say your server was?") is None
    assert guard.screen("啊,你说什么?") is not None
    assert guard.screen("啊,你说什么时候方便?") is None


def test_latin_keywords_do_not_run_across_a_space() -> None:
    catalog = Catalog.load(PHRASES)
    assert catalog.guard().spot("I will complain to them", "complaint") == "complain"
    assert catalog.guard().spot("c o m p l a i n t", "complaint") == "complaint"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("ur wrong", "you're wrong"),
        ("U R WRONG", "you are wrong"),
        ("I already told u", "I already told you"),
        ("not my problm", "not my problem"),  # a dropped letter inside a word of five
    ],
)
def test_texting_words_and_a_dropped_letter_in_a_long_word(
    guard: PhraseGuard, text: str, phrase: str
) -> None:
    hit = guard.screen(text)
    assert hit is not None and hit.phrase == phrase


def test_abuse_words_take_swapped_letters_only(guard: PhraseGuard) -> None:
    assert guard.spot("ur an idoit", "abuse") == "idiot"
    for text in ("one batch of items", "a pitch", "Myron from support", "r u there?"):
        assert guard.spot(text, "abuse") is None, text
        assert guard.screen(text) is None, text
