"""The role × route table: which role may call which /api/v1 route, in one place.

Every /api/v1 route is looked up here by the router's one dependency (``authorize``); a
route with no rule is refused to everyone, and tests/integration/test_roles.py walks the
OpenAPI route list so a new route without a rule fails. docs/admin.md shows the same table.

A rule names the roles that see everything the route shows, and the roles that see only
their own part of it (an agent: the chats assigned to them, their own reports).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.routing import compile_path

from service.api.auth import RuntimeDep, signed_in
from service.errors import Forbidden
from service.tokens.service import Caller, Role

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    own: frozenset[Role] = frozenset()

    def allows(self, role: Role) -> bool:
        return role in self.roles or role in self.own


ADMIN = Rule(frozenset({Role.admin}))
DESK = Rule(frozenset({Role.admin, Role.supervisor}))
# S-privacy: an agent reads only the chats they serve and the reports about themselves.
DESK_OR_OWN = Rule(frozenset({Role.admin, Role.supervisor}), frozenset({Role.agent}))

V1 = "/api/v1"
ROUTES: dict[tuple[str, str], Rule] = {
    # Agents, groups, templates and tokens are managed by admins; supervisors read them.
    ("GET", f"{V1}/agents"): DESK,
    ("POST", f"{V1}/agents"): ADMIN,
    ("PATCH", f"{V1}/agents/{{agent_id}}"): ADMIN,
    ("POST", f"{V1}/agents/{{agent_id}}/token"): ADMIN,
    ("DELETE", f"{V1}/agents/{{agent_id}}/token"): ADMIN,
    ("GET", f"{V1}/groups"): DESK,
    ("POST", f"{V1}/groups"): ADMIN,
    ("GET", f"{V1}/groups/{{name}}"): DESK,
    ("PATCH", f"{V1}/groups/{{name}}"): ADMIN,
    ("PUT", f"{V1}/groups/{{name}}/agents/{{agent_id}}"): ADMIN,
    ("DELETE", f"{V1}/groups/{{name}}/agents/{{agent_id}}"): ADMIN,
    ("GET", f"{V1}/templates"): DESK,
    ("GET", f"{V1}/templates/{{key}}"): DESK,
    ("PUT", f"{V1}/templates/{{key}}"): ADMIN,
    ("DELETE", f"{V1}/templates/{{key}}"): ADMIN,
    ("GET", f"{V1}/tokens"): ADMIN,
    ("POST", f"{V1}/tokens"): ADMIN,
    ("POST", f"{V1}/tokens/{{token_id}}/rotate"): ADMIN,
    ("DELETE", f"{V1}/tokens/{{token_id}}"): ADMIN,
    ("GET", f"{V1}/audit"): ADMIN,
    # Webhooks reach outside the desk with its data: admins only (docs/webhooks.md).
    ("POST", f"{V1}/webhooks"): ADMIN,
    ("GET", f"{V1}/webhooks"): ADMIN,
    ("GET", f"{V1}/webhooks/{{webhook_id}}"): ADMIN,
    ("PATCH", f"{V1}/webhooks/{{webhook_id}}"): ADMIN,
    ("DELETE", f"{V1}/webhooks/{{webhook_id}}"): ADMIN,
    ("GET", f"{V1}/webhooks/{{webhook_id}}/deliveries"): ADMIN,
    ("POST", f"{V1}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/retry"): ADMIN,
    # Chats and reports: the desk reads all, an agent their own.
    ("GET", f"{V1}/chats"): DESK_OR_OWN,
    ("GET", f"{V1}/chats/{{chat_id}}"): DESK_OR_OWN,
    ("POST", f"{V1}/chats/{{chat_id}}/close"): DESK,
    ("GET", f"{V1}/reports/reply-times"): DESK_OR_OWN,
    ("GET", f"{V1}/reports/satisfaction"): DESK_OR_OWN,
    ("GET", f"{V1}/reports/forbidden-phrases"): DESK_OR_OWN,
    ("GET", f"{V1}/reports/drops"): DESK_OR_OWN,
    ("GET", f"{V1}/reports/queue"): DESK,
    ("GET", f"{V1}/desk"): DESK,
    # The notification table, customers, callbacks, promises, shifts: the supervisors' work.
    ("GET", f"{V1}/complaints"): DESK,
    ("GET", f"{V1}/complaints/export.csv"): DESK,
    ("GET", f"{V1}/complaints/workflow"): DESK,
    ("GET", f"{V1}/complaints/{{complaint_id}}"): DESK,
    ("PATCH", f"{V1}/complaints/{{complaint_id}}"): DESK,
    ("POST", f"{V1}/complaints/{{complaint_id}}/follow-up"): DESK,
    # Surge mode (S-classes batch): supervisors declare, change and resolve incidents.
    ("GET", f"{V1}/incidents"): DESK,
    ("POST", f"{V1}/incidents"): DESK,
    ("GET", f"{V1}/incidents/{{incident_id}}"): DESK,
    ("PATCH", f"{V1}/incidents/{{incident_id}}"): DESK,
    ("POST", f"{V1}/incidents/{{incident_id}}/resolve"): DESK,
    ("GET", f"{V1}/customers"): DESK,
    ("GET", f"{V1}/customers/{{customer_id}}"): DESK,
    ("PATCH", f"{V1}/customers/{{customer_id}}"): DESK,
    # S-privacy: a customer's data leaves, or goes, on an admin's word only (docs/privacy.md).
    ("GET", f"{V1}/customers/{{customer_id}}/export"): ADMIN,
    ("POST", f"{V1}/customers/{{customer_id}}/erase"): ADMIN,
    ("GET", f"{V1}/callbacks"): DESK,
    ("GET", f"{V1}/callbacks/{{callback_id}}"): DESK,
    ("PATCH", f"{V1}/callbacks/{{callback_id}}"): DESK,
    ("GET", f"{V1}/promises"): DESK,
    ("GET", f"{V1}/promises/{{promise_id}}"): DESK,
    ("PATCH", f"{V1}/promises/{{promise_id}}"): DESK,
    ("GET", f"{V1}/shifts"): DESK,
    ("GET", f"{V1}/handovers"): DESK,
}


@dataclass(frozen=True, slots=True)
class Access:
    """A caller allowed on this route; ``own_only``: limited to what is theirs."""

    caller: Caller
    own_only: bool

    @property
    def only_agent(self) -> int | None:
        """The agent whose own data this caller is limited to, or None for all of it."""
        return self.caller.agent_id if self.own_only else None


def _compiled() -> list[tuple[str, re.Pattern[str], str, Rule]]:
    # Literal paths before templated ones, as the router prefers them (workflow, export.csv).
    keys = sorted(ROUTES, key=lambda key: (key[1].count("{"), key[1]))
    return [(method, compile_path(path)[0], path, ROUTES[method, path]) for method, path in keys]


MATCHERS = _compiled()


def rule_for(method: str, path: str) -> tuple[str, Rule] | None:
    """The route template and rule a request falls under, or None when no rule has it."""
    for rule_method, pattern, template, rule in MATCHERS:
        if rule_method == method and pattern.match(path):
            return template, rule
    return None


def forbidden(role: Role, method: str, template: str) -> Forbidden:
    return Forbidden(f"the {role} role may not use {method} {template}")


async def authorize(request: Request, caller: Annotated[Caller, Depends(signed_in)]) -> Access:
    found = rule_for(request.method, request.url.path)
    if found is None:
        # Fails closed: a route nobody gave a rule is nobody's (and the matrix test fails).
        log.error("roles.no_rule method=%s", request.method)
        raise Forbidden("no role may use this route")
    template, rule = found
    if caller.role in rule.roles:
        return Access(caller, own_only=False)
    if caller.role in rule.own and caller.agent_id is not None:
        return Access(caller, own_only=True)
    raise forbidden(caller.role, request.method, template)


AccessDep = Annotated[Access, Depends(authorize)]

# Permissions beside the routes: "pii" is seeing personal information in clear (S-privacy,
# docs/privacy.md); without it transcripts, complaints, exports and contacts come masked.
# Supervisors get it only with KEFU_SUPERVISOR_PII (see ``sees_pii``).
PERMISSIONS: dict[str, frozenset[Role]] = {"pii": frozenset({Role.admin})}


def sees_pii(caller: Caller, supervisor_pii: bool) -> bool:
    if caller.role in PERMISSIONS["pii"]:
        return True
    return supervisor_pii and caller.role is Role.supervisor


async def clear_pii(runtime: RuntimeDep, caller: Annotated[Caller, Depends(signed_in)]) -> bool:
    """True when the caller sees personal information in clear; else the answer is masked."""
    return sees_pii(caller, runtime.settings.supervisor_pii)


ClearPiiDep = Annotated[bool, Depends(clear_pii)]
