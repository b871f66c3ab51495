"""Channel URLs are checked, masked and sent with the one Apprise plugin of their scheme.

``delivery.apprise_schemes`` says which plugin module serves each scheme; it must match
what Apprise itself loads, and a URL checked or masked through it must come out exactly as
through Apprise with all plugins loaded (the way it was done before).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from servers import WebhookReceiver
from weightwatch.delivery import notify
from weightwatch.delivery.apprise_schemes import MODULES, SCHEMES


def apprise_modules() -> dict[str, tuple[str, ...]]:
    """Apprise's own map: plugin module -> the schemes its class serves."""
    from apprise.manager_plugins import NotificationManager
    from apprise.utils.parse import parse_list

    manager: Any = NotificationManager()  # type: ignore[no-untyped-call]
    manager.load_modules()
    out: dict[str, set[str]] = {}
    for entry in manager._module_map.values():
        if not entry["native"]:
            continue
        module = entry["path"].rsplit(".", 1)[1]
        for plugin in entry["plugin"]:
            schemes = parse_list(plugin.secure_protocol, plugin.protocol)  # type: ignore[no-untyped-call]
            out.setdefault(module, set()).update(schemes)
    return {module: tuple(sorted(schemes)) for module, schemes in sorted(out.items())}


def test_the_scheme_table_is_apprises_own_plugin_map() -> None:
    assert apprise_modules() == MODULES


URLS = [
    "ntfy://ntfy.sh/topic",
    "ntfy://",
    "NTFY://ntfy.sh/Topic?priority=high",
    "json://127.0.0.1:8080/x",
    "json://u:secret@h:99999/x",
    "json://h/x?+X-Token=secret&-Y=z",
    "slack://T1/B1/C1",
    "tgram://1:abc/2",
    "mailto://localhost:25?from=a@x&to=b@x&format=text",
    "discord://",
    "pover://user@token",
]


@pytest.mark.parametrize("url", URLS)
def test_a_url_checks_and_masks_as_through_apprise_with_every_plugin(url: str) -> None:
    import apprise

    full: Any = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    fast: Any = notify._instantiate(url)
    assert (fast is None) == (full is None)
    if full is not None:
        assert type(fast).__name__ == type(full).__name__
        assert fast.url(privacy=True) == full.url(privacy=True)
        assert notify._missing_parts(url, fast) == notify._missing_parts(url, full)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://discord.com/api/webhooks/123/abc", "discord://1...3/a...c/"),
        ("console://", "console://"),
        ("CONSOLE://anything?format=text", "console://"),
    ],
)
def test_urls_outside_the_table_still_mask(url: str, expected: str) -> None:
    assert url.split("://")[0].lower() not in SCHEMES
    assert notify.check_url(url) is None
    assert notify.mask_url(url) == expected


PROBE = """
import json, sys
from weightwatch.delivery import notify
before = sorted(m for m in sys.modules if m == "apprise" or m.startswith("apprise."))
problems = [notify.check_url(u) for u in sys.argv[1:]]
masked = [notify.mask_url(u) for u in sys.argv[1:]]
plugins = [m for m in sys.modules if m.startswith("apprise.plugins.")]
print(json.dumps({"before": before, "apprise": "apprise" in sys.modules,
                  "plugins": len(plugins), "problems": problems, "masked": masked}))
"""


def probe(*urls: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *urls],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ},
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.system
def test_console_urls_load_no_apprise_and_others_one_plugin() -> None:
    console = probe("console://")
    assert console["before"] == [], "importing delivery.notify imports apprise"
    assert console["apprise"] is False
    assert console["problems"] == [None]
    ntfy = probe("ntfy://ntfy.sh/topic", "ntfy://")
    assert ntfy["problems"] == [
        None,
        "is missing what Ntfy needs: topic (see Apprise's page for ntfy://)",
    ]
    assert ntfy["masked"] == ["ntfy://ntfy.sh/topic", "ntfys://"]
    # ntfy and apprise.plugins.base's own helpers; Apprise loads ~190 when asked for all.
    assert isinstance(ntfy["plugins"], int) and ntfy["plugins"] <= 5, ntfy["plugins"]


SEND = """
import json, sys
from weightwatch.delivery import notify
outcome = notify.send(sys.argv[1], "Weights released", "A body.")
plugins = [m for m in sys.modules if m.startswith("apprise.plugins.")]
print(json.dumps({"status": outcome.status, "plugins": len(plugins)}))
"""


@pytest.mark.system
def test_sending_to_a_known_scheme_loads_its_plugin_only() -> None:
    hook = WebhookReceiver()
    try:
        done = subprocess.run(
            [sys.executable, "-c", SEND, hook.apprise_url],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        )
        result = json.loads(done.stdout)
        assert result["status"] == "sent"
        assert [r["title"] for r in hook.received] == ["Weights released"]
    finally:
        hook.close()
    # json and apprise.plugins.base's own helpers; Apprise loads ~190 when asked for all.
    assert result["plugins"] <= 5, result["plugins"]
