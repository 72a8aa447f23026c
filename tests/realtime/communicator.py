"""Channels' WebsocketCommunicator, importable without daphne.

`channels.testing`'s __init__ imports daphne for its live-server test case, which we do not use
(uvicorn is our server; daphne is not a dependency). Registering the package bare lets its
submodules import as usual without running that __init__.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import channels

if "channels.testing" not in sys.modules:
    _package = types.ModuleType("channels.testing")
    _package.__path__ = [str(Path(channels.__file__).parent / "testing")]
    sys.modules["channels.testing"] = _package

from channels.testing.websocket import WebsocketCommunicator

__all__ = ["WebsocketCommunicator"]
