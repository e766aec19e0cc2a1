#!/bin/bash
# The HTTP figures of issue 3 in one run: asynclab http vs this bare hyper server,
# alternating, same machine, same clients (wrk, `asynclab load`, bench/lib/idle.py).
#   cargo build --release -p asynclab
#   (cd bench/baselines/bare-hyper && CARGO_TARGET_DIR=../../../target cargo build --release)
#   bench/baselines/bare-hyper/compare.sh
# Prints /fast req/s and server CPU per request (from /proc/PID/stat), wall time and
# peak RSS (VmHWM) for 10,000 concurrent /slow?delay=1s, and RSS per idle keep-alive
# connection. Every process it starts is stopped by PID. The full suite is bench/run.sh.
set -u
cd "$(dirname "$0")/../../.."
OUT=$(mktemp -d)
ASYNCLAB=target/release/asynclab
BARE=target/release/bare-hyper
start() { # name port -> pid
  if [ "$1" = asynclab ]; then $ASYNCLAB http --set http.addr=127.0.0.1:$2 >/dev/null 2>&1 &
  else $BARE 127.0.0.1:$2 >/dev/null 2>&1 & fi
  echo $!
}
rss() { awk "/^$2:/{print \$2}" /proc/$1/status; }
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
TCK=$(getconf CLK_TCK)
echo "== /fast, wrk -t1 -c50 -d10s, alternating"
pa=$(start asynclab 18180); pb=$(start bare 18181); sleep 1
for i in 1 2 3; do
  for s in bare asynclab; do
    if [ $s = bare ]; then p=$pb; port=18181; else p=$pa; port=18180; fi
    c0=$(cpu $p); out=$(wrk -t1 -c50 -d10s http://127.0.0.1:$port/fast); c1=$(cpu $p)
    n=$(echo "$out" | awk '/requests in/{print $1}'); r=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    echo "$s run$i rps=$r server_cpu_us_per_req=$(echo "($c1-$c0)*1000000/$TCK/$n" | bc -l | cut -c1-5)"
  done
done
kill $pa $pb; sleep 1
echo "== 10,000 concurrent /slow?delay=1s (asynclab load -c 10000 -n 10000), fresh server each run"
for i in 1 2; do
  for s in bare asynclab; do
    p=$(start $s 18190); sleep 1
    $ASYNCLAB load "http://127.0.0.1:18190/slow?delay=1s" -c 10000 -n 10000 --json --no-progress --timeout 30s > $OUT/slow-$s.json
    echo "$s run$i wall_s=$(python3 -c "import json;d=json.load(open('$OUT/slow-$s.json'));print(round(d['duration_s'],3), 'ok', d['requests']['ok'])") peak_rss_kb=$(rss $p VmHWM)"
    kill $p; sleep 1
  done
done
echo "== idle keep-alive connections: 5000 after one GET /fast each"
for s in bare asynclab; do
  p=$(start $s 18195); sleep 1
  curl -s -o /dev/null http://127.0.0.1:18195/fast
  before=$(rss $p VmRSS)
  python3 bench/lib/idle.py 18195 5000 http /fast 40 < <(sleep 40) > $OUT/idle-$s.out 2>&1 &
  client=$!
  for _ in $(seq 1 300); do grep -q "^open" $OUT/idle-$s.out && break; sleep 0.1; done
  sleep 1; after=$(rss $p VmRSS)
  echo "$s $(head -1 $OUT/idle-$s.out) rss_before_kb=$before rss_after_kb=$after per_conn_bytes=$(( (after-before)*1024/5000 ))"
  kill $client $p; sleep 1
done
