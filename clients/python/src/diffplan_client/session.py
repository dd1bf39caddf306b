"""Opening a Zenoh session the way diffplan's nodes do (the bridge crate's ``transport.rs``)."""

from __future__ import annotations

import json
from typing import Iterable, Optional, Union

import zenoh

Endpoints = Union[str, Iterable[str]]


def _endpoint_list(endpoints: Endpoints) -> list:
    return [endpoints] if isinstance(endpoints, str) else list(endpoints)


def session_config(
    connect: Endpoints = (),
    listen: Endpoints = (),
    *,
    mode: str = "peer",
    config_file: Optional[str] = None,
) -> zenoh.Config:
    """The Zenoh configuration of a node that connects to ``connect`` and listens on ``listen``
    (endpoints such as ``tcp/127.0.0.1:7447``; a string or a list).

    Without ``config_file`` multicast scouting is off, as for every diffplan node: peers find each
    other only through the endpoints. A ``config_file`` (Zenoh's own JSON5 format) is the base,
    passed through; ``mode`` and the endpoints given override its values.
    """
    if config_file is None:
        config = zenoh.Config()
        config.insert_json5("scouting/multicast/enabled", "false")
        config.insert_json5("mode", json.dumps(mode))
    else:
        config = zenoh.Config.from_file(config_file)
        if mode != "peer":
            config.insert_json5("mode", json.dumps(mode))
    for key, endpoints in (("connect/endpoints", connect), ("listen/endpoints", listen)):
        endpoints = _endpoint_list(endpoints)
        if endpoints:
            config.insert_json5(key, json.dumps(endpoints))
    return config


def open_session(
    connect: Endpoints = (),
    listen: Endpoints = (),
    *,
    mode: str = "peer",
    config_file: Optional[str] = None,
) -> zenoh.Session:
    """Opens a Zenoh session configured by :func:`session_config`; close it (or use it as a
    context manager) when done. Raises ``zenoh.ZError`` if it cannot open."""
    return zenoh.open(session_config(connect, listen, mode=mode, config_file=config_file))
