"""S-classes batch counts distinct people: verified players by their id, guests by device and
address (service/complaints/people.py), so one person cannot raise a batch alone."""

from __future__ import annotations

from service.complaints.people import People, Reporter, count_people
from service.security import address_key


def guest(n: int, device: str | None, address: str | None) -> Reporter:
    return Reporter(n, player=False, device=device, address=address)


def test_eleven_tabs_of_one_browser_are_one_person() -> None:
    tabs = [guest(n, "browser-1", "a1") for n in range(11)]
    assert count_people(tabs) == People(1, 0)


def test_a_new_device_id_per_tab_from_one_address_is_still_one_person() -> None:
    assert count_people(guest(n, f"forged-{n}", "a1") for n in range(11)) == People(1, 0)


def test_one_device_moving_between_addresses_is_one_person() -> None:
    assert count_people(guest(n, "phone", f"a{n}") for n in range(5)) == People(1, 0)


def test_a_chain_of_shared_devices_and_addresses_is_one_person() -> None:
    # tab 1 shares the device with tab 0 and the address with tab 2.
    chain = [guest(0, "d0", "a0"), guest(1, "d0", "a1"), guest(2, "d2", "a1")]
    assert count_people(chain) == People(1, 0)


def test_guests_on_their_own_devices_and_addresses_count_each() -> None:
    assert count_people(guest(n, f"d{n}", f"a{n}") for n in range(11)) == People(11, 0)


def test_guests_with_nothing_to_compare_count_by_their_row() -> None:
    assert count_people(guest(n, None, None) for n in range(3)) == People(3, 0)


def test_verified_players_count_by_player_even_from_one_address() -> None:
    # Signed claims: an internet café's players are different people.
    players = [Reporter(n, player=True, vip=n < 5, device="cafe", address="a1") for n in range(8)]
    assert count_people(players) == People(8, 5)


def test_a_player_and_a_guest_never_merge() -> None:
    mixed = [Reporter(1, player=True, device="d", address="a"), guest(2, "d", "a")]
    assert count_people(mixed) == People(2, 0)


def test_only_players_are_vip() -> None:
    assert count_people([Reporter(1, player=False, vip=True)]) == People(1, 0)


def test_an_address_is_kept_as_a_digest() -> None:
    key = address_key("203.0.113.7")
    assert key is not None and "203" not in key and len(key) == 32
    assert key == address_key("203.0.113.7") != address_key("203.0.113.8")
    assert address_key("") is None
