#!/usr/bin/env bash
# Build the locked packages that come only as source (llama-cpp-python) into wheels for the
# appliance's CPU baseline, x86-64-v3 (AVX2, FMA, F16C, BMI2), never for the build machine's
# own CPU: llama.cpp's default (GGML_NATIVE) emits AVX-512 and AMX on a Xeon that has them,
# and such a wheel dies of SIGILL on any other host (hardware/README.md, "CPU baseline").
#
#   scripts/portable-wheels.sh PYTHON OUTDIR
#
# OUTDIR (may be the bundle's wheelhouse) gets the wheels and portable.txt, a pip requirements file with their sha256 (install
# it with --require-hashes before requirements.lock; pip then skips the source archive).
# The source archive is hash-checked against requirements.lock; the built wheel is checked for
# instructions beyond the baseline (appliance/artifacts/cpu_baseline.py) before it is used. Built wheels
# are cached under ~/.cache/appliance-portable-wheels by a key of everything that shapes them
# (the lock entry, the flags, this script, the Python and the compiler), never by pip's own
# wheel cache, whose key ignores CMAKE_ARGS.
set -euo pipefail

python=${1:?usage: portable-wheels.sh PYTHON OUTDIR}
out=${2:?usage: portable-wheels.sh PYTHON OUTDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
lock="$repo/requirements.lock"
package=llama-cpp-python

LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF \
-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
-DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DGGML_OPENMP=OFF -DLLAMA_CURL=OFF"

req=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$req" "$work"' EXIT

# The package's block in the lock: its "name==version \" line and the hash lines after it.
awk -v name="$package" '
    index($0, name "==") == 1 { on = 1 }
    on && /^[a-z]/ && index($0, name "==") != 1 { on = 0 }
    on && !/^ *#/ { print }
' "$lock" >"$req"
if ! grep -q -- '--hash=sha256:' "$req"; then
    echo "portable-wheels: $package with a hash not found in $lock" >&2
    exit 1
fi

key=$( { cat "$req"; echo "$LLAMA_CMAKE_ARGS"; cat "$0"; "$python" -VV; cc --version | head -1; } \
    | sha256sum | cut -c1-16)
cache="${APPLIANCE_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appliance-portable-wheels}/$key"

if [ ! -f "$cache/.complete" ]; then
    echo "portable-wheels: building $package for x86-64-v3 (several minutes on 2 cores)"
    start=$(date +%s)
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 "$python" -m pip wheel -q \
        --disable-pip-version-check --no-input --no-cache-dir --no-deps --require-hashes \
        --no-binary "$package" -r "$req" -w "$work"
    PYTHONPATH="$repo" "$python" -m appliance.artifacts.cpu_baseline check "$work"/*.whl
    rm -rf "$cache" && mkdir -p "$cache"
    cp "$work"/*.whl "$cache"/
    touch "$cache/.complete"
    echo "portable-wheels: built in $(( $(date +%s) - start )) s"
fi

mkdir -p "$out"
rm -f "$out/portable.txt" "$out/$(echo "$package" | tr - _)"-*.whl
cp "$cache"/*.whl "$out"/
for wheel in "$cache"/*.whl; do
    name=$(basename "$wheel" | cut -d- -f1 | tr _ -)
    version=$(basename "$wheel" | cut -d- -f2)
    echo "$name==$version --hash=sha256:$(sha256sum "$wheel" | cut -d' ' -f1)" >>"$out/portable.txt"
done
echo "portable-wheels: $(wc -l <"$out/portable.txt") wheel(s) in $out"
