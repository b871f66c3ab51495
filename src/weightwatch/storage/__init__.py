"""weightwatch's state in one SQLite file: the ``Storage`` facade (``store``), frozen
``migrations``, row mapping (``rows``), error conversion (``guard``), opening (``connect``).
"""

from weightwatch.storage.store import Storage

__all__ = ["Storage"]
