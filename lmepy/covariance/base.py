"""What nlme's correlation structures and variance functions share: parameters kept on nlme's
unconstrained scale (some of them possibly fixed), usable once bound to data."""

from __future__ import annotations

import numpy as np


class Structure:
    """Base of CorStruct and VarFunc: the unconstrained parameter vector ``_u`` (all of it,
    fixed entries included) and which entries the fit estimates (``_estimated``)."""

    nlme_class = "structure"
    _u: np.ndarray | None
    bound: bool

    def _need_bound(self) -> None:
        if not self.bound:
            raise RuntimeError(f"{self.nlme_class} must be bound to data first (bind(data))")

    def _initial_u(self) -> np.ndarray:
        raise NotImplementedError

    def _estimated(self) -> np.ndarray:
        """Which entries of ``_u`` are estimated (not fixed): all, unless a subclass fixes some."""
        assert self._u is not None
        return np.ones(len(self._u), dtype=bool)

    @property
    def n_params(self) -> int:
        """Number of estimated (not fixed) parameters."""
        self._need_bound()
        return int(np.sum(self._estimated()))

    def get_unconstrained(self) -> np.ndarray:
        """The estimated parameters on nlme's unconstrained scale (fixed ones left out)."""
        self._need_bound()
        assert self._u is not None
        return self._u[self._estimated()].copy()

    def set_unconstrained(self, u: np.ndarray) -> None:
        self._need_bound()
        u = np.asarray(u, dtype=float).ravel()
        free = self._estimated()
        if self._u is None or len(u) != int(np.sum(free)):
            raise ValueError("wrong number of parameters")
        full = self._u.copy()
        full[free] = u
        self._u = full

    def coef_names(self) -> list[str]:
        raise NotImplementedError

    def constrained(self) -> np.ndarray:
        raise NotImplementedError
