"""Customers: what they are (VIP, flagged) and the changes staff make to them."""

from __future__ import annotations

from datetime import datetime

from service.customers.schemas import CustomerCard, CustomerOut, CustomerUpdate
from service.db.models import Customer
from service.settings import Settings

# The fields a staff change may touch (recorded before → after in the audit log).
CHANGEABLE = ("tier", "sensitive", "flagged_at", "flag_reason")


def is_vip(customer: Customer, settings: Settings) -> bool:
    """S-classes important customer: the player's tier is one of KEFU_COMPLAINT_VIP_TIERS."""
    return customer.tier is not None and customer.tier.casefold() in settings.vip_tiers


def card(customer: Customer) -> CustomerCard:
    return CustomerCard(
        id=customer.id,
        player_id=customer.player_id,
        name=customer.name,
        tier=customer.tier,
        guest=customer.player_id is None,
        sensitive=customer.sensitive,
    )


def out(customer: Customer, settings: Settings) -> CustomerOut:
    return CustomerOut(
        **card(customer).model_dump(),
        vip=is_vip(customer, settings),
        flagged=customer.flagged_at is not None,
        flagged_at=customer.flagged_at,
        flag_reason=customer.flag_reason,
        created_at=customer.created_at,
    )


def change(customer: Customer, data: CustomerUpdate, now: datetime) -> None:
    """Tier, sensitive, flag: as given (the complaints then gain the reasons they imply)."""
    if "tier" in data.model_fields_set:
        customer.tier = data.tier
    if data.sensitive is not None:
        customer.sensitive = data.sensitive
    if data.flagged is False:
        customer.flagged_at, customer.flag_reason = None, None
    elif data.flagged and customer.flagged_at is None:
        customer.flagged_at, customer.flag_reason = now, "staff"
