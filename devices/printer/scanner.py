"""ESC/POS byte scanner, pure: a job's bytes split back into text runs and whole commands, so the simulator, tests and
diagnostics can read what a printer would print (and the QR codes it would draw)."""
from __future__ import annotations

from dataclasses import dataclass

from devices.printer.layout import check_encoding


@dataclass(frozen=True)
class Token:
    kind: str  # "text" or "command"
    data: bytes


_ESC_2 = frozenset(b"@2<")
_FS_2 = frozenset(b"&.")


def _command_length(buf: bytes | bytearray, i: int) -> int | None:
    """Length of the command starting at buf[i], or None if more bytes are needed to know/complete it."""
    avail = len(buf) - i
    if avail < 2:
        return None
    lead, c = buf[i], buf[i + 1]
    need: int
    if lead == 0x1B:  # ESC
        if c in _ESC_2:
            need = 2
        elif c in b"$":
            need = 4
        elif c == ord("p"):
            need = 5
        elif c == ord("c"):
            need = 4
        elif c == ord("*"):
            if avail < 5:
                return None
            m, nl, nh = buf[i + 2], buf[i + 3], buf[i + 4]
            need = 5 + (nl + nh * 256) * (3 if m in (32, 33) else 1)
        else:
            need = 3
    elif lead == 0x1D:  # GS
        if c == ord("("):
            if avail < 5:
                return None
            need = 5 + buf[i + 3] + buf[i + 4] * 256
        elif c == ord("V"):
            if avail < 3:
                return None
            need = 4 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 3
        elif c == ord("k"):
            if avail < 3:
                return None
            m = buf[i + 2]
            if m <= 6:
                end = buf.find(b"\x00", i + 3)
                return None if end < 0 else end - i + 1
            if avail < 4:
                return None
            need = 4 + buf[i + 3]
        elif c == ord("v"):
            if avail < 8:
                return None
            need = 8 + (buf[i + 4] + buf[i + 5] * 256) * (buf[i + 6] + buf[i + 7] * 256)
        elif c in b"LPW":
            need = 4
        else:
            need = 3
    elif lead == 0x1C:  # FS
        if c in _FS_2:
            need = 2
        elif c == ord("("):
            if avail < 5:
                return None
            need = 5 + buf[i + 3] + buf[i + 4] * 256
        else:
            need = 3
    else:  # DLE
        need = 5 if c == 0x14 else 3 if c in (0x04, 0x05) else 2
    return need if avail >= need else None


_COMMAND_LEADS = frozenset((0x10, 0x1B, 0x1C, 0x1D))


class EscPosScanner:
    """Streaming split of ESC/POS bytes into text runs and whole commands (a partial command waits for more)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Token]:
        self._buf += data
        tokens: list[Token] = []
        buf = self._buf
        i = 0
        while i < len(buf):
            if buf[i] in _COMMAND_LEADS:
                n = _command_length(buf, i)
                if n is None:
                    break
                tokens.append(Token("command", bytes(buf[i:i + n])))
                i += n
            else:
                j = i
                while j < len(buf) and buf[j] not in _COMMAND_LEADS:
                    j += 1
                tokens.append(Token("text", bytes(buf[i:j])))
                i = j
        del buf[:i]
        return tokens


def scan(data: bytes) -> list[Token]:
    return EscPosScanner().feed(data)


def printed_text(data: bytes, encoding: str = "gbk") -> str:
    """The text a printer would print for these bytes (commands stripped), decoded."""
    text = b"".join(t.data for t in scan(data) if t.kind == "text")
    return text.decode(check_encoding(encoding), errors="replace")


def qr_payloads(data: bytes) -> list[str]:
    """Contents of native QR codes (GS ( k cn=49 fn=80 store data) in the byte stream."""
    out = []
    for t in scan(data):
        d = t.data
        if t.kind == "command" and d[:3] == b"\x1d(k" and len(d) > 8 and d[5] == 0x31 and d[6] == 0x50:
            out.append(d[8:].decode("utf-8", errors="replace"))
    return out
