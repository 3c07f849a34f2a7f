"""Second-generation resident ID-card reader (SAM_V, GA/T 467): pure protocol, IdCard value, IdCardReader driver."""
from devices.idcard.card import NATIONS, IdCard, Sex, mask_name
from devices.idcard.driver import IdCardListener, IdCardReader, ReaderState

__all__ = ["NATIONS", "IdCard", "IdCardListener", "IdCardReader", "ReaderState", "Sex", "mask_name"]
