#!/bin/bash
# bench-imagine.sh BASE BIN...: the imagine stages of `quick` again with each
# kalm binary, alternated (BIN1 BIN2 ... twice more), from the collect and
# ground stages of BASE, a work directory `kalm run quick --workdir BASE` made.
# Each trial copies BASE, marks its three imagine stages pending and deletes
# their artifacts, then `kalm run quick -j 1` runs exactly those three; the
# imagined datasets must come out byte-identical to BASE's. Prints per trial:
# the three stages' seconds (SQLite), the run's user+system CPU (GNU time:
# the host and its plugin processes) and the CPU of each process role,
# sampled from /proc every 0.1 s. Needs sqlite3, GNU time and python3.
set -euo pipefail
BASE=$(realpath "$1"); shift
OUT=$(mktemp -d /tmp/bench-imagine.XXXX)
sums() { (cd "$1/artifacts/imagine" && find . -type f -path '*/dataset/*' | sort | xargs sha256sum); }
sums "$BASE" > "$OUT/base.sums"
sample() { # sample OUT PREFIX: CPU seconds per role of the processes run from PREFIX, on SIGTERM
exec python3 - "$@" <<'PY'
import os, sys, time, signal
tick, last = os.sysconf('SC_CLK_TCK'), {}
def done(*_):
    tot = {}
    for r, c in last.values():
        tot[r] = tot.get(r, 0) + c
    open(sys.argv[1], 'w').write(' '.join(f'{r} {c:.2f}' for r, c in sorted(tot.items())))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    for p in filter(str.isdigit, os.listdir('/proc')):
        try:
            a = open(f'/proc/{p}/cmdline').read().split('\0')
            if a[0] != sys.argv[2]:
                continue
            r = a[a.index('serve') + 1] if 'serve' in a else 'host'
            st = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()
            last[int(p)] = (r, (int(st[11]) + int(st[12])) / tick)
        except (OSError, IndexError, ValueError):
            pass
    time.sleep(0.1)
PY
}
for round in 1 2 3; do
  for bin in "$@"; do
    bin=$(realpath "$bin"); w="$OUT/$(basename "$bin")-$round"
    cp -a "$BASE" "$w"
    sqlite3 "$w/results.db" "update meta set value='$w' where key='workdir'"
    for k in $(sqlite3 "$w/results.db" "select key from stages where kind='imagine'"); do
      sqlite3 "$w/results.db" "delete from metrics where stage_key='$k'; delete from artifacts where stage_key='$k';
        update stages set status='pending', seconds=0, started_at='', finished_at='', error='' where key='$k'"
      rm -rf "$w/artifacts/imagine/$k" "$w/stages/$k.result.json"
    done
    load=$(uptime | sed 's/.*average: //')
    sample "$w.cpu" "$bin" & sp=$!
    /usr/bin/time -f '%U %S' -o "$w.time" "$bin" run quick -j 1 --workdir "$w" > "$w.log" 2>&1
    kill $sp; wait $sp || true
    same=$(sums "$w" | cmp -s - "$OUT/base.sums" && echo identical || echo DIFFERENT)
    secs=$(sqlite3 "$w/results.db" "select group_concat(printf('%.2f', seconds), ' + ') || ' = ' || printf('%.2f', sum(seconds)) from (select seconds from stages where kind='imagine' order by started_at)")
    echo "$(basename "$bin") round $round: imagine s $secs | cpu s (user sys) $(cat "$w.time") | by process: $(cat "$w.cpu") | datasets $same | load $load"
  done
done
