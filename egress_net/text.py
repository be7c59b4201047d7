"""Text from the outside world, made safe to print on a terminal."""

from __future__ import annotations


def shown(text: str) -> str:
    """``text`` fit for a terminal: as it is when every character is printable, else quoted
    with escapes. Log fields and server replies come from the network: an ESC sequence or a
    line break printed raw could rewrite the screen or forge report lines."""
    return text if text.isprintable() else repr(text)
