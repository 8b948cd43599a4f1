"""Which kinds the hostile-input suite draws from, and how often.

Kinds live in ``kinds.py`` and in any module ``kinds_<topic>.py`` of this package: each exposes
``KINDS``, a list of ``(kind, weight)``. A new file is picked up without editing this one. Modules
are read in name order, so that a seed draws the same kinds whatever the file system lists first.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tests.hostile.kinds import Kind

PACKAGE = "tests.hostile"


def kind_modules() -> list[str]:
    """``tests.hostile.kinds`` and every ``tests.hostile.kinds_*``, in name order."""
    here = [str(Path(__file__).parent)]
    names = sorted(m.name for m in pkgutil.iter_modules(here) if m.name.startswith("kinds_"))
    return [f"{PACKAGE}.kinds", *(f"{PACKAGE}.{name}" for name in names)]


def registered_kinds() -> list[tuple[Kind, int]]:
    kinds: list[tuple[Kind, int]] = []
    for name in kind_modules():
        kinds.extend(importlib.import_module(name).KINDS)
    return kinds


def weighted_kinds() -> list[Kind]:
    """Every kind repeated by its weight: drawing one of these draws kinds by weight."""
    return [kind for kind, weight in registered_kinds() for _ in range(weight)]
