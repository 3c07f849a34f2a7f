"""Installer diagnostic for the ID-card reader: the only path by which a raw ID number leaves devices.idcard."""
from __future__ import annotations

from datetime import date

from devices.idcard.card import IdCard, reveal
from devices.idcard.driver import IdCardReader


def card_summary(card: IdCard, show: bool = False, today: date | None = None) -> dict:
    """JSON-ready description of a card; name and number stay masked unless show=True."""
    today = today or date.today()
    out = {
        "name": card.masked_name, "number": card.masked_number, "sex": card.sex.value, "nation": card.nation,
        "nation_code": card.nation_code, "birth_date": card.birth_date.isoformat(), "age": card.age_on(today),
        "authority": card.authority,
        "valid_from": card.valid_from.isoformat() if card.valid_from else None,
        "valid_until": card.valid_until.isoformat() if card.valid_until else "长期",
        "expired": card.expired_on(today),
    }
    if show:
        out.update(reveal(card))
    return out


def read_id(url: str, timeout: float = 10.0, show: bool = False) -> dict:
    """Wait for one card and describe it. Raises TimeoutError / IdCardError like IdCardReader.wait_for_card."""
    reader = IdCardReader(url, poll_interval=0.2, reconnect_interval=0.5)
    try:
        card = reader.wait_for_card(timeout)
        return {"card": card_summary(card, show), "reader": {"state": reader.state.value, "detail": reader.detail}}
    finally:
        reader.close()
