"""Alert templates and formats: checked with the config, rendered safely, delivered for real."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest

from builders import write_config
from feedgen import Entry, rss
from servers import HTTPTestServer, WebhookReceiver
from weightwatch.errors import ConfigError
from weightwatch.service.once import run_once

OLD = Entry("Quarterly update on robot arms", "https://lab.example/robots", guid="r1")
EVIL = Entry(
    'Lab releases open weights <script>alert("x")</script> [click](http://evil.example)',
    "https://lab.example/evil",
    guid="e1",
    text="<img src=x onerror=alert(1)> open weights for all",
)


def load(tmp_path: Path, channels: str, rule_extra: str = "", feed: str = "http://x/f") -> Any:
    """Source "lab" at ``feed``, rule "weights" to "hook"; ``channels`` is raw TOML."""
    rule = f'name = "weights"\nquery = \'open weights\'\nnotify = ["hook"]\n{rule_extra}'
    return write_config(tmp_path, {"lab": feed}, channels, [rule])


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ titel }}", "channels.hook.body: unknown placeholder 'titel'; the placeholders are"),
        ("{% for x in %}", "channels.hook.body: template syntax error at line 1"),
        ("{{ title.__class__ }}", "channels.hook.body: not allowed in a template"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "channels.hook.body: not allowed"),
    ],
)
def test_a_bad_template_is_a_config_error_with_its_key_path(
    tmp_path: Path, template: str, problem: str
) -> None:
    channels = f'[channels.hook]\nurls = "console://"\nbody = {json.dumps(template)}'
    with pytest.raises(ConfigError) as err:
        load(tmp_path, channels)
    assert any(str(p).startswith(problem) for p in err.value.problems), err.value.problems


def test_a_rule_template_error_names_the_rule(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, '[channels]\nhook = "console://"', rule_extra='title = "{{ nope }}"')
    assert str(err.value.problems[0]).startswith("rule[0].title: unknown placeholder 'nope'")


def prime_and_publish(http: HTTPTestServer, cfg: Any, entry: Entry) -> None:
    http.set("/f.xml", rss([OLD]))
    run_once(cfg)
    http.set("/f.xml", rss([entry, OLD]))
    run_once(cfg)


def test_channel_templates_shape_the_message(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    channels = (
        f'[channels.hook]\nurls = "{webhook.apprise_url}"\n'
        'title = "{{ rule | upper }}: {{ title }}"\n'
        'body = """{{ source }} says: {{ title }}\n{{ link }}\nterms: {{ terms | join(\', \') }}"""'
    )
    cfg = load(tmp_path, channels, feed=http_server.url("/f.xml"))
    entry = Entry("Lab releases open weights for Model X", "https://lab.example/x", guid="x")
    prime_and_publish(http_server, cfg, entry)
    [msg] = webhook.received
    assert msg["title"] == "WEIGHTS: Lab releases open weights for Model X"
    assert msg["message"].splitlines() == [
        "lab says: Lab releases open weights for Model X",
        "https://lab.example/x",
        "terms: open, weights",
    ]


def test_a_rule_template_overrides_the_channel_template(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    channels = (
        f'[channels.hook]\nurls = "{webhook.apprise_url}"\ntitle = "channel: {{{{ title }}}}"'
    )
    cfg = load(tmp_path, channels, 'title = "rule: {{ title }}"', feed=http_server.url("/f.xml"))
    prime_and_publish(http_server, cfg, Entry("Lab releases open weights", "https://l.example/a"))
    assert webhook.received[0]["title"] == "rule: Lab releases open weights"


def test_html_format_escapes_everything_from_the_feed(
    tmp_path: Path, http_server: HTTPTestServer, smtp: Any
) -> None:
    url = smtp.apprise_url().replace("format=text", "format=html")
    channels = f'[channels.hook]\nurls = "{url}"\nformat = "html"'
    cfg = load(tmp_path, channels, feed=http_server.url("/f.xml"))
    prime_and_publish(http_server, cfg, EVIL)
    [(_, _, raw)] = smtp.messages
    mail = email.message_from_string(raw, policy=email.policy.default)
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    html_body = part.get_content()
    assert "<script>" not in html_body and "<img" not in html_body
    assert "&lt;script&gt;" in html_body
    assert '<a href="https://lab.example/evil">' in html_body  # our own markup survives


def test_html_templates_autoescape_feed_text(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    channels = (
        f'[channels.hook]\nurls = "{webhook.apprise_url}"\nformat = "html"\n'
        'body = "<h1>{{ title }}</h1><p>{{ snippet }}</p>"'
    )
    cfg = load(tmp_path, channels, feed=http_server.url("/f.xml"))
    prime_and_publish(http_server, cfg, EVIL)
    body = webhook.received[0]["message"]
    assert body.startswith("<h1>") and "<script>" not in body
    assert "&lt;script&gt;" in body


def test_markdown_format_neutralises_links_and_emphasis_from_the_feed(
    tmp_path: Path, http_server: HTTPTestServer, webhook: WebhookReceiver
) -> None:
    channels = f'[channels.hook]\nurls = "{webhook.apprise_url}"\nformat = "markdown"'
    cfg = load(tmp_path, channels, feed=http_server.url("/f.xml"))
    prime_and_publish(http_server, cfg, EVIL)
    body = webhook.received[0]["message"]
    assert "\\[click\\]\\(http://evil.example\\)" in body
    assert body.startswith("**[Lab releases open weights")
    assert "(https://lab.example/evil)**" in body
