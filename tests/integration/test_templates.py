"""Template overrides: the phrases file is the default, admins change wording per deployment."""

from __future__ import annotations

import pytest

from tests.support.server import Server

WELCOME = "您好,欢迎光临3yx上游戏服务网,请问有什么可以帮您?"


async def test_list_shows_every_template_with_its_rules(server: Server) -> None:
    listing = (await server.http.get("/api/v1/templates", params={"locale": "en"})).json()
    by_key = {entry["key"]: entry for entry in listing}
    assert {"welcome", "callback", "nobody_online", "transferred"} <= by_key.keys()
    callback = by_key["callback"]
    assert (callback["locale"], callback["standard"], callback["variables"]) == (
        "en",
        "S-callback",
        ["time"],
    )
    assert callback["quick_reply"] is True and by_key["welcome"]["quick_reply"] is False
    assert callback["overridden"] is False and callback["text"] == callback["default"]["text"]
    closing = by_key["closing"]
    assert set(closing["variants"]) == {"weekend", "holiday"}


async def test_override_changes_what_customers_get_and_reset_restores_it(
    server: Server,
) -> None:
    put = await server.http.put(
        "/api/v1/templates/welcome", json={"text": "欢迎来到{brand}客服中心!"}
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["overridden"], body["updated_by"]) == (True, "KEFU_ADMIN_TOKEN")
    assert body["updated_at"] == "2026-01-05T09:00:00Z"
    assert body["default"]["text"] == "您好,欢迎光临{brand}上游戏服务网,请问有什么可以帮您?"

    customer = await server.customer()
    assert (await customer.expect("message", seq=1))["text"] == "欢迎来到3yx客服中心!"
    english = await server.customer(locale="en")  # other locales keep the file's wording
    assert (await english.expect("message", seq=1))["text"].startswith("Hello, welcome")

    got = (await server.http.get("/api/v1/templates/welcome")).json()
    assert got["text"] == "欢迎来到{brand}客服中心!"
    reset = await server.http.delete("/api/v1/templates/welcome")
    assert reset.json()["overridden"] is False
    again = await server.customer()
    assert (await again.expect("message", seq=1))["text"] == WELCOME


async def test_overridden_quick_reply_and_variants(server: Server) -> None:
    await server.http.put(
        "/api/v1/templates/callback",
        params={"locale": "zh-CN"},
        json={"text": "我们将在{time}之前给您回复。"},
    )
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.send(
        {
            "type": "promise",
            "chat_id": customer.chat_id,
            "kind": "callback",
            "due_at": "2026-01-05T20:00:00+08:00",
        }
    )
    got = await customer.until("message", template="callback")
    assert got["text"] == "我们将在2026-01-05 20:00之前给您回复。"

    put = await server.http.put(
        "/api/v1/templates/closing",
        json={"text": "谢谢,再见!", "variants": {"weekend": "谢谢,周末愉快!"}},
    )
    assert put.json()["variants"] == {"weekend": "谢谢,周末愉快!"}
    async with server.runtime.units.read() as session:
        render = server.runtime.templates.render
        assert await render(session, "closing", "zh-CN", "weekend") == "谢谢,周末愉快!"
        assert await render(session, "closing", "zh-CN", "holiday") == "谢谢,再见!"


@pytest.mark.parametrize(
    ("path", "params", "body", "status", "code"),
    [
        ("welcome", {}, {"text": "欢迎{agent_name}"}, 422, "invalid_template"),
        ("welcome", {}, {"text": "欢迎{0}"}, 422, "invalid_template"),
        ("welcome", {}, {"text": "欢迎{brand"}, 422, "invalid_template"),
        ("closing", {}, {"text": "再见", "variants": {"night": "晚安"}}, 422, "invalid_template"),
        (
            "closing",
            {},
            {"text": "再见", "variants": {"weekend": "{time}"}},
            422,
            "invalid_template",
        ),
        ("hold", {}, {"text": "不知道"}, 422, "forbidden_phrase"),
        ("hold", {}, {"text": ""}, 422, "invalid_request"),
        ("hold", {}, {"text": "稍等", "extra": 1}, 422, "invalid_request"),
        ("goodbye", {}, {"text": "再见"}, 404, "unknown_template"),
        ("hold", {"locale": "fr"}, {"text": "Un instant"}, 404, "not_found"),
    ],
)
async def test_bad_overrides_are_refused_and_change_nothing(
    server: Server,
    path: str,
    params: dict[str, str],
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    response = await server.http.put(f"/api/v1/templates/{path}", params=params, json=body)
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["code"] == code
    assert response.headers["content-type"] == "application/problem+json"
    listing = (await server.http.get("/api/v1/templates")).json()
    assert not any(entry["overridden"] for entry in listing)


async def test_problem_names_the_variable_and_field(server: Server) -> None:
    response = await server.http.put(
        "/api/v1/templates/closing",
        json={"text": "再见", "variants": {"weekend": "周末愉快,{agent_name}"}},
    )
    problem = response.json()
    assert problem["field"] == "weekend"
    assert "{agent_name}" in problem["detail"] and "brand" in problem["detail"]
    taboo = (await server.http.put("/api/v1/templates/hold", json={"text": "沒辦法"})).json()
    assert (taboo["phrase"], taboo["suggestion"]) == (
        "没办法",
        "对不起,这超出了我的权限范围,但我会马上将问题反映给相关部门,您看这样好吗?",
    )


async def test_unknown_key_and_locale_on_get(server: Server) -> None:
    assert (await server.http.get("/api/v1/templates/goodbye")).status_code == 404
    response = await server.http.get("/api/v1/templates", params={"locale": "fr"})
    assert response.status_code == 404


async def test_the_complaint_acknowledgement_says_the_override_too(server: Server) -> None:
    # S-complaint-ack goes through the same templates as every other: a deployment's wording
    # reaches the customer (it once rendered the file's wording, whatever the override).
    put = await server.http.put(
        "/api/v1/templates/complaint_ack", json={"text": "已记录您的投诉,{hours}小时内答复"}
    )
    assert put.status_code == 200, put.text
    customer = await server.customer()
    await customer.send({"type": "complain", "topic": "recharge", "text": "充值没到账"})
    ack = await customer.until("message", template="complaint_ack")
    assert ack["text"] == "已记录您的投诉,48小时内答复"
