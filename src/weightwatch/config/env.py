"""``${VAR}`` expansion for the values that allow it, and masking what came from it.

``expand`` reads ``${VAR}``, ``${VAR:-default}`` and ``$$`` (a literal dollar) and reports
every mistake in the string; ``scrub`` replaces every recorded secret (and its URL-quoted
forms) with ``****``; ``read_env_file`` reads a systemd ``EnvironmentFile=``. Standard
library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from weightwatch.config.units import show

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Expanded:
    """The result of expanding one string: ``value`` is None when ``problems`` is not empty."""

    value: str | None
    problems: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # values taken from the environment
    unset: list[str] = field(default_factory=list)  # the variables that are not set


def expand(text: str, env: Mapping[str, str]) -> Expanded:
    """``${VAR}``, ``${VAR:-default}`` and ``$$`` in ``text``, every mistake reported."""
    if "$" not in text:  # nearly every value: nothing to expand (the loop below costs more)
        return Expanded(text)
    out: list[str] = []
    result = Expanded(None)
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following == "$":
            out.append("$")
            i += 2
            continue
        if following != "{":
            word = _WORD_RE.match(text[i + 1 :])
            if word:
                result.problems.append(
                    f"write ${{{word.group()}}} to use an environment variable, "
                    f'or $$ for a literal "$"'
                )
            else:
                result.problems.append('has a "$" on its own; write $$ for a literal "$"')
            i += 1
            continue
        end = text.find("}", i + 2)
        if end < 0:
            result.problems.append('has "${" without a closing "}"')
            return result
        inner = text[i + 2 : end]
        name, has_default, default = inner.partition(":-")
        i = end + 1
        if not _ENV_NAME_RE.fullmatch(name):
            result.problems.append(
                f"{show('${' + inner + '}')} is not an environment variable reference: "
                'write ${NAME} or ${NAME:-default}, NAME being letters, digits and "_"'
            )
            continue
        value = env.get(name)
        if value:
            result.secrets.append(value)
            out.append(value)
        elif has_default:
            out.append(default)
        elif value is None:
            result.unset.append(name)
            result.problems.append(f"environment variable {name} is not set")
        else:
            result.problems.append(f"environment variable {name} is set but empty")
    if not result.problems:
        result.value = "".join(out)
    return result


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret of 3 characters or more (and its URL-quoted forms) masked."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) < 3:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            text = text.replace(form, "****")
    return text


#: Query parameters whose values are credentials in feed URLs (``?token=...``), compared
#: lowercased with "-" and "_" removed.
SECRET_PARAMS = frozenset(
    {
        "token", "accesstoken", "authtoken", "apikey", "key", "secret", "clientsecret",
        "password", "pass", "passwd", "pwd", "auth", "sig", "signature", "session", "sid",
    }
)  # fmt: skip


def _secret_param(name: str) -> bool:
    return name.lower().replace("-", "").replace("_", "") in SECRET_PARAMS


def url_credentials(url: str) -> list[str]:
    """The credentials written in a feed URL: the userinfo password and the values of
    token-like query parameters (``SECRET_PARAMS``), raw and decoded."""
    if "@" not in url and "?" not in url:  # no userinfo, no query: nothing to find
        return []
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
        query = parse_qsl(parts.query, keep_blank_values=False)
    except ValueError:
        return []
    found += [value for name, value in query if _secret_param(name)]
    raw = [
        p.partition("=")[2] for p in parts.query.split("&") if _secret_param(p.partition("=")[0])
    ]
    return [s for s in dict.fromkeys(found + raw + [unquote(v) for v in found]) if s]


def mask_source_url(url: str, secrets: Sequence[str] = ()) -> str:
    """A feed URL safe to print or store: the password and token-like query values masked
    (``https://bob:****@host/f?token=****``), and every known secret scrubbed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url, secrets)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = userinfo.partition(":")[0] + ":****@" + host
    query = "&".join(
        (p.partition("=")[0] + "=****") if _secret_param(p.partition("=")[0]) and "=" in p else p
        for p in parts.query.split("&")
    )
    shown = parts._replace(netloc=netloc, query=query if parts.query else "").geturl()
    return scrub(shown, list(secrets) + url_credentials(url))


@dataclass
class EnvFile:
    """What ``read_env_file`` found: the variables, or why the file could not be read."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # None: read (or absent, see ``exists``)
    exists: bool = False


_ASSIGN_RE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\Z", re.S)


def read_env_file(path: Path) -> EnvFile:
    """The variables of a systemd ``EnvironmentFile=``: ``NAME=value`` lines, ``#`` and ``;``
    comments, blank lines, values in single or double quotes (backslash escapes inside
    double quotes) and a trailing backslash continuing a line, as systemd reads it. Lines
    that assign nothing are skipped. An absent file is no error (the units say ``-``)."""
    found = EnvFile(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read(1024 * 1024)
    except FileNotFoundError:
        return found
    except IsADirectoryError:
        found.exists, found.error = True, "it is a directory"
        return found
    except OSError as exc:
        found.exists, found.error = True, exc.strerror or type(exc).__name__
        return found
    found.exists = True
    for line in re.sub(r"\\\n", "", text).splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        match = _ASSIGN_RE.match(line)
        if match:
            found.values[match.group(1)] = _unquote(match.group(2).strip())
    return found


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\(["\\$`])', r"\1", value[1:-1])
    return value
