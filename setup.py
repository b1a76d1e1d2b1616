"""Builds the Cython kernels; everything else is declared in pyproject.toml.

numpy, Cython and setuptools are imported in main(), after the .pyx sources are found, so an
incomplete tree fails with that message whatever is installed."""
import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.chdir(HERE)  # extension sources must be given relative to the project

OMP_PROBE = "#include <omp.h>\nint probe(void) { return omp_get_max_threads(); }\n"


def c_compiler() -> list[str] | None:
    """The command setuptools will compile with ($CC, else Python's own CC), if it is on
    PATH; else cc/gcc/clang; None when there is none to ask (e.g. MSVC on Windows)."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or ""
    words = shlex.split(cc)
    if words and shutil.which(words[0]):
        return words
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return [name]
    return None


def accepted(flags: list[str], source: str = "int probe(void) { return 0; }\n") -> list[str]:
    """`flags` when the C compiler builds a shared library with them without an error or a
    warning (a flag it only warns about, such as -s on macOS's linker, counts as refused),
    else []. So only flags the compiler really takes are added and the build stays quiet."""
    cc = c_compiler()
    if cc is None:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(source)
        cmd = [*cc, "-fPIC", "-shared", *flags, str(src), "-o", str(Path(tmp) / "probe.so")]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return []
    quiet = "warning" not in (run.stdout + run.stderr).lower()
    return flags if run.returncode == 0 and quiet else []


def kernel_sources() -> list[Path]:
    """The .pyx kernels. lmepy cannot import without them, so an empty list (a source tree
    or sdist that lost them) stops the build instead of installing a broken package."""
    found = sorted(Path("lmepy/kernels").glob("*.pyx"))
    if not found:
        raise SystemExit(
            f"setup.py: no Cython sources lmepy/kernels/*.pyx under {HERE}; this source tree "
            "or sdist is incomplete and would install an lmepy that cannot be imported"
        )
    return found


def packages() -> tuple[list[str], dict[str, str]]:
    """lmepy's packages and where their sources are: every package under lmepy/, and
    lmepy.grammar from the top-level grammar/ folder (the language's specification lives at
    the repository root, DESIGN.md; it is installed inside the package)."""
    from setuptools import find_packages

    found = find_packages(include=["lmepy", "lmepy.*"])
    if "lmepy.grammar" in found:
        raise SystemExit("setup.py: lmepy/grammar/ must not exist; the grammar is grammar/")
    return [*found, "lmepy.grammar"], {"lmepy.grammar": "grammar"}


def main() -> None:
    """Cythonizes and compiles every kernel, with the flags the compiler accepts: -O3; -s,
    which strips the extensions' symbols and debug information at link time (the wheel is
    about a third of the size); OpenMP for the dense factor's tiles (lmepy/kernels/blocked.pyx:
    potrf_lower; without it Cython's prange compiles to a plain loop on one thread)."""
    sources = kernel_sources()
    import numpy as np
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    optimize = accepted(["-O3"])
    strip = accepted(["-s"])
    openmp = accepted(["-fopenmp"], OMP_PROBE)
    extensions = [
        Extension(
            f"lmepy.kernels.{p.stem}",
            [p.as_posix()],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=optimize + (openmp if p.stem == "blocked" else []),
            extra_link_args=strip + (openmp if p.stem == "blocked" else []),
        )
        for p in sources
    ]
    names, dirs = packages()
    setup(
        packages=names,
        package_dir=dirs,
        ext_modules=cythonize(
            extensions,
            language_level=3,
            compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
        )
    )


main()
