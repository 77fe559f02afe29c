#!/usr/bin/env bash
# Runs the tests that handle dates, days and Moscow time again with the clock moved (libfaketime)
# to 00:05, 21:10 and 23:55 Moscow time, and once in a far zone (Asia/Vladivostok, UTC+10, where
# 21:10 in Moscow is already the next day), so that no test passes only at some hours or only in
# the machine's zone. CI runs it after `npm test`. Locally:
#   scripts/time-matrix.sh                                  the files below, today's Moscow date
#   TIME_MATRIX_DAY=2026-12-31 scripts/time-matrix.sh       another day (a year boundary)
#   scripts/time-matrix.sh test/unit/cursor.test.ts         other test files
#
# The clock is moved by an offset (`faketime -f +N`), not set with `@date`: an `@` start time is
# applied afresh in every process, so vitest's workers and the children of the crash tests would
# each start at it and disagree; an offset keeps every process on one clock that runs on. The
# monotonic clock is left real (FAKETIME_DONT_FAKE_MONOTONIC=1): Node's timers run on it.
set -euo pipefail
cd "$(dirname "$0")/.."

files=(
  test/integration/docpart.test.ts
  test/integration/fake-docpart.test.ts
  test/integration/invoices.test.ts
  test/integration/fake-paykeeper.test.ts
  test/integration/fake-onec.test.ts
  test/integration/admin-window.test.ts
  test/integration/regate.test.ts
  test/integration/cards.test.ts
  test/integration/cli.test.ts
  test/integration/listener-transport.test.ts
  test/unit/invoice-export.test.ts
  test/unit/paykeeper-client.test.ts
  test/unit/cursor.test.ts
  test/unit/onec-values.test.ts
  test/unit/validation.test.ts
  test/unit/journal.test.ts
  test/unit/desktop-tray.test.ts
  test/unit/desktop-renderer-format.test.ts
)
[ "$#" -gt 0 ] && files=("$@")

if ! command -v faketime >/dev/null; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo_cmd="sudo"
    else
      echo "time-matrix: faketime is not installed; run: sudo apt-get install faketime" >&2
      exit 1
    fi
  fi
  echo "time-matrix: installing Debian faketime"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq faketime >/dev/null
fi

day="${TIME_MATRIX_DAY:-$(TZ=Europe/Moscow date +%F)}"
export FAKETIME_DONT_FAKE_MONOTONIC=1

# run <HH:MM Moscow time> <TZ>: the files once, with the clock starting at that moment.
run() {
  local msk="$1" zone="$2" target offset seen seen_at
  target=$(date -d "$day $msk:00 +0300" +%s)
  offset=$(( target - $(date +%s) ))
  # Node must see the moved clock (it reads it through clock_gettime, which libfaketime wraps).
  seen=$(TZ="$zone" faketime -f "$(printf '%+d' "$offset")" node -e \
    "process.stdout.write(new Date().toLocaleString('sv-SE', { timeZone: 'Europe/Moscow' }).slice(0, 16))")
  seen_at=$(date -d "$seen +0300" +%s)
  if [ "$seen_at" -lt "$(( target - 60 ))" ] || [ "$seen_at" -gt "$(( target + 120 ))" ]; then
    echo "time-matrix: node does not see the faked clock (wanted $day $msk Moscow time, node says $seen)" >&2
    exit 1
  fi
  echo "time-matrix: $day $msk Moscow time, TZ=$zone (node sees $seen MSK)"
  TZ="$zone" faketime -f "$(printf '%+d' "$offset")" npx vitest run "${files[@]}" || failed+=("$msk MSK, TZ=$zone")
}

failed=()
run 00:05 UTC
run 21:10 UTC
run 23:55 UTC
run 21:10 Asia/Vladivostok
if [ "${#failed[@]}" -gt 0 ]; then
  echo "time-matrix: failed on $day at: $(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
echo "time-matrix: every run passed"
