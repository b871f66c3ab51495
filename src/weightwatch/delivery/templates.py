"""Alert templates: Jinja2 in its sandbox, the only module that imports jinja2.

Users may write a ``title`` and ``body`` template per channel or per rule. Templates run
in ``SandboxedEnvironment`` (no attribute access to internals, no imports, no file access)
with ``StrictUndefined``, so a misspelt placeholder is an error. Every template is
compiled AND rendered against a sample alert when the config is validated, so a template
error is a config error reported by ``weightwatch check`` with its key path, never a crash
at send time. In the ``html`` format every placeholder is HTML-escaped automatically;
feed text can never inject markup into an HTML alert.

Rendering is bounded, so a template can neither hang ``check`` or a delivery nor fill the
memory: at most ``RENDER_SECONDS`` per render (a trace on the template's own frames checks
the clock on every line, so empty nested loops stop too), at most ``MAX_OUTPUT`` characters
out (rendered through ``generate()``), ``range`` of at most ``MAX_RANGE`` numbers, and no
operator, filter or call may make a text or list longer than ``MAX_VALUE`` or take a number
above ``MAX_ARGUMENT`` (``'x' * 10**9``, ``'x'|center(10**9)``). Any other failure of a
template (``1/0``, ``1 + "a"``, a macro calling itself) is a ``TemplateProblem`` too.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

RENDER_SECONDS = 1.0  # one render of one template
MAX_OUTPUT = 64 * 1024  # characters a template may produce
MAX_VALUE = 100_000  # characters or items of any text or list a template makes
MAX_ARGUMENT = 10_000  # the largest number a template may pass to a filter or function
MAX_RANGE = 10_000  # numbers in range(...)
_MAX_POWER_BITS = 4096  # 2 ** 4096 is fine; 10 ** 10 ** 9 is not
_BIG_WIDTH_RE = re.compile(r"%[-#0 +]*(\*|\d{5,})|%[-#0 +]*\d*\.(\*|\d{5,})|\d{5,}")

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
    "related": "the story this item came close to without joining, else none: related.title,"
    " related.source, related.link, related.alerted (a time); test it with {% if related %}",
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
    "related": None,
}

#: ``SAMPLE`` with a related story: ``check`` renders a template against both.
SAMPLE_RELATED: dict[str, Any] = {
    **SAMPLE,
    "related": {
        "title": "OpenAI launches two 'open' AI reasoning models",
        "source": "techcrunch",
        "link": "https://techcrunch.com/2025/08/05/openai-launches-two-open-ai-reasoning-models/",
        "alerted": "2025-08-05 17:05 UTC",
    },
}


class TemplateProblem(ValueError):
    """A template that does not compile or render; the message is a whole sentence."""


class _Exceeded(Exception):
    """A render crossed one of the bounds; the message says which."""


_local = threading.local()


def _tick() -> None:
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _Exceeded(f"the template took longer than {RENDER_SECONDS:g} s and was stopped")


def _trace(frame: FrameType, event: str, arg: Any) -> Any:
    _tick()
    return _trace_lines if frame.f_code.co_filename == "<template>" else None


def _trace_lines(frame: FrameType, event: str, arg: Any) -> Any:
    _tick()
    return _trace_lines


def _too_long() -> None:
    raise _Exceeded(f"the template makes a value longer than {MAX_VALUE:,} characters or items")


def _size_ok(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > MAX_VALUE:
        raise _Exceeded(f"the template makes a value longer than {MAX_VALUE:,} characters or items")
    return value


def _arguments_ok(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
            raise _Exceeded(
                f"the template passes {value} to a filter or function; at most {MAX_ARGUMENT:,}"
            )


def _range(*args: int) -> Iterator[int]:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _Exceeded(f"range() may give at most {MAX_RANGE:,} numbers")
    for number in numbers:
        _tick()
        yield number


def _bounded_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if getattr(func, "jinja_pass_arg", None) is not None else 1  # context, value

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        _arguments_ok(args[skip:], kwargs)
        return _size_ok(func(*args, **kwargs))

    return bounded


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with every operator, call and filter kept within the bounds above."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//", "/"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        sized = (str, bytes, list, tuple)
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, sized)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_VALUE
                ):
                    _too_long()
        elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
            if len(left) + len(right) > MAX_VALUE:
                _too_long()
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right > 0 and right * math.log2(abs(left)) > _MAX_POWER_BITS:
                raise _Exceeded(f"the template computes a number larger than 2**{_MAX_POWER_BITS}")
        elif operator == "%" and isinstance(left, str) and _BIG_WIDTH_RE.search(left):
            raise _Exceeded("the template pads or formats to a width of 10,000 or more")
        return _size_ok(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        _arguments_ok(args, kwargs)
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            if name in ("format", "format_map") and _BIG_WIDTH_RE.search(owner):
                raise _Exceeded("the template pads or formats to a width of 10,000 or more")
            if name == "replace" and len(args) >= 2 and isinstance(args[1], str):
                grows = owner.count(str(args[0])) * len(args[1]) if args[0] else len(owner)
                if len(owner) + grows > MAX_VALUE:
                    _too_long()
            joined = name == "join" and args and isinstance(args[0], list | tuple)
            if joined and len(owner) * len(args[0]) > MAX_VALUE:
                _too_long()
        return _size_ok(super().call(__context, __obj, *args, **kwargs))


@dataclass(frozen=True)
class Template:
    text: str
    html: bool
    _compiled: Any

    def render(self, context: dict[str, Any]) -> str:
        """The rendered text, within the bounds of this module; TemplateProblem if not."""
        outer = getattr(_local, "deadline", None)
        _local.deadline = time.monotonic() + RENDER_SECONDS
        previous = sys.gettrace()
        sys.settrace(_trace)
        try:
            out: list[str] = []
            length = 0
            for chunk in self._compiled.generate(**context):
                length += len(chunk)
                if length > MAX_OUTPUT:
                    raise _Exceeded(f"the template makes more than {MAX_OUTPUT:,} characters")
                out.append(chunk)
            return "".join(out).strip()
        except jinja2.TemplateError as exc:
            raise TemplateProblem(_why(exc)) from exc
        except _Exceeded as exc:
            raise TemplateProblem(str(exc)) from None
        except RecursionError:
            raise TemplateProblem("the template fails: it calls itself without end") from None
        except Exception as exc:
            message = str(exc)[:200]
            raise TemplateProblem(
                f"the template fails: {type(exc).__name__}" + (f": {message}" if message else "")
            ) from None
        finally:
            sys.settrace(previous)
            _local.deadline = outer


def _env(html: bool) -> SandboxedEnvironment:
    env = _BoundedEnvironment(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters = {name: _bounded_filter(f) for name, f in env.filters.items()}
    env.globals["range"] = _range
    env.globals.pop("lipsum", None)
    return env


_ENVS = {False: _env(False), True: _env(True)}


def compile_template(text: str, *, html: bool = False) -> Template:
    """Compile and try a template on ``SAMPLE`` and ``SAMPLE_RELATED``; raise
    TemplateProblem saying what is wrong."""
    try:
        compiled = _ENVS[html].from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error at line {exc.lineno}: {exc.message}") from exc
    except (RecursionError, MemoryError) as exc:
        raise TemplateProblem(f"the template cannot be compiled: {type(exc).__name__}") from None
    template = Template(text, html, compiled)
    template.render(SAMPLE)
    template.render(SAMPLE_RELATED)
    return template


@functools.lru_cache(maxsize=256)
def cached(text: str, html: bool) -> Template:
    """A compiled template, once per (text, html); the config already checked it compiles."""
    return compile_template(text, html=html)


def _why(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        if str(exc.message or "").startswith("'None' has no attribute"):
            return (
                f"the template fails where a placeholder is empty ({exc.message}): related is"
                " empty for most alerts; test it first with {% if related %}...{% endif %}"
            )
        if "' has no attribute '" in str(exc.message or ""):
            return (
                f"the template fails: {exc.message} (related has title, source, link and alerted)"
            )
        name = str(exc.message or "").split("'")
        unknown = name[1] if len(name) > 2 else str(exc.message)
        known = ", ".join(PLACEHOLDERS)
        return f"unknown placeholder {unknown!r}; the placeholders are {known}"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"not allowed in a template: {exc.message}"
    return f"the template fails: {exc.message or type(exc).__name__}"
