#!/usr/bin/env bash
# Generic HTTP/1.1 load with wrk (keep-alive, closed loop).
#   wrk_http.sh --url URL [-t 1] [-c 50] [-d 10s] [--method POST --body FILE [--content-type T]]
#               [--script LUA] [-H 'k: v']... [--workload NAME] [--peer NAME] [--server-pids "PID..."] [--expect-bytes N]
# RUNS (default 3) measured runs after a 1 s warm-up; median req/s, mean, p50, p99 (wrk --latency).
# A run counts as ok only if wrk reports no non-2xx/3xx responses and no socket errors, and
# (with --expect-bytes N) the transfer is >= N body bytes per request.
. "$(dirname "$0")/lib.sh"
URL= T=1 C=50 DUR=10s METHOD=GET BODY= CT=application/json WORKLOAD= PEER= EXPECT=0 LUA=
SRV_PIDS=${SERVER_PIDS:-}
HDRS=()
while [ $# -gt 0 ]; do
  case $1 in
    --url) URL=$2; shift ;;
    -t) T=$2; shift ;;
    -c) C=$2; shift ;;
    -d) DUR=$2; shift ;;
    --method) METHOD=$2; shift ;;
    --body) BODY=$2; shift ;;
    --content-type) CT=$2; shift ;;
    --script) LUA=$2; shift ;;
    -H) HDRS+=(-H "$2"); shift ;;
    --workload) WORKLOAD=$2; shift ;;
    --peer) PEER=$2; shift ;;
    --server-pids) SRV_PIDS=$2; shift ;;
    --expect-bytes) EXPECT=$2; shift ;;
    *) die "unknown arg $1" ;;
  esac
  shift
done
[ -n "$URL" ] || die "need --url"
SCRIPT=()
if [ -n "$LUA" ]; then
  SCRIPT=(-s "$LUA")
elif [ -n "$BODY" ]; then
  [ -f "$BODY" ] || die "no body file $BODY"
  export WRK_BODY_FILE=$BODY WRK_METHOD=$METHOD WRK_CONTENT_TYPE=$CT
  SCRIPT=(-s "$BENCH_DIR/lua/body_from_file.lua")
elif [ "$METHOD" != GET ]; then
  die "--method $METHOD needs --body"
fi
WORKLOAD=${WORKLOAD:-"http $METHOD c=$C"}
PEER=${PEER:-$URL}
DSEC=${DUR%s}
# timeout: the wrk duration plus a margin (wrk's own -d bounds it already)
TMO=$(( ${DSEC%%[!0-9]*} + 30 ))

run_once() {  # run_once DURATION TAG
  local dur=$1 tag=$2 out cpu
  out="$KQB_STATE/results/raw/wrk-$(date +%Y%m%dT%H%M%S%N)-$tag.txt"
  [ "$tag" != warmup ] && [ "${QUIET_MAX:-90}" != 0 ] && wait_quiet "${QUIET_MAX:-90}" "$SRV_PIDS" > /dev/null
  cpu=$(measure "$out" "$SRV_PIDS" -- timeout "$TMO" wrk -t "$T" -c "$C" -d "$dur" --latency "${SCRIPT[@]}" "${HDRS[@]}" "$URL")
  local rc=$?
  awk -v rc="$rc" -v cpu="$cpu" -v expect="$EXPECT" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
    function bytes(v) { if (v ~ /KB$/) return v * 1024; if (v ~ /MB$/) return v * 1048576; if (v ~ /GB$/) return v * 1073741824; return v + 0 }
    /^ *Latency / && !lat { mean = ms($2); lat = 1 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /requests in/ { total = $1; rbytes = bytes($5) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { serr = $4 + $6 + $8 + $10; sub(/,/, "", serr) }
    END {
      split(cpu, c, " ")
      perreq = total > 0 ? rbytes / total : 0
      ok = (rc == 0 && total > 0 && non2xx + 0 == 0 && serr + 0 == 0 && perreq >= expect)
      printf "%s %.3f %.3f %.3f %s %s %s %s reqs=%s,non2xx=%d,sockerr=%d,bytes/resp=%.0f\n", rps, mean, p50, p99, ok ? "yes" : "NO", c[2], c[3], c[4], total, non2xx, serr, perreq
    }' "$out"
}

log "workload: $WORKLOAD | peer: $PEER | $(pin_label) | wrk -t $T -c $C -d $DUR --latency ${SCRIPT[*]} ${HDRS[*]} $URL ${BODY:+($METHOD $BODY)}"
w=$(run_once 1s warmup); log "warm-up: $w"
repeat_runs "wrk -t $T -c $C -d $DUR --latency ${SCRIPT[*]} ${BODY:+($METHOD $(basename "$BODY"))} ${HDRS[*]} $URL" run_once "$DUR"
