"""Objects that hold compiled kernel state survive ``pickle`` and ``copy.deepcopy``.

A Cython extension object with a ``__cinit__`` (an evaluator holding typed memoryviews) has no
default ``__reduce__``, and a numpy view pickles as a separate copy, so neither may travel in
an object's state. A class that caches such things derives from :class:`Transient`, lists them
in ``_transient`` and builds them in ``_bind()``: they are left out of the pickled state and
rebuilt from the persistent attributes on first use after unpickling or copying. The hot path
pays nothing (``__getattr__`` runs only when an attribute is missing).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

__all__ = ["Transient"]

_BIND_LOCK = threading.RLock()


class Transient:
    """Mixin: attributes named in ``_transient`` are dropped on pickling or copying and
    rebuilt, all together, by ``_bind()`` when one of them is first needed again."""

    _transient: ClassVar[tuple[str, ...]] = ()

    def _bind(self) -> None:
        """Build every attribute named in ``_transient`` from the persistent state."""
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in self._transient:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: a transient attribute after unpickling
        if name in type(self)._transient:
            d = self.__dict__
            with _BIND_LOCK:  # another thread may be binding the same object
                if name not in d and not d.get("_binding"):
                    d["_binding"] = True  # a transient read inside _bind() is an error
                    try:
                        self._bind()
                    finally:
                        d.pop("_binding", None)
                if name in d:
                    return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
