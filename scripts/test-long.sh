#!/usr/bin/env bash
# The long runs: every test file with a SCALEBOT_LONG switch, with it on (many more generated inputs, races
# and crash points than `npm test` runs). Extra arguments go to vitest (CI passes its reporters).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(grep -rl --include='*.test.ts' 'SCALEBOT_LONG' tests | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no long test files found" >&2; exit 1; fi
echo "long runs: ${files[*]}"
# One file at a time: the long sweeps each run real bot processes with deadlines sized for Slack's (a plan posted
# within 15 s, a restart within 10 s); two sweeps side by side on 2 cores starve each other's bots past them.
SCALEBOT_LONG=1 exec npx vitest run --no-file-parallelism "$@" "${files[@]}"
