"""Builds the Cython kernels; everything else is declared in pyproject.toml."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def openmp_flags() -> list[str]:
    """["-fopenmp"] when the C compiler takes it (gcc, clang with libomp); else [] and the
    dense factor's tiles run on one thread (Cython's prange compiles to a plain loop)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "omp.c"
        src.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            ok = subprocess.run([*cc.split(), "-fopenmp", str(src), "-o", str(Path(tmp) / "omp")],
                                capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    return ["-fopenmp"] if ok else []


OPENMP = openmp_flags()
kernels = sorted(Path("lmepy/kernels").glob("*.pyx"))
extensions = [
    Extension(
        f"lmepy.kernels.{p.stem}",
        [str(p)],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # OpenMP for the dense factor's tiles (lmepy/kernels/blocked.pyx: potrf_lower)
        extra_compile_args=["-O3"] + (OPENMP if p.stem == "blocked" else []),
        extra_link_args=OPENMP if p.stem == "blocked" else [],
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
