"""The template catalogue: the real phrases files, rendering, locales, and refusing bad files."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from service.templates import (
    TEMPLATE_VARIABLES,
    Catalog,
    ForbiddenPhrase,
    MissingVariable,
    PhraseError,
)

PHRASES = pathlib.Path(__file__).resolve().parents[2] / "phrases"

# The source wording of shared/SERVICE-STANDARDS.md, character for character.
SEED_WORDING = {
    "welcome": "您好,欢迎光临3yx上游戏服务网,请问有什么可以帮您?",
    "long_wait": "非常抱歉,由于业务量较大让您久等了,给您带来不便敬请谅解!",
    "slow_reply": "非常感谢您给我们提出的建议,我们会采纳并纠正自己的不足,完善我们的服务质量,"
    "给玩家提供一个良好的服务。请您继续关注并监督我们的服务。",
    "stability": "非常感谢您提出的建议,我们会反馈给相关部门尽快完善我们平台的不足之处。",
    "closing": "非常感谢您对3yx的支持和关注,有问题随时联系我们在线客服,"
    "我们24小时竭诚为您服务,祝您愉快!",
    "correction": "非常抱歉由于我的失误,导致信息发送错误,请您谅解!",
    "hold": "请您稍等!",
    "hold_back": "很抱歉让您久等了!",
    "anything_else": "请问,还有其它问题吗?",
    "complaint_ack": "我们将把您的要求及时上报相关部门,并在48小时给您答复",
    "survey": "请问您对我的服务态度在0到10分之间会打几分?",
    "unsatisfied": "很遗憾,我没有提供让您满意的服务,一周内我司的服务质量监督员会再次与您联系",
}

SAMPLE_VALUES = {
    "brand": "3yx",
    "time": "18:00",
    "hours": "24",
    "agent_name": "小王",
    "employee_no": "1024",
    "position": "3",
    "title": "登录服务器故障",
    "resolution": "已恢复。",
    "topic": "technical",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(PHRASES)


def test_real_files_load_with_every_key(catalog: Catalog) -> None:
    assert catalog.locales == {"zh-CN", "en"}
    assert catalog.default_locale == "zh-CN"
    assert catalog.keys() == set(TEMPLATE_VARIABLES)


def test_zh_welcome_is_the_seed_wording(catalog: Catalog) -> None:
    assert catalog.render("welcome", "zh-CN", brand="3yx") == SEED_WORDING["welcome"]


def test_zh_closing_is_the_seed_wording(catalog: Catalog) -> None:
    assert catalog.render("closing", "zh-CN", brand="3yx") == SEED_WORDING["closing"]


@pytest.mark.parametrize("key", sorted(SEED_WORDING))
def test_zh_seed_templates_render_the_standards_wording(catalog: Catalog, key: str) -> None:
    assert catalog.render(key, brand="3yx") == SEED_WORDING[key]


def test_zh_chat_wording_replaces_telephone_wording(catalog: Catalog) -> None:
    assert "对话" in catalog.render("abuse_warning")
    assert "通话" not in catalog.render("abuse_warning")
    assert catalog.render("no_response").startswith("对不起")
    callback = catalog.render("callback", time="今天18:00")
    assert callback == "我会在今天18:00答复您,请留下您的联系电话。"
    assert catalog.render("opening", agent_name="小王", employee_no="1024").startswith(
        "您好!我是小王,工号1024"
    )


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_key_renders_in_every_locale(catalog: Catalog, locale: str) -> None:
    for key in TEMPLATE_VARIABLES:
        text = catalog.render(key, locale, **SAMPLE_VALUES)
        assert text and "{" not in text and "}" not in text


def test_standard_ids(catalog: Catalog) -> None:
    assert catalog.standard("welcome") == "S-welcome"
    assert catalog.standard("hold_back") == "S-hold-back"
    assert all(catalog.standard(key).startswith("S-") for key in catalog.keys())


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN-gb", "en"),
        ("fr-FR", "zh-CN"),
    ],
)
def test_resolve_locale(catalog: Catalog, requested: str | None, resolved: str) -> None:
    assert catalog.resolve_locale(requested) == resolved


def test_render_resolves_the_requested_locale(catalog: Catalog) -> None:
    assert catalog.render("hold", "en-US") == "One moment, please!"
    assert catalog.render("hold", "de") == "请您稍等!"


def test_closing_variants(catalog: Catalog) -> None:
    weekend = catalog.render("closing", variant="weekend", brand="3yx")
    holiday = catalog.render("closing", variant="holiday", brand="3yx")
    assert weekend.endswith("祝您周末愉快!")
    assert holiday.endswith("祝您节日愉快!")
    assert "3yx" in weekend and "3yx" in holiday
    assert catalog.render("closing", "en", variant="weekend", brand="3yx").endswith("weekend!")


def test_absent_variant_falls_back_to_the_text(catalog: Catalog) -> None:
    assert catalog.render("welcome", variant="holiday", brand="3yx") == SEED_WORDING["welcome"]


def test_unknown_variant_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="night"):
        catalog.render("closing", variant="night", brand="3yx")


def test_unknown_key_raises_key_error(catalog: Catalog) -> None:
    with pytest.raises(KeyError):
        catalog.render("goodbye")


def test_missing_variable_names_key_and_variable(catalog: Catalog) -> None:
    with pytest.raises(MissingVariable, match=r"'callback'.*'time'"):
        catalog.render("callback")
    assert issubclass(MissingVariable, ValueError)


def test_unused_variables_are_ignored(catalog: Catalog) -> None:
    assert catalog.render("hold", brand="3yx") == "请您稍等!"


def test_complaint_ack_promises_48_hours_unless_told_otherwise(catalog: Catalog) -> None:
    assert "48小时" in catalog.render("complaint_ack")
    assert "24小时" in catalog.render("complaint_ack", hours="24")
    assert "within 48 hours" in catalog.render("complaint_ack", "en")


def test_forbidden_phrases_carry_replacements(catalog: Catalog) -> None:
    zh = {entry.phrase: entry.replacement for entry in catalog.forbidden("zh-CN")}
    assert zh["您搞错了"] == "我觉得我们的沟通存在误解"
    assert zh["我已经说得很清楚了"] == "对不起,或许是我未解释清楚,令您误解了"
    assert zh["您听明白了吗?"] == "我解释清楚了吗?"
    assert zh["啊,你说什么?"] == "对不起,我没有听明白,请您再说一遍好吗?"
    assert {"这与我无关", "我办不了", "没方法", "没办法", "不清楚", "不知道"} <= zh.keys()
    en = {entry.phrase for entry in catalog.forbidden("en")}
    assert {"you are wrong", "I already told you", "not my problem", "I don't know"} <= en


def test_forbidden_match_ignores_width_and_case() -> None:
    entry = ForbiddenPhrase("您听明白了吗?", "我解释清楚了吗?")
    assert entry.matches("这样说您听明白了吗?")
    assert entry.matches("您听明白了吗")
    assert ForbiddenPhrase("you are wrong", "…").matches("Sorry, but You Are Wrong.")
    assert not entry.matches("我解释清楚了吗?")


def test_bare_answer_is_forbidden_only_on_its_own() -> None:
    entry = ForbiddenPhrase("不知道", "请您稍等,我帮您确认一下", whole_message=True)
    assert entry.matches("不知道。")
    assert entry.matches(" 不知道! ")
    assert not entry.matches("如果您不知道密码,可以通过手机找回。")


def test_keyword_lists(catalog: Catalog) -> None:
    assert {"投诉", "举报", "315"} <= set(catalog.keywords("zh-CN", "complaint"))
    assert "掉线" in catalog.keywords("zh-CN", "stability")
    assert "too slow" in catalog.keywords("en-US", "slow_reply")
    for locale in catalog.locales:
        for name in ("complaint", "abuse", "slow_reply", "stability"):
            assert catalog.keywords(locale, name)
    with pytest.raises(KeyError):
        catalog.keywords("zh-CN", "spam")


# Refusing bad files: each case copies the real files and alters one thing.


def copy_phrases(tmp_path: pathlib.Path) -> pathlib.Path:
    directory = tmp_path / "phrases"
    shutil.copytree(PHRASES, directory)
    return directory


def alter(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_containing(path: pathlib.Path, marker: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if marker in line)


BROKEN = [
    pytest.param(
        "en.toml",
        '[templates.hold]\nstandard = "S-hold"\ntext = "One moment, please!"\n',
        "",
        "hold",
        None,
        id="required-key-missing",
    ),
    pytest.param(
        "zh-CN.toml",
        "[keywords]",
        '[templates.goodbye]\nstandard = "S-closing"\ntext = "再见"\n\n[keywords]',
        "goodbye",
        "[templates.goodbye]",
        id="unknown-template-key",
    ),
    pytest.param(
        "en.toml",
        "welcome to {brand}",
        "welcome to {brand_name}",
        "welcome",
        "{brand_name}",
        id="placeholder-not-allowed",
    ),
    pytest.param(
        "zh-CN.toml",
        "祝您周末愉快!",
        "祝您周末愉快,{agent_name}!",
        "closing",
        "{agent_name}",
        id="placeholder-not-allowed-in-variant",
    ),
    pytest.param(
        "zh-CN.toml",
        'text = "请您稍等!"',
        'text = "请您稍等{0}!"',
        "hold",
        "{0}",
        id="positional-placeholder",
    ),
    pytest.param(
        "zh-CN.toml",
        'text = "很抱歉让您久等了!"',
        'text = "很抱歉让您久等了!{"',
        "hold_back",
        "久等了!{",
        id="unbalanced-brace",
    ),
    pytest.param(
        "en.toml",
        "\nholiday = ",
        '\nnight = "Good night!"\nholiday = ',
        "closing",
        "night =",
        id="unknown-variant",
    ),
    pytest.param(
        "zh-CN.toml",
        "\nstability = [",
        "\nstable = [",
        "keywords.stable",
        "stable = [",
        id="unknown-keyword-list",
    ),
    pytest.param(
        "zh-CN.toml",
        'replacement = "我觉得我们的沟通存在误解"\n',
        "",
        "forbidden[0]",
        "您搞错了",
        id="forbidden-without-replacement",
    ),
    pytest.param(
        "zh-CN.toml",
        'phrase = "您搞错了"',
        'phrase = "?!"',
        "forbidden[0]",
        'phrase = "?!"',
        id="forbidden-phrase-without-letters",
    ),
    pytest.param(
        "en.toml",
        '"go to hell"]',
        '"go to hell", "!!"]',
        "keywords.abuse",
        "abuse = [",
        id="keyword-without-letters",
    ),
    pytest.param(
        "en.toml",
        'standard = "S-hold"',
        'standard = "S-wait"',
        "hold",
        "S-wait",
        id="standard-differs-between-locales",
    ),
    pytest.param(
        "en.toml",
        'locale = "en"',
        'locale = "en-GB"',
        "locale",
        'locale = "en-GB"',
        id="locale-differs-from-file-name",
    ),
    pytest.param(
        "zh-CN.toml",
        'of = "这不归我管"',
        'of = "这不归他管"',
        "synonyms[7]",
        'of = "这不归他管"',
        id="synonym-of-no-forbidden-phrase",
    ),
    pytest.param(
        "en.toml",
        'abuse = ["stfu"',
        'insults = ["stfu"',
        "abbreviations.insults",
        'insults = ["stfu"',
        id="abbreviations-of-an-unknown-list",
    ),
    pytest.param(
        "en.toml",
        'replacement = "Please keep to polite service language"\n',
        "",
        "profanity",
        "[profanity]",
        id="profanity-without-replacement",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "key", "line_marker"), BROKEN)
def test_bad_file_is_refused_naming_file_and_key(
    tmp_path: pathlib.Path, file: str, old: str, new: str, key: str, line_marker: str | None
) -> None:
    directory = copy_phrases(tmp_path)
    alter(directory / file, old, new)
    with pytest.raises(PhraseError) as caught:
        Catalog.load(directory)
    error = caught.value
    assert file in str(error) and key in str(error)
    assert pathlib.Path(error.file).name == file
    assert error.key == key
    if line_marker is not None:
        assert error.line == line_containing(directory / file, line_marker)
        assert f"{file}:{error.line}:" in str(error)


def test_unparsable_toml_names_file_and_line(tmp_path: pathlib.Path) -> None:
    directory = copy_phrases(tmp_path)
    alter(directory / "zh-CN.toml", 'text = "请您稍等!"', 'text = "请您稍等!')
    with pytest.raises(PhraseError) as caught:
        Catalog.load(directory)
    assert caught.value.line == line_containing(directory / "zh-CN.toml", '"请您稍等!')
    assert f"zh-CN.toml:{caught.value.line}:" in str(caught.value)


def test_missing_default_locale_is_refused(tmp_path: pathlib.Path) -> None:
    directory = copy_phrases(tmp_path)
    (directory / "zh-CN.toml").unlink()
    with pytest.raises(PhraseError, match=r"zh-CN\.toml"):
        Catalog.load(directory)
    with pytest.raises(PhraseError, match=r"fr\.toml"):
        Catalog.load(copy_phrases(tmp_path / "again"), default_locale="fr")
