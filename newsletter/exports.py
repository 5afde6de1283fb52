"""A subsystem's public names, imported on first use, so a command pays only for what it runs.

Each subpackage's `__init__` lists its public names (`__all__`), imports them for type checkers
and the import graph under `TYPE_CHECKING`, and hands the same list, module by module, to
`lazy_exports()`: `from newsletter.mail import EmailEdition` then imports `mail.editions` (and
only it) when the name is first asked for (PEP 562). Other subsystems import only these names;
`tests/test_architecture.py` checks the three lists agree and `lint-imports` enforces the rest.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for a package whose names live in its modules.

    `modules` maps a module of the package (`".editions"`) to the public names it defines.
    """
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:  # noqa: N807 - the module hook's own name
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # from now on, a plain attribute
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
