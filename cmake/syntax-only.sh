#!/bin/sh
# Compiler launcher for checks that only need the compiler's verdict (tests/CMakeLists.txt's
# header check): runs the compile command with -fsyntax-only, which parses and instantiates
# but generates no code, then creates the object file the build expects, empty.
out=
prev=
for a in "$@"; do
  [ "$prev" = "-o" ] && out=$a
  prev=$a
done
"$@" -fsyntax-only || exit $?
if [ -n "$out" ]; then : > "$out"; fi
