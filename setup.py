"""Builds the Cython kernels; everything else is declared in pyproject.toml."""
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

kernels = sorted(Path("lmepy/kernels").glob("*.pyx"))
extensions = [
    Extension(
        f"lmepy.kernels.{p.stem}",
        [str(p)],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # OpenMP for the dense factor's tiles (lmepy/kernels/blocked.pyx: potrf_lower)
        extra_compile_args=["-O3"] + (["-fopenmp"] if p.stem == "blocked" else []),
        extra_link_args=["-fopenmp"] if p.stem == "blocked" else [],
    )
    for p in kernels
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
