"""Placeholder: the query language is being written (see tests/test_query.py)."""

from __future__ import annotations


class Query:
    pass
