"""S-privacy: what counts as personal information, and what does not (service/privacy/detect)."""

from __future__ import annotations

import pytest

from service.privacy.detect import Kind, find, id_check_digit, luhn, mask, valid_id_card

# Each line holds one piece of personal information: (text, kind, masked text).
PERSONAL = [
    ("我的手机号是13800138000", Kind.phone, "我的手机号是138****8000"),
    ("电话 139-1234-5678 谢谢", Kind.phone, "电话 139-****-5678 谢谢"),
    ("call +86 186 0000 1111 now", Kind.phone, "call +86 186 **** 1111 now"),
    ("手机:15912345678。", Kind.phone, "手机:159****5678。"),
    ("身份证11010519491231002X", Kind.id_card, "身份证1****************X"),
    ("证件号 440304199001011233", Kind.id_card, "证件号 4****************3"),
    ("卡号6222021234567890128", Kind.bank_card, "卡号***************0128"),
    ("卡号 4111 1111 1111 1111 给你", Kind.bank_card, "卡号 **** **** **** 1111 给你"),
    ("邮箱 zhang.san+kefu@example.com.cn", Kind.email, "邮箱 z***@example.com.cn"),
]

# Lines a desk writes every day that hold none: not one must be masked.
IMPERSONAL = [
    "订单号2026010312345,请查收",  # 13 digits: an order number, not a phone
    "订单 20260103123456789 已发货",  # 17 digits
    "角色ID A13800138000",  # glued to a letter: a game id
    "流水号138001380001",  # 12 digits
    "号码1380013800少一位",  # 10 digits
    "12800138000 不是手机号段",  # 12x is not a mobile prefix
    "110105194912310021",  # an ID's shape with a wrong check digit
    "110105194913310028",  # month 13
    "6222021234567890127",  # fails Luhn
    "2222021234567890128",  # no card issuer starts with 2 here
    "充值100元,金额 648.00,等级 99",
    "时间 2026-01-03 12:34:56",
    "user@localhost 不是邮箱",
    "版本 1.3.800138000",
]


@pytest.mark.parametrize(("text", "kind", "masked"), PERSONAL)
def test_personal_information_is_found_and_masked(text: str, kind: Kind, masked: str) -> None:
    assert [finding.kind for finding in find(text)] == [kind]
    assert mask(text) == masked


@pytest.mark.parametrize("text", IMPERSONAL)
def test_everyday_numbers_are_left_alone(text: str) -> None:
    assert find(text) == []
    assert mask(text) == text


def test_several_kinds_in_one_line_are_each_masked() -> None:
    text = "手机13800138000,邮箱a@b.cn,身份证11010519491231002X"
    assert [f.kind for f in find(text)] == [Kind.phone, Kind.email, Kind.id_card]
    assert mask(text) == "手机138****8000,邮箱a***@b.cn,身份证1****************X"


def test_a_mask_leaves_nothing_to_find() -> None:
    for text, _, _ in PERSONAL:
        assert find(mask(text)) == []


def test_the_id_check_digit_is_iso_7064_mod_11_2() -> None:
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44030419900101123") == "3"
    assert valid_id_card("11010519491231002x")
    assert not valid_id_card("1101051949123100")


def test_luhn() -> None:
    assert luhn("4111111111111111") and luhn("79927398713")
    assert not luhn("4111111111111112")
