#!/usr/bin/env bash
# Start-up time and peak memory of one `meshwire` command: the NativeAOT binary ./run build publishes against the
# same CLI on the JIT (the framework-dependent build of src/Meshwire.Cli). `meshwire version` with no daemon
# running: parse, try the LocalAPI socket, print. hyperfine times it; /usr/bin/time gives the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
AOT=out/meshwire
dotnet build src/Meshwire.Cli -c Release --nologo -v quiet >/dev/null
JIT=src/Meshwire.Cli/bin/Release/net10.0/meshwire
[ -x "$AOT" ] || { echo "cli-startup: out/meshwire missing; run ./run build" >&2; exit 2; }
SOCK=$(mktemp -u)
hyperfine -N --warmup 3 --runs "${RUNS:-40}" -i "$AOT --socket $SOCK version" "$JIT --socket $SOCK version"
for b in "$AOT" "$JIT"; do
    TIMES=$(mktemp)
    /usr/bin/time -o "$TIMES" -f '%M' "$b" --socket "$SOCK" version >/dev/null 2>&1 || true
    echo "| $b | peak RSS $(( $(tail -1 "$TIMES") / 1024 )) MiB |"
    rm -f "$TIMES"
done
