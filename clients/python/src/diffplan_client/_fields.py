"""Strict reading of JSON objects, as serde reads the bridge's structs, and the value checks the
bridge's ``validate`` methods run.

Reading (``Fields`` and the ``read_*`` functions) raises :class:`ProtocolError`: it is only used on
what came from the network. The ``check_*`` functions raise :class:`InvalidMessage` and run on
encode and on decode alike, so nothing invalid is sent or accepted.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from .errors import InvalidMessage, ProtocolError

T = TypeVar("T")

#: The largest magnitude a JSON number may have to become a finite ``f32`` (values from
#: 2^128 - 2^103 up round to infinity, which the bridge then rejects).
F32_LIMIT = 2.0**128 - 2.0**103

U64_END = 1 << 64

#: A checkpoint's digest: ``sha256:`` and 64 lowercase hex digits.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


class Fields:
    """One JSON object read as a struct with ``deny_unknown_fields``: unknown and missing fields
    are refused by name."""

    def __init__(self, what: str, value: Any, known: Sequence[str]):
        if not isinstance(value, dict):
            raise ProtocolError(f"malformed {what}: expected an object, found {_kind(value)}")
        for name in value:
            if name not in known:
                raise ProtocolError(
                    f"malformed {what}: unknown field {name[:64]!r}, expected one of {', '.join(known)}"
                )
        self.what = what
        self.value = value

    def required(self, name: str, read: Callable[[str, Any], T]) -> T:
        """Field ``name``, which must be present and not null."""
        if name not in self.value:
            raise ProtocolError(f"malformed {self.what}: missing field {name!r}")
        return read(f"{self.what}.{name}", self.value[name])

    def optional(self, name: str, read: Callable[[str, Any], T]) -> Optional[T]:
        """Field ``name`` of an ``Option``: absent or null is ``None``."""
        value = self.value.get(name)
        return None if value is None else read(f"{self.what}.{name}", value)

    def defaulted(self, name: str, read: Callable[[str, Any], T], default: T) -> T:
        """Field ``name`` with ``#[serde(default)]``: absent is ``default``, null is refused."""
        if name not in self.value:
            return default
        return read(f"{self.what}.{name}", self.value[name])


def read_str(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"malformed {where}: expected a string, found {_kind(value)}")
    return value


def read_u64(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < U64_END:
        raise ProtocolError(f"malformed {where}: expected an unsigned 64-bit integer, found {_kind(value)} {value!r:.40}")
    return value


def read_f64(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"malformed {where}: expected a finite number, found {_kind(value)} {value!r:.40}")
    return float(value)


def read_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"malformed {where}: expected a boolean, found {_kind(value)}")
    return value


def read_f32s(where: str, value: Any) -> List[float]:
    if not isinstance(value, list):
        raise ProtocolError(f"malformed {where}: expected an array of numbers, found {_kind(value)}")
    return [read_f64(f"{where}[{i}]", v) for i, v in enumerate(value)]


def read_f32_rows(where: str, value: Any) -> List[List[float]]:
    if not isinstance(value, list):
        raise ProtocolError(f"malformed {where}: expected an array of rows, found {_kind(value)}")
    return [read_f32s(f"{where}[{i}]", row) for i, row in enumerate(value)]


def read_strs(where: str, value: Any) -> List[str]:
    if not isinstance(value, list):
        raise ProtocolError(f"malformed {where}: expected an array of strings, found {_kind(value)}")
    return [read_str(f"{where}[{i}]", v) for i, v in enumerate(value)]


def read_u64_map(where: str, value: Any) -> Dict[str, int]:
    if not isinstance(value, dict):
        raise ProtocolError(f"malformed {where}: expected an object of counts, found {_kind(value)}")
    return {name: read_u64(f"{where}.{name[:64]}", count) for name, count in value.items()}


def read_list(read: Callable[[str, Any], T]) -> Callable[[str, Any], List[T]]:
    def read_all(where: str, value: Any) -> List[T]:
        if not isinstance(value, list):
            raise ProtocolError(f"malformed {where}: expected an array, found {_kind(value)}")
        return [read(f"{where}[{i}]", v) for i, v in enumerate(value)]

    return read_all


def read_choice(choices: Tuple[str, ...]) -> Callable[[str, Any], str]:
    def read(where: str, value: Any) -> str:
        if value not in choices or not isinstance(value, str):
            raise ProtocolError(f"malformed {where}: {value!r:.64} is not one of {', '.join(choices)}")
        return value

    return read


def check_u64(field: str, value: Any) -> None:
    """An unsigned 64-bit integer (Rust's ``u64`` and, on 64-bit machines, ``usize``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < U64_END:
        raise InvalidMessage(field, f"{value!r:.40} is not an integer from 0 to 2^64 - 1")


def check_f64(field: str, value: Any) -> None:
    """A finite number (JSON has no NaN or infinity)."""
    try:
        finite = not isinstance(value, bool) and math.isfinite(value)
    except TypeError:
        finite = False
    if not finite:
        raise InvalidMessage(field, f"{value!r:.40} is not a finite number")


def check_digest(field: str, value: Any) -> None:
    """A checkpoint digest: ``sha256:`` and 64 lowercase hex digits."""
    if not isinstance(value, str) or _DIGEST.fullmatch(value) is None:
        raise InvalidMessage(field, f"{value!r:.80} is not 'sha256:' and 64 lowercase hex digits")


def check_f32(field: str, value: Any) -> None:
    """A finite number that stays finite as ``f32``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidMessage(field, f"{value!r:.40} is not a number") from None
    if isinstance(value, bool) or not (math.isfinite(number) and abs(number) < F32_LIMIT):
        raise InvalidMessage(field, f"{value!r:.40} is not a finite 32-bit float")


def check_f32s(field: str, values: Any) -> None:
    """Finite numbers that stay finite as ``f32`` (the planner's precision)."""
    if isinstance(values, (str, bytes, dict)):
        raise InvalidMessage(field, "expected a sequence of numbers")
    try:
        items = list(values)
    except TypeError:
        raise InvalidMessage(field, "expected a sequence of numbers") from None
    for i, value in enumerate(items):
        check_f32(f"{field}[{i}]", value)


def check_rows(field: str, rows: Sequence[Sequence[float]], width: int) -> None:
    """Every row ``width`` (> 0) long and finite, as the bridge's ``check_rows``."""
    if width == 0:
        raise InvalidMessage(field, "rows must not be empty")
    for i, row in enumerate(rows):
        try:
            length = len(row)
        except TypeError:
            raise InvalidMessage(f"{field}[{i}]", "expected a row of numbers") from None
        if length != width:
            raise InvalidMessage(f"{field}[{i}]", f"has {length} values, expected {width} like the first row")
        check_f32s(f"{field}[{i}]", row)


def f32s(values: Sequence[float]) -> List[float]:
    """``values`` as plain Python floats, ready for ``json`` (numpy scalars included)."""
    return [float(v) for v in values]
