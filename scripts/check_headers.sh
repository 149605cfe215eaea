#!/bin/sh
# Compiles every header under src/ on its own: a header that leans on what an
# earlier include (or a unity batch, or a precompiled header) happened to bring
# fails here. Needs the generated headers: run after `make build`.
# Usage: scripts/check_headers.sh [build-dir]   (about 3 minutes on 2 cores)
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
fail=$(find src -name '*.h' | sort | xargs -P"$(nproc)" -I{} sh -c '
  h=$(echo {} | sed s,^src/,,)
  echo "#include \"$h\"" | g++ -std=c++20 -fsyntax-only -DASIO_STANDALONE -DASIO_NO_DEPRECATED \
    -DSPDLOG_FMT_EXTERNAL -Isrc -I'"$build"'/generated -x c++ - >/dev/null 2>&1 || echo "{}"')
if [ -n "$fail" ]; then
  echo "headers that do not compile on their own:"; echo "$fail"; exit 1
fi
echo "every header compiles on its own"
