"""Real-name details of a booking, checked on the node: the ID number never leaves it — only the kiosks' HMAC
reference (the same value a card swipe at a kiosk gives, see devices.idcard.card.IdCard.ref) and the masked name."""
from __future__ import annotations

import base64
import hashlib
import hmac

from devices.idcard.card import mask_name
from hall_bus.idnumber import IdNumber

__all__ = ["id_ref", "mask_name"]


def id_ref(key: bytes, number: IdNumber) -> str:
    """HMAC-SHA256 of the normalised 18-character number under the hall's key, urlsafe base64 without padding —
    exactly IdCard.ref(key) of the kiosk, so the server sees one person whichever way they came."""
    if not key:
        raise ValueError("id_ref needs a non-empty key")
    digest = hmac.new(key, number.number.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
