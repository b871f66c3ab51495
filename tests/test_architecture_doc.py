"""docs/architecture.md draws the tree as it is: every module is in it, nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "weightwatch"
DOC = ROOT / "docs" / "architecture.md"


def tree_block() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"```\nsrc/weightwatch/\n(.*?)```", text, re.S)
    assert match, "docs/architecture.md has no tree block starting with src/weightwatch/"
    return match.group(1)


def named_in_tree() -> set[str]:
    """Module and package names the tree mentions (``http.py``, ``query/``)."""
    return set(re.findall(r"(?:── |, )([a-z_0-9]+(?:\.py|/))", tree_block()))


def test_every_module_and_package_is_in_the_architecture_tree() -> None:
    named = named_in_tree()
    missing = []
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" in path.parts or path.name.startswith("__"):
            continue
        if path.is_dir() and any(path.glob("*.py")):
            if f"{path.name}/" not in named:
                missing.append(str(path.relative_to(PACKAGE)) + "/")
        elif path.suffix == ".py" and path.parent.name != "migrations" and path.name not in named:
            missing.append(str(path.relative_to(PACKAGE)))
    assert missing == [], f"add these to the tree in docs/architecture.md: {missing}"


def test_every_name_in_the_architecture_tree_exists() -> None:
    modules = {p.name for p in PACKAGE.rglob("*.py")}
    packages = {f"{p.name}/" for p in PACKAGE.rglob("*") if p.is_dir()}
    stale = sorted(n for n in named_in_tree() if n not in modules | packages)
    assert stale == [], f"docs/architecture.md names modules that do not exist: {stale}"
