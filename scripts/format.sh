#!/usr/bin/env bash
# Formats the project's C and C++ sources with the root .clang-format (clang-format from Debian).
#   scripts/format.sh          rewrite the files in place
#   scripts/format.sh --check  list nothing and exit 0 when every file is formatted, else exit 1
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'daemon/*.cpp' 'daemon/*.hpp' 'helpers/*.cpp' 'helpers/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'tests/*.c')
if [ "${1:-}" = --check ]; then
  exec clang-format --dry-run --Werror "${files[@]}"
fi
clang-format -i "${files[@]}"
