"""Checking the ``[[rule]]`` tables: the query (``query``, ``any``, ``all``, ``none``,
``proximity``), the channels it notifies and the sources it looks at.

Those keys have their own code (they depend on the query language and on the names defined
elsewhere in the file); ``digest``, ``title``, ``body`` and ``on_update`` are checked from
their ``schema.RULE`` entries by ``Checker.values``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from weightwatch.config.model import Rule
from weightwatch.config.schema import RULE, did_you_mean, key_path
from weightwatch.config.units import show
from weightwatch.errors import QueryError
from weightwatch.matching import query as _query
from weightwatch.matching.query import Query

if TYPE_CHECKING:
    from weightwatch.config.check import Checker

#: How deep a query may nest (parentheses, NOT, NEAR/n and title: inside one another).
#: A real query nests two or three levels; the bound keeps parsing and matching (both
#: recursive) far from Python's recursion limit in every thread.
MAX_QUERY_DEPTH = 32

#: The rule keys checked here rather than from their schema entry alone.
_OWN = ("name", "query", "any", "all", "none", "proximity", "notify", "sources")


def check_rules(
    checker: Checker,
    tables: list[tuple[str, dict[str, Any]]],
    channel_names: set[str],
    source_names: dict[str, str],
    tags: set[str],
) -> list[Rule]:
    rules: list[Rule] = []
    names: dict[str, str] = {}
    for path, raw in tables:
        count = len(checker.problems)
        typos = checker.unknown_keys(raw, RULE, path)
        name = checker.name(raw, path, names, "rule", RULE["name"].example, typos)
        try:
            query, query_text = _rule_query(checker, raw, path, typos)
        except (RecursionError, MemoryError):
            checker.add(key_path(path, "query"), _too_deep())
            query, query_text = None, ""
        notify = _notify(checker, raw, path, channel_names, typos)
        scope = _scope(checker, raw, path, source_names, tags)
        values = checker.values(raw, RULE, path, skip=_OWN)
        if name is not None and query is not None and len(checker.problems) == count:
            rules.append(Rule(name, query, query_text, tuple(notify), tuple(scope), **values))
    return rules


def _query_key(checker: Checker, value: Any, where: str) -> tuple[Query | None, str]:
    """A rule's ``query`` parsed, and its text; None (its problem added) when unusable."""
    if not isinstance(value, str):
        checker.add(
            where, f"expected a query string such as {RULE['query'].example}, found {show(value)}"
        )
        return None, ""
    if not value.strip():
        checker.add(where, "is empty; write a query or remove the key")
        return None, ""
    text = value.strip()
    try:
        parsed = _query.parse(value)
    except QueryError as exc:
        checker.add(where, f"{exc.message} at column {exc.column}")
        return None, text
    except (RecursionError, MemoryError):
        checker.add(where, _too_deep())
        return None, text
    why = _unusable(parsed)
    if why:
        checker.add(where, why)
        return None, text
    return parsed, text


def _rule_query(
    checker: Checker, raw: dict[str, Any], path: str, typos: set[str]
) -> tuple[Query | None, str]:
    parts: list[Query] = []
    ok = True
    text = ""
    if "query" in raw:
        parsed, text = _query_key(checker, raw["query"], key_path(path, "query"))
        if parsed is None:
            ok = False
        else:
            parts.append(parsed)
    limit = RULE["proximity"]  # words a quoted phrase's words may be apart
    proximity = raw.get("proximity", limit.default)
    if (
        isinstance(proximity, bool)
        or not isinstance(proximity, int)
        or not (limit.min or 0) <= proximity <= (limit.max or 0)
    ):
        checker.add(
            key_path(path, "proximity"),
            f"expected {limit.noun} from {limit.min:g} to {limit.max:g}, such as {limit.example}, "
            f"found {show(proximity)}",
        )
        ok = False
    lists: dict[str, list[str]] = {}
    for key in ("any", "all", "none"):
        before = len(checker.problems)
        entries = (
            checker.string_list(raw[key], key_path(path, key), RULE[key].example)
            if key in raw
            else []
        )
        if len(checker.problems) > before:
            ok = False
        lists[key] = entries
    if not text and not lists["any"] and not lists["all"]:
        if ok and not typos & {"query", "any", "all"}:
            if lists["none"]:
                checker.add(
                    path,
                    "a rule with only none = [...] would match nearly every item; "
                    "add a query, any = [...] or all = [...]",
                )
            else:
                checker.add(path, "needs a query or at least one of any = [...], all = [...]")
        return None, ""
    if not ok:
        return None, ""
    try:
        listed = _query.from_lists(any=lists["any"], all=lists["all"], none=lists["none"])
    except QueryError as exc:
        # Name the entries that fail on their own (e.g. "!!!" has no letters or digits).
        before = len(checker.problems)
        for key, entries in lists.items():
            for index, entry in enumerate(raw.get(key) or []):
                if entry not in entries:
                    continue
                try:
                    _query.from_lists(**{key: [entry]})
                except QueryError as inner:
                    checker.add(f"{key_path(path, key)}[{index}]", inner.message)
        if len(checker.problems) == before:
            checker.add(path, exc.message)
        return None, ""
    if listed is not None:
        parts.append(listed)
    combined = parts[0] if len(parts) == 1 else _query.all_of(*parts)
    if combined.match(_query.prepare("", "")) is not None:
        checker.add(
            path,
            "this query can only exclude (as NOT x alone does): it matches an item with no "
            "words at all, so nearly every item; add a word or phrase it must find",
        )
        return None, ""
    if not text or listed is not None:
        text = str(combined)
    return combined.with_proximity(proximity), text


def _too_deep() -> str:
    return (
        f"is nested more than {MAX_QUERY_DEPTH} deep (parentheses, NOT, NEAR/n and title: "
        "inside one another); simplify it"
    )


def _nodes(query: Query) -> list[tuple[object, int]]:
    """Every node of a parsed query with its depth, walked without recursion."""
    out: list[tuple[object, int]] = []
    stack: list[tuple[object, int]] = [(getattr(query, "_root", None), 1)]
    while stack:
        node, depth = stack.pop()
        if node is None:
            continue
        out.append((node, depth))
        children = list(getattr(node, "children", ()))
        children += [getattr(node, a) for a in ("child", "left", "right") if hasattr(node, a)]
        stack += [(child, depth + 1) for child in children]
    return out


def _unusable(query: Query) -> str | None:
    """Why a parsed query cannot be used: nested too deep, or a catastrophic /regex/."""
    nodes = _nodes(query)
    if max(depth for _, depth in nodes) > MAX_QUERY_DEPTH:
        return _too_deep()
    for node, _ in nodes:
        compiled = getattr(node, "compiled", None)
        pattern = getattr(node, "pattern", None)
        if compiled is None or not isinstance(pattern, str):
            continue
        from weightwatch.config.probe import catastrophic, why_catastrophic  # a /regex/ only

        if catastrophic(compiled, pattern):
            return why_catastrophic(f"/{pattern}/")
    return None


def _notify(
    checker: Checker, raw: dict[str, Any], path: str, channel_names: set[str], typos: set[str]
) -> list[str]:
    where = key_path(path, "notify")
    if "notify" not in raw:
        if "notify" not in typos:
            checker.add(
                where,
                'is required: the channels to alert, such as notify = ["terminal"]'
                + _channel_help(channel_names),
            )
        return []
    if isinstance(raw["notify"], list) and not raw["notify"]:
        checker.add(where, "is empty; name at least one channel" + _channel_help(channel_names))
        return []
    names = checker.string_list(raw["notify"], where, RULE["notify"].example)
    known = sorted(channel_names)
    for index, name in enumerate(raw["notify"] if names else []):
        if isinstance(name, str) and name.strip() and name not in channel_names:
            hint = did_you_mean(name, known) or _channel_help(channel_names)
            checker.add(f"{where}[{index}]", f"no channel named {show(name)}{hint}")
    return names


def _channel_help(channel_names: set[str]) -> str:
    if not channel_names:
        return "; [channels] defines none yet"
    return "; [channels] defines " + ", ".join(sorted(channel_names))


def _scope(
    checker: Checker, raw: dict[str, Any], path: str, source_names: dict[str, str], tags: set[str]
) -> list[str]:
    if "sources" not in raw:
        return []
    where = key_path(path, "sources")
    if isinstance(raw["sources"], list) and not raw["sources"]:
        checker.add(where, "is empty; remove the key to watch all sources")
        return []
    entries = checker.string_list(raw["sources"], where, RULE["sources"].example)
    candidates = list(source_names) + [f"tag:{t}" for t in sorted(tags)]
    for index, entry in enumerate(raw["sources"] if entries else []):
        if not isinstance(entry, str) or not entry.strip():
            continue
        entry_path = f"{where}[{index}]"
        if entry.startswith("tag:"):
            tag = entry[4:]
            if tag not in tags:
                hint = did_you_mean(entry, candidates)
                if not hint and tag in source_names:
                    hint = f'; "{tag}" is a source name: write "{tag}" without tag:'
                checker.add(entry_path, f"no source has the tag {show(tag)}{hint}")
        elif entry not in source_names:
            if entry in tags:
                hint = f'; did you mean "tag:{entry}"? (tags are written tag:NAME)'
            else:
                hint = did_you_mean(entry, candidates)
            checker.add(entry_path, f"no source named {show(entry)}{hint}")
    return entries
