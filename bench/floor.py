"""The floor for bench/cycle.py: the least a poll cycle can cost in Python.

Usage (from the repo root; bench/cycle.py runs it for you):

    .venv/bin/python bench/floor.py --urls URLS.txt --workers 8 --etags ETAGS.json

It fetches every URL in ``URLS.txt`` (one a line) with requests in a thread pool of
``--workers`` threads (one ``requests.Session`` per thread, keep-alive) and parses each 200
with feedparser's defaults: ``feedparser.parse(io.BytesIO(body), response_headers=...)``.
When ``--etags`` names an existing JSON file it sends ``If-None-Match`` with the ETags stored
there and skips parsing on 304; at the end it writes the ETags of this run to that file.
Nothing is stored, matched or deduplicated: this is fetch + parse only.

It prints one JSON line: counts of 200/304/errors, entries parsed, bytes received.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import requests
from requests.adapters import HTTPAdapter

_local = threading.local()


def _session(n_hosts: int) -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # Keep one pool per host: the default keeps 10, and 50 hosts would churn connections.
        adapter = HTTPAdapter(pool_connections=max(10, n_hosts), pool_maxsize=4)
        session.mount("http://", adapter)
        _local.session = session
    return session


def fetch_and_parse(
    url: str, etag: str | None, n_hosts: int, timeout: float
) -> tuple[str, int, str | None, int, int, str]:
    """(url, status, etag, entries, body bytes, error)."""
    try:
        headers = {"If-None-Match": etag} if etag else {}
        r = _session(n_hosts).get(url, headers=headers, timeout=timeout)
        if r.status_code == 304:
            return url, 304, etag, 0, 0, ""
        if r.status_code != 200:
            return url, r.status_code, None, 0, 0, f"HTTP {r.status_code}"
        body = r.content
        parsed = feedparser.parse(
            io.BytesIO(body), response_headers={k.lower(): v for k, v in r.headers.items()}
        )
        return url, 200, r.headers.get("ETag"), len(parsed.entries), len(body), ""
    except Exception as exc:
        return url, 0, None, 0, 0, f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--urls", type=Path, required=True, help="a file with one URL a line")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--etags", type=Path, help="JSON file: read if present, written at the end")
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args(argv)

    urls = [u.strip() for u in args.urls.read_text().splitlines() if u.strip()]
    etags: dict[str, str] = {}
    if args.etags and args.etags.exists():
        etags = json.loads(args.etags.read_text())
    n_hosts = len({urlsplit(u).hostname for u in urls})

    counts: dict[str, int] = {}
    entries = size = 0
    errors: list[str] = []
    new_etags: dict[str, str] = {}
    with ThreadPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(fetch_and_parse, u, etags.get(u), n_hosts, args.timeout) for u in urls
        ]
        for fut in futures:
            url, status, etag, n, b, error = fut.result()
            counts[str(status)] = counts.get(str(status), 0) + 1
            entries += n
            size += b
            if etag:
                new_etags[url] = etag
            if error:
                errors.append(f"{url}: {error}")
    if args.etags:
        args.etags.write_text(json.dumps(new_etags))
    print(
        json.dumps(
            {
                "feeds": len(urls),
                "status": counts,
                "entries": entries,
                "bytes": size,
                "errors": errors[:5],
                "n_errors": len(errors),
            }
        )
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
