"""Optional heavy dependencies (transformers, torch, llama-cpp-python, tiktoken), imported only when chosen.

A missing one is a `ConfigError` of one line with the install command, never an ImportError traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from devteam.core.errors import ConfigError


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or say in one line how to install the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{purpose} needs the Python package {module.split('.')[0]!r}; install it with: "
            f"pip install 'devteam[{extra}]'"
        ) from None
