"""Alert templates: Jinja2 in its sandbox, the only module that imports jinja2.

Users may write a ``title`` and ``body`` template per channel or per rule. Templates run
in ``SandboxedEnvironment`` (no attribute access to internals, no imports, no file access)
with ``StrictUndefined``, so a misspelt placeholder is an error. Every template is
compiled AND rendered against a sample alert when the config is validated, so a template
error is a config error reported by ``weightwatch check`` with its key path, never a crash
at send time. In the ``html`` format every placeholder is HTML-escaped automatically;
feed text can never inject markup into an HTML alert.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

#: The placeholders a template may use, with what they hold (shown in docs and errors).
PLACEHOLDERS: dict[str, str] = {
    "rule": "name of the (first) rule that matched",
    "rules": "names of every rule that sends this item to this channel (a list)",
    "title": "the item's title (plain text)",
    "link": "the item's canonical link (may be empty)",
    "source": "name of the source the item came from",
    "published": 'publication time as "YYYY-MM-DD HH:MM UTC", or "unknown"',
    "terms": "the query terms that matched (a list)",
    "snippet": "a short plain-text context around the first match",
    "other_sources": "other sources that carried the same story (a list; empty at first)",
    "count": "how many sources carried the story so far (1 at first)",
    "channel": "name of the channel the message goes to",
}

SAMPLE: dict[str, Any] = {
    "rule": "openai-open-weights",
    "rules": ["openai-open-weights"],
    "title": "OpenAI releases open-weight models <gpt-oss-120b> & gpt-oss-20b",
    "link": "https://openai.com/index/introducing-gpt-oss",
    "source": "openai-news",
    "published": "2025-08-05 17:00 UTC",
    "terms": ["OpenAI", "open-weight"],
    "snippet": "OpenAI released two open-weight reasoning models under Apache 2.0.",
    "other_sources": [],
    "count": 1,
    "channel": "phone",
}


class TemplateProblem(ValueError):
    """A template that does not compile or render; the message is a whole sentence."""


@dataclass(frozen=True)
class Template:
    text: str
    html: bool
    _compiled: Any

    def render(self, context: dict[str, Any]) -> str:
        try:
            return str(self._compiled.render(**context)).strip()
        except jinja2.TemplateError as exc:
            raise TemplateProblem(_why(exc)) from exc


def _env(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENVS = {False: _env(False), True: _env(True)}


def compile_template(text: str, *, html: bool = False) -> Template:
    """Compile and try a template on ``SAMPLE``; raise TemplateProblem saying what is wrong."""
    try:
        compiled = _ENVS[html].from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error at line {exc.lineno}: {exc.message}") from exc
    template = Template(text, html, compiled)
    template.render(SAMPLE)
    return template


@functools.lru_cache(maxsize=256)
def cached(text: str, html: bool) -> Template:
    """A compiled template, once per (text, html); the config already checked it compiles."""
    return compile_template(text, html=html)


def _why(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        name = str(exc.message or "").split("'")
        unknown = name[1] if len(name) > 2 else str(exc.message)
        known = ", ".join(PLACEHOLDERS)
        return f"unknown placeholder {unknown!r}; the placeholders are {known}"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"not allowed in a template: {exc.message}"
    return f"the template fails: {exc.message or type(exc).__name__}"
