"""JSON in a versioned envelope, as the bridge crate's ``codec.rs``:
``{"v": 2, "type": "Plan", "stamp_ns": ..., "body": {...}}``.

Decoding checks, in order: the size cap, UTF-8 JSON of the envelope's shape, the version, the
type, the body's shape (unknown fields refused), then the body's own checks. Encoding runs the
same body checks first, so nothing invalid is sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Generic, List, Tuple, Type, TypeVar

from . import _fields as f
from .errors import InvalidMessage, ProtocolError

#: The protocol version this package speaks and accepts.
PROTOCOL_VERSION = 2

#: The default cap on a received payload, bytes (4 MiB, as the bridge's).
MAX_PAYLOAD_BYTES = 4 << 20

M = TypeVar("M")


@dataclass(frozen=True)
class Stamped(Generic[M]):
    """A decoded message with its sender's stamp."""

    #: The sender's wall clock at encoding, ns since the Unix epoch: for latency reports only,
    #: never for staleness across machines.
    stamp_ns: int
    #: The message.
    body: M


def encoding_of(message_type: Type[Any]) -> str:
    """The Zenoh encoding of a message class's payloads: ``application/json;diffplan/<Type>/2``."""
    return f"application/json;diffplan/{message_type.TYPE}/{PROTOCOL_VERSION}"


def encode(message: Any) -> bytes:
    """``message`` (checked first) in an envelope stamped now, as UTF-8 JSON.

    Raises :class:`InvalidMessage` if the message fails the protocol's checks.
    """
    message.validate()
    envelope = {"v": PROTOCOL_VERSION, "type": message.TYPE, "stamp_ns": time.time_ns(), "body": message.to_body()}
    try:
        text = json.dumps(envelope, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise InvalidMessage(message.TYPE, f"cannot encode: {error}") from None
    return text.encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate field {duplicate[:64]!r}")
    return obj


def decode(payload: bytes, message_type: Type[M], max_bytes: int = MAX_PAYLOAD_BYTES) -> Stamped[M]:
    """Decodes a ``message_type`` from ``payload``, refusing anything over ``max_bytes``.

    Raises :class:`ProtocolError` naming the first check that failed.
    """
    if len(payload) > max_bytes:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds the {max_bytes}-byte cap")
    try:
        envelope = json.loads(
            bytes(payload).decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_no_duplicates
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"malformed envelope: {error}") from None
    fields = f.Fields("envelope", envelope, ("v", "type", "stamp_ns", "body"))
    version = fields.required("v", f.read_u64)
    kind = fields.required("type", f.read_str)
    stamp_ns = fields.required("stamp_ns", f.read_u64)
    if "body" not in envelope:
        raise ProtocolError("malformed envelope: missing field 'body'")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"protocol version {version} is not supported (this client speaks version {PROTOCOL_VERSION}); "
            "upgrade the older side"
        )
    if kind != message_type.TYPE:
        raise ProtocolError(f"expected a {message_type.TYPE} message, got {kind[:64]!r}")
    body = message_type.from_body(envelope["body"])
    try:
        body.validate()
    except InvalidMessage as error:
        raise ProtocolError(str(error)) from None
    return Stamped(stamp_ns=stamp_ns, body=body)
