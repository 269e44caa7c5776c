#!/usr/bin/env bash
# iSCSI throughput on this machine, in one run: Linux tgt, one Tessera node, and a Tessera cluster
# twice — N nodes in one process, and N node processes on etcd.
#
# All three serve a LU of the same size whose data lives in the same directory (same disk, or
# tmpfs with --dir /dev/shm/...): tgt a sparse backing file; Tessera single node
# (`tessera up --nodes 1`) its own store; the Tessera cluster (`tessera up --nodes N`, default 6,
# N nodes in one process, every LU a 4+2 double-parity distributed volume spread over all N chunk
# stores) its own data directory; the processes cluster (`tessera node` × N on one etcd started here,
# the same 4+2 volume, inter-node traffic over loopback TCP) one directory per node. The clusters'
# write rows go through node 1's portal and their read rows through node 5's (--read-node), since
# every node serves every LBA.
#
# Each row is measured with `qemu-img bench` (QEMU's libiscsi client), the targets alternating run
# by run: 4 KiB QD32 write and read, 1 MiB QD8 write and read. Each read row reads exactly the
# region its write row just wrote, so no target serves holes.
#
# Prints a markdown table: IOPS and MB/s per target, each cluster's ratios to tgt and to the single
# node, and each cluster against the Ceph reference of issue 5 with its goals.
# Needs root (tgtd), qemu-utils + qemu-block-extra, tgt, etcd-server, and the .NET SDK for Tessera.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/iscsi/run.sh [options]
  --count-4k N     requests per 4 KiB row (default 200000)
  --count-1m N     requests per 1 MiB row (default 3000)
  --runs N         measure each row N times per target, alternating, report the best (default 1)
  --size S         LU size, qemu-img style suffix, a whole number of MiB (default 2G)
  --dir DIR        a new or empty directory for the backing data, removed afterwards
                   (default: a new directory under /var/tmp)
  --only LIST      targets to run, comma-separated: tgt, tessera (single node), cluster
                   (tessera up --nodes N, one process), processes (N tessera node
                   processes on etcd) (default: all four)
  --nodes N        node count of both clusters, 6..64 (default 6)
  --read-node I    cluster node whose portal serves the read rows, 1..N (default 5);
                   writes always go through node 1
  --no-prefill     skip writing the measured region once before measuring (then the
                   write rows include first-allocation cost of every store)
  --keep           keep DIR afterwards
Environment: TESSERA_BIN (a tessera executable or tessera.dll; default ./tessera).
Defaults take roughly 3 minutes for the four targets on 2 cores (--runs 2: about 4).
EOF
}

die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

COUNT_4K=200000 COUNT_1M=3000 RUNS=1 SIZE=2G DIR="" ONLY="tgt,tessera,cluster,processes" KEEP=0 PREFILL=1
NODES=6 READ_NODE=5
while [ $# -gt 0 ]; do
    case $1 in
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
        --count-4k|--count-1m|--runs|--size|--dir|--only|--nodes|--read-node)
            [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
            case $1 in
                --count-4k) COUNT_4K=$2 ;; --count-1m) COUNT_1M=$2 ;; --runs) RUNS=$2 ;;
                --size) SIZE=$2 ;; --dir) DIR=$2 ;; --only) ONLY=$2 ;;
                --nodes) NODES=$2 ;; --read-node) READ_NODE=$2 ;;
            esac
            shift 2 ;;
        --keep) KEEP=1; shift ;;
        --no-prefill) PREFILL=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'run.sh: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
done

for opt in "--count-4k:$COUNT_4K" "--count-1m:$COUNT_1M" "--runs:$RUNS" "--nodes:$NODES" "--read-node:$READ_NODE"; do
    [[ ${opt#*:} =~ ^[1-9][0-9]{0,8}$ ]] || die "${opt%%:*} must be a positive integer, not '${opt#*:}'"
done
[ "$NODES" -ge 6 ] && [ "$NODES" -le 64 ] ||
    die "--nodes must be 6..64 (4 data + 2 parity columns need 6 nodes), not $NODES"
[ "$READ_NODE" -le "$NODES" ] || die "--read-node $READ_NODE is not a node of the $NODES-node cluster (1..$NODES)"

RUN_TGT=0 RUN_TESSERA=0 RUN_CLUSTER=0 RUN_PROCESSES=0
IFS=',' read -ra only_list <<<"$ONLY"
[ "${#only_list[@]}" -gt 0 ] || die "--only needs at least one of tgt, tessera, cluster, processes"
for t in "${only_list[@]}"; do
    case $t in
        tgt) RUN_TGT=1 ;; tessera) RUN_TESSERA=1 ;; cluster) RUN_CLUSTER=1 ;; processes) RUN_PROCESSES=1 ;;
        *) die "--only takes tgt, tessera, cluster or processes (comma-separated), not '$t'" ;;
    esac
done

size_text=${SIZE%B}; size_text=${size_text%i}            # accept 2G, 2GB and 2GiB alike (binary)
SIZE_BYTES=$(numfmt --from=iec "$size_text" 2>/dev/null) ||
    die "--size: cannot read '$SIZE' (use e.g. 2G, 512M or 2GiB)"
[ "$SIZE_BYTES" -ge 1048576 ] && [ $((SIZE_BYTES % 1048576)) -eq 0 ] ||
    die "--size must be a whole number of MiB, at least 1M, not '$SIZE' ($SIZE_BYTES bytes)"

if [ "$RUN_TGT" -eq 1 ]; then
    [ "$(id -u)" -eq 0 ] || die "tgt needs root (tgtd): run with sudo, or --only tessera,cluster"
    command -v tgtd >/dev/null && command -v tgtadm >/dev/null || die "tgtd/tgtadm not found (apt-get install tgt)"
fi
command -v qemu-img >/dev/null || die "qemu-img not found (apt-get install qemu-utils qemu-block-extra)"
if [ "$RUN_PROCESSES" -eq 1 ]; then
    ETCD=${ETCD:-$(command -v etcd || true)}
    [ -n "$ETCD" ] && [ -x "$ETCD" ] || die "etcd not found (apt-get install etcd-server, or ETCD=/path/to/etcd)"
    command -v curl >/dev/null || die "curl not found (apt-get install curl): it checks etcd's health"
fi

# A user-given --dir is removed at exit, so it must not hold anything else.
if [ -n "$DIR" ]; then
    if [ -e "$DIR" ]; then
        [ -d "$DIR" ] || die "--dir $DIR exists and is not a directory"
        [ -z "$(ls -A "$DIR")" ] || die "--dir $DIR is not empty (it is removed afterwards unless --keep): give a new or empty directory"
    fi
    mkdir -p "$DIR" || die "--dir $DIR cannot be created"
else
    DIR=$(mktemp -d /var/tmp/tessera-bench.XXXXXX)
fi

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
IQN=iqn.2024-01.dev.tessera.bench:tgt
TGT_PID="" TESSERA_PID="" CLUSTER_PID="" TGT_CONTROL="" MEASURE_PID="" ETCD_PID=""
NODE_PIDS=()
# A `./tessera` that has to build first leaves no MSBuild nodes or compiler servers behind.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false

log() { printf '%s\n' "$*" >&2; }
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE=$(load_average)

is_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_ports N -> the first of N consecutive ports nobody listens on
free_ports() {
    local base i
    for _ in $(seq 200); do
        base=$((20000 + RANDOM % 20000))
        for ((i = 0; i < $1; i++)); do is_listening $((base + i)) && continue 2; done
        echo "$base"; return
    done
    log "no $1 free consecutive ports"; exit 1
}

wait_port() { # port seconds
    for _ in $(seq $(($2 * 10))); do
        is_listening "$1" && return 0
        sleep 0.1
    done
    return 1
}

# stop_group PID SECONDS: SIGTERM to the process group PID leads (a tessera up, with whatever
# `./tessera` may still be building), SIGKILL if it has not ended after SECONDS.
stop_group() {
    local pid=$1
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop within $2 s; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    if [ -n "$MEASURE_PID" ]; then
        kill -TERM -- "-$MEASURE_PID" 2>/dev/null || kill -TERM "$MEASURE_PID" 2>/dev/null || true
        wait "$MEASURE_PID" 2>/dev/null || true
    fi
    # Volumes flush on SIGTERM; give them time.
    [ -n "$TESSERA_PID" ] && stop_group "$TESSERA_PID" 120
    [ -n "$CLUSTER_PID" ] && stop_group "$CLUSTER_PID" 120
    # Node processes all at once (each flushes on SIGTERM), then their metadata store.
    local pid
    for pid in "${NODE_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${NODE_PIDS[@]}"; do stop_group "$pid" 120; done
    [ -n "$ETCD_PID" ] && stop_group "$ETCD_PID" 30
    # tgtd ignores SIGTERM.
    [ -n "$TGT_PID" ] && { kill -KILL "$TGT_PID" 2>/dev/null; wait "$TGT_PID" 2>/dev/null || true; }
    [ -n "$TGT_CONTROL" ] && rm -f "/var/run/tgtd/socket.$TGT_CONTROL" "/var/run/tgtd/socket.$TGT_CONTROL.lock"
    if [ "$KEEP" -eq 0 ]; then rm -rf "$DIR"; else log "kept $DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_tgt() {
    local port; port=$(free_ports 1)
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
    TGT_W_URL="iscsi://127.0.0.1:$port/$IQN/1"
    TGT_R_URL=$TGT_W_URL
    log "tgt      $TGT_W_URL (backing file $DIR/tgt.img)"
}

TESSERA_LAUNCHER=()
if [ -n "${TESSERA_BIN:-}" ]; then
    case $TESSERA_BIN in *.dll) TESSERA_LAUNCHER=(dotnet "$TESSERA_BIN") ;; *) TESSERA_LAUNCHER=("$TESSERA_BIN") ;; esac
    export DOTNET_TieredPGO=1                       # as ./tessera runs it
else
    TESSERA_LAUNCHER=("$ROOT/tessera")
fi

# start_up NAME NODES -> UP_PID, UP_PORT (node 1's portal; node i's is UP_PORT+i-1)
start_up() {
    local name=$1 nodes=$2 port url=""
    port=$(free_ports "$nodes")
    # Its own session and process group, so cleanup can stop it together with a build ./tessera runs
    # first. (A background job of a script is no group leader, so setsid does not fork: $! is it.)
    setsid "${TESSERA_LAUNCHER[@]}" up --data "$DIR/$name" --portal "127.0.0.1:$port" --size "$SIZE_BYTES" \
        --nodes "$nodes" >"$DIR/$name.log" 2>&1 </dev/null &
    UP_PID=$! UP_PORT=$port
    # The wrapper may build first; give it time. The hints are printed once every portal listens.
    for _ in $(seq 3000); do
        url=$(grep -so "iscsi://127\.0\.0\.1:$port/[^[:space:]/]*/0" "$DIR/$name.log" | head -n 1 || true)
        [ -n "$url" ] && break
        kill -0 "$UP_PID" 2>/dev/null || { log "tessera up ($name) exited:"; cat "$DIR/$name.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$url" ] || { log "tessera up ($name) printed no URL:"; cat "$DIR/$name.log" >&2; exit 1; }
    UP_IQN_PATH=${url#iscsi://127.0.0.1:$port/}
    local i
    for ((i = 0; i < nodes; i++)); do
        wait_port $((port + i)) 30 || { log "tessera ($name) does not listen on $((port + i)):"; cat "$DIR/$name.log" >&2; exit 1; }
    done
}

start_tessera() {
    start_up tessera 1
    TESSERA_PID=$UP_PID
    TESSERA_W_URL="iscsi://127.0.0.1:$UP_PORT/$UP_IQN_PATH"
    TESSERA_R_URL=$TESSERA_W_URL
    log "tessera  $TESSERA_W_URL (single node, data $DIR/tessera)"
}

start_cluster() {
    start_up cluster "$NODES"
    CLUSTER_PID=$UP_PID
    CLUSTER_W_URL="iscsi://127.0.0.1:$UP_PORT/$UP_IQN_PATH"
    CLUSTER_R_URL="iscsi://127.0.0.1:$((UP_PORT + READ_NODE - 1))/$UP_IQN_PATH"
    log "cluster  writes $CLUSTER_W_URL (node 1), reads $CLUSTER_R_URL (node $READ_NODE); $NODES nodes, 4+2, data $DIR/cluster"
}

# wait_line FILE PATTERN SECONDS PID WHAT: until FILE has a line matching PATTERN (grep -E)
wait_line() {
    local file=$1 pattern=$2 seconds=$3 pid=$4 what=$5
    for _ in $(seq $((seconds * 10))); do
        grep -sqE "$pattern" "$file" && return 0
        kill -0 "$pid" 2>/dev/null || { log "$what exited:"; tail -n 40 "$file" >&2; exit 1; }
        sleep 0.1
    done
    log "$what did not print /$pattern/ within $seconds s:"; tail -n 40 "$file" >&2; exit 1
}

# The production shape: one etcd on loopback, then `tessera node` 1..N (node 1 first, so a
# `./tessera` that builds does so once), then the volume, created through etcd; served once every
# node prints its URL on its own portal.
start_processes() {
    local client peer_url portal peer i url=""
    client=$(free_ports 2)
    ETCD_URL="http://127.0.0.1:$client" peer_url="http://127.0.0.1:$((client + 1))"
    mkdir -p "$DIR/processes"
    setsid "$ETCD" --name bench --data-dir "$DIR/processes/etcd" \
        --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
        --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
        --initial-cluster "bench=$peer_url" --logger zap --log-level warn \
        >"$DIR/processes/etcd.log" 2>&1 </dev/null &
    ETCD_PID=$!
    for _ in $(seq 300); do
        curl -sf "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"' && break
        kill -0 "$ETCD_PID" 2>/dev/null || { log "etcd exited:"; cat "$DIR/processes/etcd.log" >&2; exit 1; }
        sleep 0.1
    done
    curl -sf "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"' || { log "etcd is not healthy after 30 s"; exit 1; }
    portal=$(free_ports "$NODES") peer=$(free_ports "$NODES")
    # N runtimes on this machine's few cores: a .NET thread pool worker spins (sched_yield) before it
    # sleeps, and N processes' spinners take the CPU from each other's real work — measured here,
    # 4 KiB write 6.8k -> 9.3k IOPS and 1 MiB write 344 -> 445 MB/s without spinning. One node per
    # machine keeps the default.
    for ((i = 1; i <= NODES; i++)); do
        DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 \
        setsid "${TESSERA_LAUNCHER[@]}" node --etcd "$ETCD_URL" --id "$i" --nodes "$NODES" \
            --portal "127.0.0.1:$((portal + i - 1))" --peer "127.0.0.1:$((peer + i - 1))" \
            --data "$DIR/processes/node-$i" >"$DIR/processes/node-$i.log" 2>&1 </dev/null &
        NODE_PIDS+=($!)
        [ "$i" -eq 1 ] && wait_line "$DIR/processes/node-1.log" "node 1 up\b" 300 "${NODE_PIDS[0]}" "tessera node 1"
    done
    for ((i = 1; i <= NODES; i++)); do
        wait_line "$DIR/processes/node-$i.log" "node $i up\b" 60 "${NODE_PIDS[i - 1]}" "tessera node $i"
    done
    "${TESSERA_LAUNCHER[@]}" volume create vol0 --size "$SIZE_BYTES" --etcd "$ETCD_URL" >"$DIR/processes/volume.log" 2>&1 ||
        { log "tessera volume create --etcd failed:"; cat "$DIR/processes/volume.log" >&2; exit 1; }
    for ((i = 1; i <= NODES; i++)); do
        wait_line "$DIR/processes/node-$i.log" "iscsi://127\.0\.0\.1:$((portal + i - 1))/[^[:space:]/]+/0[[:space:]]" 120 \
            "${NODE_PIDS[i - 1]}" "tessera node $i"
        wait_port $((portal + i - 1)) 30 || { log "tessera node $i does not listen"; exit 1; }
    done
    url=$(grep -soE "iscsi://127\.0\.0\.1:$portal/[^[:space:]/]+/0" "$DIR/processes/node-1.log" | head -n 1)
    PROCESSES_W_URL=$url
    PROCESSES_R_URL="iscsi://127.0.0.1:$((portal + READ_NODE - 1))/${url#iscsi://127.0.0.1:$portal/}"
    log "processes writes $PROCESSES_W_URL (node 1), reads $PROCESSES_R_URL (node $READ_NODE); $NODES tessera node processes on etcd $ETCD_URL, 4+2, data $DIR/processes"
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

[ "$RUN_TGT" -eq 1 ] && start_tgt
[ "$RUN_TESSERA" -eq 1 ] && start_tessera
[ "$RUN_CLUSTER" -eq 1 ] && start_cluster
[ "$RUN_PROCESSES" -eq 1 ] && start_processes

# Targets in measuring order: name|write URL|read URL.
TARGETS=()
[ -n "$TGT_PID" ] && TARGETS+=("tgt|$TGT_W_URL|$TGT_R_URL")
[ -n "$TESSERA_PID" ] && TARGETS+=("tessera|$TESSERA_W_URL|$TESSERA_R_URL")
[ -n "$CLUSTER_PID" ] && TARGETS+=("cluster|$CLUSTER_W_URL|$CLUSTER_R_URL")
[ "${#NODE_PIDS[@]}" -gt 0 ] && TARGETS+=("processes|$PROCESSES_W_URL|$PROCESSES_R_URL")

# name|count|depth|size|write|Ceph reference: unit (iops or mbps) and value
# Ceph 16, erasure-coded 4+2 pool served by tgt's rbd backing store, measured on this machine
# (issue 5); its 1 MiB write is given as 90-150 MB/s, the upper end is used.
ROWS=(
    "4 KiB QD32 write|$COUNT_4K|32|4096|1|iops|1400"
    "4 KiB QD32 read|$COUNT_4K|32|4096|0|iops|2200"
    "1 MiB QD8 write|$COUNT_1M|8|1048576|1|mbps|150"
    "1 MiB QD8 read|$COUNT_1M|8|1048576|0|mbps|440"
)

fmt() { # count size seconds -> "IOPS | MB/s"
    awk -v c="$1" -v s="$2" -v t="$3" 'BEGIN {
        if (t == "" || t == "nan" || t <= 0) { printf "n/a | n/a"; exit }
        printf "%.0f | %.0f", c / t, c * s / t / 1e6 }'
}

ratio() { # seconds-of-reference seconds-of-cluster -> reference time / cluster time
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "nan" || b == "nan" || b <= 0) printf "n/a"; else printf "%.2f", a / b }'
}

# ceph_ratio count size seconds unit value -> the measured rate / Ceph's ("n/a" when not measured)
ceph_ratio() {
    awk -v c="$1" -v s="$2" -v t="$3" -v unit="$4" -v ref="$5" 'BEGIN {
        if (t == "" || t == "nan" || t <= 0) { printf "n/a"; exit }
        printf "%.1f", (unit == "iops" ? c / t / ref : c * s / t / 1e6 / ref) }'
}

# goals label ceph-ratio unit single-seconds cluster-seconds size -> "label: ≥N× Ceph met[; within 2× of single: met]"
goals() {
    awk -v label="$1" -v r="$2" -v unit="$3" -v a="$4" -v b="$5" -v size="$6" 'BEGIN {
        goal = unit == "iops" ? 10 : 2
        if (r == "n/a") { printf "%s: n/a", label; exit }
        printf "%s: ≥%d× Ceph %s", label, goal, (r >= goal ? "met" : "**missed**")
        if (size == 1048576) {
            if (a == "" || b == "" || a == "nan" || b == "nan" || b <= 0) printf ", within 2× of single n/a"
            else printf ", within 2× of single %s", (a / b >= 0.5 ? "met" : "**missed**")
        } }'
}

# measure: prefill, then the markdown table on stdout (progress on stderr).
measure() {
    # Steady state, not first touch: write the region the rows use once, untimed, on every target.
    if [ "$PREFILL" -eq 1 ]; then
        region=$(( COUNT_4K * 4096 > COUNT_1M * 1048576 ? COUNT_4K * 4096 : COUNT_1M * 1048576 ))
        [ "$region" -gt "$SIZE_BYTES" ] && region=$SIZE_BYTES
        for t in "${TARGETS[@]}"; do
            IFS='|' read -r name w_url _ <<<"$t"
            qemu-img bench -f raw -t none -w -d 8 -s 1M -c $(( (region + 1048575) / 1048576 )) "$w_url" >/dev/null ||
                { log "prefill of $name ($w_url) failed"; exit 1; }
        done
        log "prefilled $((region >> 20)) MiB on each target"
    fi

    echo "| row | tgt IOPS | tgt MB/s | single IOPS | single MB/s | cluster IOPS | cluster MB/s | processes IOPS | processes MB/s" \
         "| cluster/tgt | cluster/single | cluster/Ceph | processes/tgt | processes/single | processes/Ceph | Ceph 4+2 | goals |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name count depth size write unit ref <<<"$row"
        # Alternate the targets run by run, so all see the same background load; keep the best.
        declare -A best=([tgt]="" [tessera]="" [cluster]="" [processes]="")
        for _ in $(seq "$RUNS"); do
            for t in "${TARGETS[@]}"; do
                IFS='|' read -r target w_url r_url <<<"$t"
                url=$([ "$write" -eq 1 ] && echo "$w_url" || echo "$r_url")
                best[$target]=$(min_time "${best[$target]}" "$(bench "$url" "$count" "$depth" "$size" "$write")")
            done
        done
        line="| $name"
        for target in tgt tessera cluster processes; do line+=" | $(fmt "$count" "$size" "${best[$target]}")"; done
        verdicts=()
        for target in cluster processes; do
            r=$(ceph_ratio "$count" "$size" "${best[$target]}" "$unit" "$ref")
            line+=" | $(ratio "${best[tgt]}" "${best[$target]}") | $(ratio "${best[tessera]}" "${best[$target]}") | $r"
            if [ -n "${best[$target]}" ]; then
                verdicts+=("$(goals "$target" "$r" "$unit" "${best[tessera]}" "${best[$target]}" "$size")")
            fi
        done
        label=$([ "$unit" = iops ] && awk -v r="$ref" 'BEGIN { printf "%.1fk IOPS", r / 1000 }' || echo "$ref MB/s")
        echo "$line | $label | $(IFS=';'; echo "${verdicts[*]}" | sed 's/;/; /g') |"
        log "done: $name"
    done
}

# Measured as a job of its own process group (monitor mode), so a signal to this script stops at
# once: bash runs a trap only after its foreground command, and `wait` is interruptible, while
# cleanup can end the job together with its qemu-img.
set -m
measure >"$DIR/table.md" &
MEASURE_PID=$!
set +m
wait "$MEASURE_PID" || { log "measuring failed"; exit 1; }
MEASURE_PID=""

if [ -n "${TESSERA_BIN:-}" ]; then tessera_from="TESSERA_BIN=$TESSERA_BIN"
else tessera_from="./tessera at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"; fi
echo "qemu-img bench -f raw -t none; ${COUNT_4K} x 4 KiB, ${COUNT_1M} x 1 MiB requests, best of $RUNS per row and target," \
     "targets alternating; $([ "$PREFILL" -eq 1 ] && echo "region prefilled;" || echo "no prefill;")" \
     "LU $SIZE in $DIR ($(df --output=fstype "$DIR" | tail -n 1)); $(nproc) cores; $(uname -r);" \
     "$(qemu-img --version | head -n 1); tgt $(tgtd --version 2>/dev/null | head -n 1 || echo '?'); Tessera $tessera_from"
echo
echo "single = tessera up --nodes 1; cluster = tessera up --nodes $NODES (one process, every LU 4+2 double parity" \
     "over all $NODES nodes, direct calls between nodes); processes = $NODES tessera node processes on one etcd (the same" \
     "volume shape, inter-node traffic over loopback TCP, thread-pool spinning off as N processes share the cores). Both clusters: write rows through node 1's portal, read" \
     "rows through node $READ_NODE's portal (any node serves any LBA). Ceph 4+2 = issue 5's reference (Ceph 16, EC 4+2 pool via tgt rbd, this machine;" \
     "1 MiB write 90-150 MB/s, 150 used). Goals: cluster ≥ 10× Ceph on 4 KiB rows, ≥ 2× on 1 MiB rows," \
     "cluster 1 MiB rows within 2× of the single node."
echo "load average before: $LOAD_BEFORE; after: $(load_average)"
echo
cat "$DIR/table.md"
