#!/usr/bin/env bash
# iSCSI throughput, Tessera vs Linux tgt, on this machine, side by side in one run.
#
# Both targets serve a LU of the same size whose data lives in the same directory (same
# disk, or tmpfs with --dir /dev/shm/...): tgt a sparse backing file, Tessera its own store.
# Each row is measured with `qemu-img bench` (QEMU's libiscsi client) against both targets
# back to back: 4 KiB QD32 write and read, 1 MiB QD8 write and read. Each read row reads
# exactly the region its write row just wrote, so neither target serves holes.
#
# Prints a markdown table: IOPS, MB/s and the Tessera/tgt ratio per row.
# Needs root (tgtd), qemu-utils + qemu-block-extra, tgt, and the .NET SDK for Tessera.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/iscsi/run.sh [options]
  --count-4k N     requests per 4 KiB row (default 200000)
  --count-1m N     requests per 1 MiB row (default 3000)
  --runs N         measure each row N times per target, alternating, report the best (default 1)
  --size S         LU size, qemu-img style suffix (default 2G)
  --dir DIR        where backing data lives (default: a new directory under /var/tmp)
  --only T         run one target only: tgt or tessera
  --no-prefill     skip writing the measured region once before measuring (then the
                   write rows include first-allocation cost of both stores)
  --keep           keep DIR afterwards
Environment: TESSERA_BIN (a tessera executable or tessera.dll; default ./tessera).
Defaults take roughly 1-2 minutes for both targets.
EOF
}

COUNT_4K=200000 COUNT_1M=3000 RUNS=1 SIZE=2G DIR="" ONLY="" KEEP=0 PREFILL=1
while [ $# -gt 0 ]; do
    case $1 in
        --count-4k) COUNT_4K=$2; shift 2 ;;
        --count-1m) COUNT_1M=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --no-prefill) PREFILL=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case $ONLY in ""|tgt|tessera) ;; *) echo "run.sh: --only takes tgt or tessera" >&2; exit 2 ;; esac
for n in "$COUNT_4K" "$COUNT_1M" "$RUNS"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: counts must be positive integers" >&2; exit 2; }
done

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
SIZE=${SIZE%B}; SIZE=${SIZE%i}                      # accept 2G, 2GB and 2GiB alike
SIZE_BYTES=$(numfmt --from=iec "$SIZE") || { echo "run.sh: bad --size" >&2; exit 2; }
[ -n "$DIR" ] || DIR=$(mktemp -d /var/tmp/tessera-bench.XXXXXX)
mkdir -p "$DIR"
IQN=iqn.2024-01.dev.tessera.bench:tgt
TGT_PID="" TESSERA_PID=""

log() { printf '%s\n' "$*" >&2; }

free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
    log "no free port"; exit 1
}

wait_port() { # port seconds
    for _ in $(seq $(($2 * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

cleanup() {
    [ -n "$TESSERA_PID" ] && kill -TERM "$TESSERA_PID" 2>/dev/null && wait "$TESSERA_PID" 2>/dev/null || true
    # tgtd ignores SIGTERM.
    [ -n "$TGT_PID" ] && kill -KILL "$TGT_PID" 2>/dev/null && wait "$TGT_PID" 2>/dev/null || true
    [ -n "${TGT_CONTROL:-}" ] && rm -f "/var/run/tgtd/socket.$TGT_CONTROL" "/var/run/tgtd/socket.$TGT_CONTROL.lock"
    if [ "$KEEP" -eq 0 ]; then rm -rf "$DIR"; else log "kept $DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_tgt() {
    command -v tgtd >/dev/null || { log "tgtd not found (apt-get install tgt)"; exit 1; }
    local port; port=$(free_port)
    TGT_CONTROL=$((1000 + port % 30000))
    truncate -s "$SIZE_BYTES" "$DIR/tgt.img"
    tgtd -f -C "$TGT_CONTROL" --iscsi "portal=127.0.0.1:$port" >"$DIR/tgtd.log" 2>&1 &
    TGT_PID=$!
    local adm=(tgtadm -C "$TGT_CONTROL" --lld iscsi)
    for _ in $(seq 100); do "${adm[@]}" --op show --mode system >/dev/null 2>&1 && break; sleep 0.1; done
    "${adm[@]}" --op new --mode target --tid 1 -T "$IQN"
    "${adm[@]}" --op new --mode logicalunit --tid 1 --lun 1 -b "$DIR/tgt.img"
    "${adm[@]}" --op bind --mode target --tid 1 -I ALL
    wait_port "$port" 10 || { log "tgtd does not listen:"; cat "$DIR/tgtd.log" >&2; exit 1; }
    TGT_URL="iscsi://127.0.0.1:$port/$IQN/1"
    log "tgt      $TGT_URL (backing file $DIR/tgt.img)"
}

start_tessera() {
    local port launcher=()
    port=$(free_port)
    if [ -n "${TESSERA_BIN:-}" ]; then
        case $TESSERA_BIN in *.dll) launcher=(dotnet "$TESSERA_BIN") ;; *) launcher=("$TESSERA_BIN") ;; esac
    else
        launcher=("$ROOT/tessera")
    fi
    "${launcher[@]}" up --data "$DIR/tessera" --portal "127.0.0.1:$port" --size "${SIZE}iB" \
        >"$DIR/tessera.log" 2>&1 &
    TESSERA_PID=$!
    # The wrapper may build first; give it time.
    for _ in $(seq 3000); do
        TESSERA_URL=$(grep -so "iscsi://127\.0\.0\.1:$port/[^[:space:]/]*/0" "$DIR/tessera.log" | head -n 1 || true)
        [ -n "$TESSERA_URL" ] && break
        kill -0 "$TESSERA_PID" 2>/dev/null || { log "tessera up exited:"; cat "$DIR/tessera.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$TESSERA_URL" ] || { log "tessera up printed no URL:"; cat "$DIR/tessera.log" >&2; exit 1; }
    wait_port "$port" 30 || { log "tessera does not listen:"; cat "$DIR/tessera.log" >&2; exit 1; }
    log "tessera  $TESSERA_URL (data $DIR/tessera)"
}

# bench URL count depth size write(0|1) -> seconds of one qemu-img bench run ("nan" on error)
bench() {
    local url=$1 count=$2 depth=$3 size=$4 write=$5 out
    local args=(bench -f raw -c "$count" -d "$depth" -s "$size" -t none)
    [ "$write" -eq 1 ] && args+=(-w)
    out=$(qemu-img "${args[@]}" "$url" 2>&1) || { log "qemu-img ${args[*]} $url failed: $out"; echo "nan"; return; }
    sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p' <<<"$out"
}

# min A B -> the smaller time, ignoring empty and nan
min_time() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || a == "nan") { print b; exit }
        if (b == "" || b == "nan") { print a; exit }
        print (b < a ? b : a) }'
}

[ "$ONLY" = tessera ] || start_tgt
[ "$ONLY" = tgt ] || start_tessera

# Steady state, not first touch: write the region the rows use once, untimed, on both.
if [ "$PREFILL" -eq 1 ]; then
    region=$(( COUNT_4K * 4096 > COUNT_1M * 1048576 ? COUNT_4K * 4096 : COUNT_1M * 1048576 ))
    [ "$region" -gt "$SIZE_BYTES" ] && region=$SIZE_BYTES
    for url in ${TGT_PID:+"$TGT_URL"} ${TESSERA_PID:+"$TESSERA_URL"}; do
        qemu-img bench -f raw -t none -w -d 8 -s 1M -c $(( (region + 1048575) / 1048576 )) "$url" >/dev/null
    done
    log "prefilled $((region >> 20)) MiB"
fi

ROWS=(
    "4 KiB QD32 write|$COUNT_4K|32|4096|1"
    "4 KiB QD32 read|$COUNT_4K|32|4096|0"
    "1 MiB QD8 write|$COUNT_1M|8|1048576|1"
    "1 MiB QD8 read|$COUNT_1M|8|1048576|0"
)

fmt() { # count size seconds -> "IOPS | MB/s"
    awk -v c="$1" -v s="$2" -v t="$3" 'BEGIN {
        if (t == "" || t == "nan" || t <= 0) { printf "n/a | n/a"; exit }
        printf "%.0f | %.0f", c / t, c * s / t / 1e6 }'
}

table=$(
    echo "| row | tgt IOPS | tgt MB/s | Tessera IOPS | Tessera MB/s | Tessera/tgt |"
    echo "|---|---:|---:|---:|---:|---:|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name count depth size write <<<"$row"
        # Alternate the targets run by run, so both see the same background load; keep the best.
        t_tgt="" t_tes=""
        for _ in $(seq "$RUNS"); do
            [ -n "$TGT_PID" ] && t_tgt=$(min_time "$t_tgt" "$(bench "$TGT_URL" "$count" "$depth" "$size" "$write")")
            [ -n "$TESSERA_PID" ] && t_tes=$(min_time "$t_tes" "$(bench "$TESSERA_URL" "$count" "$depth" "$size" "$write")")
        done
        ratio=$(awk -v a="$t_tgt" -v b="$t_tes" 'BEGIN {
            if (a == "" || b == "" || a == "nan" || b == "nan" || b <= 0) printf "n/a"; else printf "%.2f", a / b }')
        echo "| $name | $(fmt "$count" "$size" "$t_tgt") | $(fmt "$count" "$size" "$t_tes") | $ratio |"
        log "done: $name"
    done
)

echo "qemu-img bench -f raw -t none; ${COUNT_4K} x 4 KiB, ${COUNT_1M} x 1 MiB requests, best of $RUNS;" \
     "$([ "$PREFILL" -eq 1 ] && echo "region prefilled;" || echo "no prefill;")" \
     "LU $SIZE in $DIR ($(df --output=fstype "$DIR" | tail -n 1)); $(nproc) cores; $(uname -r);" \
     "$(qemu-img --version | head -n 1); tgt $(tgtd --version 2>/dev/null | head -n 1 || echo '?')"
echo
echo "$table"
