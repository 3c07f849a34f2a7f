"""The IdCard value handed to the kiosk: masked name, birth date, sex, nation and an HMAC reference, never the
raw ID number (it stays inside devices.idcard; only the installer's `onewindow device read-id --show` reveals it)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum

from devices.errors import IdCardError
from devices.idcard.protocol import CardText
from hall_bus.hall import age_on
from hall_bus.idnumber import BAD_CHECK_DIGIT, IdNumberError, check_id_number

# GB/T 3304-1991 民族名称的罗马字母拼写和代码 (numeric codes as stored on the card)
NATIONS: dict[int, str] = {
    1: "汉", 2: "蒙古", 3: "回", 4: "藏", 5: "维吾尔", 6: "苗", 7: "彝", 8: "壮", 9: "布依", 10: "朝鲜",
    11: "满", 12: "侗", 13: "瑶", 14: "白", 15: "土家", 16: "哈尼", 17: "哈萨克", 18: "傣", 19: "黎", 20: "傈僳",
    21: "佤", 22: "畲", 23: "高山", 24: "拉祜", 25: "水", 26: "东乡", 27: "纳西", 28: "景颇", 29: "柯尔克孜",
    30: "土", 31: "达斡尔", 32: "仫佬", 33: "羌", 34: "布朗", 35: "撒拉", 36: "毛南", 37: "仡佬", 38: "锡伯",
    39: "阿昌", 40: "普米", 41: "塔吉克", 42: "怒", 43: "乌孜别克", 44: "俄罗斯", 45: "鄂温克", 46: "德昂",
    47: "保安", 48: "裕固", 49: "京", 50: "塔塔尔", 51: "独龙", 52: "鄂伦春", 53: "赫哲", 54: "门巴", 55: "珞巴",
    56: "基诺", 97: "其他", 98: "外国血统中国籍人士",
}

# 复姓 kept whole when masking ("欧阳*"); everything else keeps one character ("张*").
COMPOUND_SURNAMES = frozenset((
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 宗政 濮阳 公冶 太叔 申屠 "
    "公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 "
    "谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延 东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 "
    "左丘 公伯 西门 公祖 第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 褚师 吴铭").split())

LONG_TERM = "长期"


class Sex(Enum):
    MALE = "male"
    FEMALE = "female"

    @property
    def zh(self) -> str:
        return "男" if self is Sex.MALE else "女"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧阳*, 阿依古丽·买买提 → 阿*."""
    name = name.strip()
    if not name:
        return "*"
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "*"
    return name[0] + "*"


def mask_number(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


class _Secret:
    """Holds the raw personal fields; prints as <hidden>, refuses pickling, compares by ID number."""

    __slots__ = ("number", "name", "address")

    def __init__(self, number: str, name: str, address: str) -> None:
        self.number, self.name, self.address = number, name, address

    def __repr__(self) -> str:
        return "<hidden>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Secret) and hmac.compare_digest(self.number, other.number)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self.number.encode()).digest())

    def __copy__(self) -> _Secret:
        return self

    def __deepcopy__(self, memo: dict) -> _Secret:
        return self

    def __reduce__(self):
        raise TypeError("ID card personal data cannot be pickled")


@dataclass(frozen=True)
class IdCard:
    """A card that was read and validated. Two reads of the same card compare equal."""

    masked_name: str  # "张*"
    sex: Sex
    nation: str  # "汉"
    nation_code: int
    birth_date: date
    valid_from: date | None
    valid_until: date | None  # None for 长期 (long-term) cards
    authority: str  # issuing police office (签发机关)
    _secret: _Secret = field(repr=False)

    @property
    def masked_number(self) -> str:
        return mask_number(self._secret.number)

    def ref(self, key: bytes, encoding: str = "b64") -> str:
        """HMAC-SHA256 of the ID number under the hall's key: a stable reference (quota, appointments) that
        cannot be turned back into the number. encoding: "b64" (urlsafe, unpadded, 43 chars) or "hex"."""
        if not key:
            raise ValueError("IdCard.ref needs a non-empty key")
        digest = hmac.new(key, self._secret.number.encode("ascii"), hashlib.sha256).digest()
        if encoding == "hex":
            return digest.hex()
        if encoding == "b64":
            return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        raise ValueError(f"ref encoding {encoding!r} is not b64 or hex")

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day) or 0

    def expired_on(self, day: date) -> bool:
        return self.valid_until is not None and day > self.valid_until

    def __repr__(self) -> str:
        return (f"IdCard(name={self.masked_name!r}, sex={self.sex.value}, nation={self.nation!r}, "
                f"birth_date={self.birth_date.isoformat()}, number={self.masked_number!r})")

    __str__ = __repr__


def _date(value: str, what: str, url: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise IdCardError(url, f"card rejected: {what} is not a YYYYMMDD date", "bad_field") from None


def card_from_text(text: CardText, url: str, *, today: date | None = None) -> IdCard:
    """Validate the card's fields (the number by hall_bus.idnumber: format, GB 11643 check digit and birth date,
    never the area code; birth date and sex agree with the number; known nation code) and build the IdCard.
    Raises IdCardError (reason invalid_number / inconsistent / bad_field); messages never contain the number or
    the name. `today` bounds the number's birth date (default: this machine's date)."""
    try:
        id_number = check_id_number(text.number, today=today)
    except IdNumberError as exc:
        if exc.reason == BAD_CHECK_DIGIT:
            raise IdCardError(url, "card rejected: ID number fails its check digit (GB 11643)",
                              "invalid_number") from None
        raise IdCardError(url, f"card rejected: ID number is not valid ({exc.reason}: {exc})",
                          "invalid_number") from None
    if not text.name:
        raise IdCardError(url, "card rejected: name field is empty", "bad_field")
    birth = _date(text.birth, "birth date", url)
    if birth != id_number.birth_date:
        raise IdCardError(url, "card rejected: birth date does not match the ID number", "inconsistent")
    if text.sex not in ("1", "2"):
        raise IdCardError(url, f"card rejected: sex code {text.sex!r} is not 1 or 2", "bad_field")
    sex = Sex.MALE if text.sex == "1" else Sex.FEMALE
    if id_number.is_male != (sex is Sex.MALE):
        raise IdCardError(url, "card rejected: sex does not match the ID number", "inconsistent")
    try:
        nation_code = int(text.nation)
        nation = NATIONS[nation_code]
    except (ValueError, KeyError):
        raise IdCardError(url, f"card rejected: nation code {text.nation!r} is not in GB 3304", "bad_field") from None
    valid_from = _date(text.valid_from, "valid-from date", url) if text.valid_from else None
    valid_until = None if text.valid_to in (LONG_TERM, "") else _date(text.valid_to, "valid-to date", url)
    return IdCard(mask_name(text.name), sex, nation, nation_code, birth, valid_from, valid_until,
                  text.authority, _Secret(id_number.number, text.name, text.address))


def reveal(card: IdCard) -> dict[str, str]:
    """The raw personal fields, for the installer diagnostic `read-id --show` only."""
    return {"name": card._secret.name, "number": card._secret.number, "address": card._secret.address}
