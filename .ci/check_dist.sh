#!/usr/bin/env bash
# Packaging check: what a stranger gets from the sdist, in a fresh venv without pip's cache.
#  1. `python -m build --sdist` from this checkout, without a warning; the sdist holds every
#     tracked file under lmepy/, grammar/, tests/ and .ci/ (the .pyx kernels, the grammar,
#     datasets, tests and their R fixtures) and no generated or binary file (.c, .so, .o, .pyc).
#  2. `pip install` of the sdist compiles the kernels with no compiler or Cython warning
#     from lmepy's sources and no setuptools deprecation warning.
#  3. The wheel pip built from the sdist (its RECORD: the installed files) carries no .c
#     file, and its extensions are stripped (Linux: no .symtab / .debug_* sections).
#  4. `lmepy fit`, run outside the source tree, prints lme4's sleepstudy summary.
#  5. The tests pass inside the unpacked sdist: `pytest` (the installed lmepy), and
#     `python -m pytest` (the uncompiled source tree first on sys.path; tests/conftest.py).
# About 4-5 minutes (one compile of the kernels, the test suite once).
# Env: PYTHON (default python3), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lmepy-check-dist.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

fail() {
    echo "check_dist: FAIL: $*" >&2
    exit 1
}
step() { echo "check_dist: $*"; }

"$PY" -m venv "$WORK/venv"
# shellcheck disable=SC1091
. "$WORK/venv/bin/activate"
pip install -q build

step "1. sdist"
python -m build --sdist -o "$WORK/dist" "$ROOT" >"$WORK/sdist.log" 2>&1 ||
    { cat "$WORK/sdist.log"; fail "python -m build --sdist"; }
# (file names such as tests/reference/warnings.R in the "copying ..." lines are not warnings)
if grep -i "warning" "$WORK/sdist.log" | grep -vE "^(copying|hard linking|adding) "; then
    fail "the sdist build warned (above)"
fi
SDIST=$(echo "$WORK"/dist/lmepy-*.tar.gz)
[ -f "$SDIST" ] || fail "no sdist in $WORK/dist"
tar tzf "$SDIST" | sed 's|^[^/]*/||' | grep -v '/$' | sort >"$WORK/sdist.txt"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$ROOT" ls-files lmepy grammar tests .ci | grep -v '\.c$' | sort >"$WORK/tracked.txt"
    missing=$(comm -23 "$WORK/tracked.txt" "$WORK/sdist.txt")
    [ -z "$missing" ] || fail "tracked files missing from the sdist (MANIFEST.in / package-data):
$missing"
fi
if grep -E '\.(c|so|pyd|dylib|o|pyc)$' "$WORK/sdist.txt"; then
    fail "the sdist carries generated or binary files (above)"
fi
for f in LICENSE README.md pyproject.toml setup.py lmepy/kernels/blocked.pyx \
    grammar/formula.lark grammar/__init__.py lmepy/datasets/data/sleepstudy.csv.gz \
    tests/refdata.py tests/rtext.py tests/conftest.py tests/reference/lmer.json; do
    grep -qx "$f" "$WORK/sdist.txt" || fail "$f is not in the sdist"
done
step "   $(basename "$SDIST"): $(wc -l <"$WORK/sdist.txt") files, $(du -k "$SDIST" | cut -f1) kB"

step "2. pip install the sdist (compiles the kernels)"
pip install -v "$SDIST[test]" >"$WORK/install.log" 2>&1 ||
    { tail -50 "$WORK/install.log"; fail "pip install $SDIST"; }
# the first install in the log is pip's isolated build environment
grep -m1 -o "Successfully installed.*" "$WORK/install.log" | sed 's/^/check_dist:    build env: /'
grep -q "Cythonizing lmepy/kernels/blocked.pyx" "$WORK/install.log" ||
    fail "pip install did not compile the kernels"
if grep -E "(lmepy/kernels/[^ :]+:[0-9]+:[0-9]+: warning|^warning: lmepy/)" "$WORK/install.log"; then
    fail "compiler or Cython warnings from lmepy's sources (above)"
fi
if grep -E "SetuptoolsDeprecationWarning|is deprecated" "$WORK/install.log" "$WORK/sdist.log"; then
    fail "setuptools deprecation warnings (above)"
fi

step "3. the wheel's files: no .c, stripped extensions"
cd "$WORK"  # from here on, never let the checkout (or its lmepy.egg-info) shadow the install
python - "$WORK/wheel.txt" <<'EOF'
import sys
from importlib.metadata import distribution
files = [str(f) for f in distribution("lmepy").files]
open(sys.argv[1], "w").write("\n".join(files) + "\n")
EOF
if grep -E '\.c$' "$WORK/wheel.txt"; then fail "the wheel carries .c files (above)"; fi
SITE=$(python -c "import sysconfig; print(sysconfig.get_paths()['platlib'])")
mapfile -t EXTS < <(grep -E '^lmepy/kernels/.*\.(so|pyd)$' "$WORK/wheel.txt")
[ "${#EXTS[@]}" -ge 4 ] || fail "the wheel holds ${#EXTS[@]} compiled kernels, not 4 or more"
for f in lmepy/grammar/__init__.py lmepy/grammar/formula.lark; do
    grep -qx "$f" "$WORK/wheel.txt" || fail "the wheel does not install $f (grammar/ at the root)"
done
if [ "$(uname -s)" = Linux ] && command -v readelf >/dev/null; then
    for so in "${EXTS[@]}"; do
        if readelf -S -W "$SITE/$so" | grep -E '\] \.(symtab|debug_[a-z]+) '; then
            fail "$so is not stripped"
        fi
    done
    step "   ${#EXTS[@]} extensions, stripped, $(du -ck "${EXTS[@]/#/$SITE/}" | tail -1 | cut -f1) kB"
else
    step "   ${#EXTS[@]} extensions (strip check needs Linux's readelf: skipped)"
fi

step "4. lmepy fit"
lmepy fit >"$WORK/fit.txt" || fail "lmepy fit exited $?"
python - "$WORK/fit.txt" "$ROOT/tests/reference/lmer.json" <<'EOF'
import json, sys
out = [s.rstrip() for s in open(sys.argv[1]).read().rstrip("\n").split("\n")]
ref = [s.rstrip() for s in json.load(open(sys.argv[2]))["cases"]["ss_full_reml"]["print_summary"]]
if out != ref:
    sys.exit("lmepy fit does not print lme4's sleepstudy summary:\n" + "\n".join(out))
EOF

step "5. tests in the unpacked sdist"
tar xzf "$SDIST" -C "$WORK"
SRC=$(echo "$WORK"/lmepy-*/)
(cd "$SRC" && pytest -q -p no:cacheprovider) || fail "pytest in the unpacked sdist"
(cd "$SRC" && python -m pytest -q -x -p no:cacheprovider tests/test_cli.py tests/test_kernels.py tests/test_packaging.py) ||
    fail "python -m pytest in the unpacked sdist"
step "OK"
