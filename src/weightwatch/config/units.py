"""Durations and sizes as the config file writes them, and how a found value is quoted.

``parse_duration("1h30m") == 5400.0`` and ``format_duration(5400) == "1h30m"``;
``parse_size("10MB") == 10485760`` and ``format_size(10485760) == "10MB"``. ``show`` renders a
value found in the file the way a message quotes it (TOML-like: ``"15 minutes"``, ``15.5``,
``true``, ``a list``). Standard library only.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_RE = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[smhd])+\s*", re.IGNORECASE)
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
DURATION_HELP = 'units s, m, h, d, combined as in "1h30m"; a bare integer is seconds'

_SIZE_UNITS = {
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)", re.IGNORECASE)
SIZE_HELP = "units B, KB, MB, GB, each 1024 of the one before; a bare integer is bytes"


def show(value: object) -> str:
    """How a found value is quoted in a message, TOML-like: "15 minutes", 15.5, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 70 else shown[:60] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    return type(value).__name__


#: Beyond any bound a key allows (about 31.7 million years): a longer duration is refused here,
#: before arithmetic on it can overflow.
DURATION_LIMIT = 10**15


def _finite(seconds: float, text: object) -> float:
    if not seconds <= DURATION_LIMIT:  # also NaN and infinity
        raise ValueError(f"is far too long a duration, found {show(text)}")
    return seconds


def parse_duration(text: str | int) -> float:
    """Seconds in a duration: ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"``, ``"1h30m"``, ``600``.

    A bare integer (or a string of digits) is seconds. Raises ValueError with a message that
    says what was expected and what was found.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, found {text}")
        if text > DURATION_LIMIT:
            raise ValueError(f"is far too long a duration, found {show(text)}")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(f'expected a duration such as "15m", found {show(text)} ({DURATION_HELP})')
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        if len(stripped) > 16:
            raise ValueError(f"is far too long a duration, found {show(text)}")
        return _finite(float(int(stripped)), text)
    if not stripped or not _DURATION_RE.fullmatch(stripped):
        raise ValueError(f'expected a duration such as "15m", found {show(text)} ({DURATION_HELP})')
    total = 0.0
    for number, unit in _DURATION_PART_RE.findall(stripped):
        if len(number) > 20:
            raise ValueError(f"is far too long a duration, found {show(text)}")
        total += float(number) * _DURATION_UNITS[unit.lower()]
    return _finite(total, text)


def parse_size(text: str | int) -> int:
    """Bytes in a size: ``"500KB"``, ``"10MB"``, ``"1GB"``, ``1048576``.

    KB, MB and GB are 1024-based (KiB, MiB, GiB are accepted as the same). Raises ValueError
    with a message that says what was expected and what was found.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a size cannot be negative, found {text}")
        return text
    if isinstance(text, str):
        match = _SIZE_RE.fullmatch(text.strip())
        if match and match.group(2).lower() in _SIZE_UNITS | {"": 1}:
            if len(match.group(1)) > 20:
                raise ValueError(f"is far too large a size, found {show(text)}")
            factor = _SIZE_UNITS.get(match.group(2).lower(), 1)
            return int(float(match.group(1)) * factor)
    raise ValueError(f'expected a size such as "10MB", found {show(text)} ({SIZE_HELP})')


def format_duration(seconds: float) -> str:
    """The short form ``parse_duration`` reads: 5400 -> ``"1h30m"``, 45 -> ``"45s"``."""
    if seconds != int(seconds) or seconds < 0:
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_size(size: int) -> str:
    """The short form ``parse_size`` reads: 10485760 -> ``"10MB"``."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"
