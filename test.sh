#!/usr/bin/env bash
# Runs every Tessera test suite: the unit tests of each tests/*.Tests project and the
# conformance tests (libiscsi iscsi-test-cu, qemu-img) in tests/conformance.
# On a fresh Debian 12 machine it first installs the client tools the tests drive.
# Ends with exactly one line "N passed, M failed"; exits non-zero if anything failed or a
# suite could not run (a crashed test host counts as one failed test).
set -uo pipefail

cd "$(dirname "$(readlink -f "$0")")"
ROOT=$PWD
CONFIGURATION=Release
SUITE_TIMEOUT=${TESSERA_SUITE_TIMEOUT:-35m}
# A single test that runs longer than this is killed and reported by name (vstest blame),
# so one hang costs minutes, not the CI budget.
TEST_HANG_TIMEOUT=${TESSERA_TEST_HANG_TIMEOUT:-8m}
RESULTS=$ROOT/TestResults/test.sh
APT_PACKAGES=(libiscsi-bin qemu-utils qemu-block-extra tgt etcd-server libisal2)

say() { printf '==> %s\n' "$*"; }

finish() { # passed failed
    echo "$1 passed, $2 failed"
    [ "$2" -eq 0 ]
    exit
}

install_packages() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        # "deinstall ok config-files" also answers dpkg -s; only a real install counts.
        dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing packages (${missing[*]}) and no apt-get: install them by hand; tests that need them will fail"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
            say "missing packages (${missing[*]}): run as root or install sudo"
            return 1
        fi
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

find_dotnet() {
    if command -v dotnet >/dev/null 2>&1; then
        DOTNET=$(command -v dotnet)
    elif [ -x "$HOME/.dotnet/dotnet" ]; then
        DOTNET=$HOME/.dotnet/dotnet
    else
        cat >&2 <<'EOF'
error: the .NET SDK (dotnet, version 10) is not installed or not on PATH.
  Debian 12: see https://learn.microsoft.com/dotnet/core/install/linux-debian
  or: curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --channel 10.0
      (then add ~/.dotnet to PATH)
EOF
        return 1
    fi
}

# Reads the <Counters .../> of a TRX file: prints "passed failed skipped".
trx_counts() {
    local counters
    counters=$(grep -o '<Counters [^>]*>' "$1" | head -n 1)
    [ -n "$counters" ] || return 1
    attr() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]\+' || echo 0; }
    local total executed passed failed error timeout aborted
    total=$(attr total); executed=$(attr executed); passed=$(attr passed)
    failed=$(attr failed); error=$(attr error); timeout=$(attr timeout); aborted=$(attr aborted)
    echo "$passed $((failed + error + timeout + aborted)) $((total - executed))"
}

install_packages || { say "package installation failed"; finish 0 1; }
find_dotnet || finish 0 1
say "dotnet $("$DOTNET" --version)"

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

say "restore"
"$DOTNET" restore Tessera.slnx --nologo -v q || { say "restore failed"; finish 0 1; }
say "build ($CONFIGURATION)"
"$DOTNET" build Tessera.slnx -c "$CONFIGURATION" --no-restore --nologo -v q -clp:ErrorsOnly ||
    { say "build failed"; finish 0 1; }

# The conformance tests launch the CLI that was just built.
export TESSERA_BIN=${TESSERA_BIN:-$ROOT/src/Tessera.Cli/bin/$CONFIGURATION/net10.0/tessera.dll}
export TESSERA_CONFORMANCE_REPORTS=$RESULTS/conformance

# Unit test projects first (fast, alphabetical), the conformance project last.
mapfile -t PROJECTS < <(
    for project in tests/*/*.csproj; do
        case $project in tests/conformance/*) continue ;; esac
        grep -qi '<IsTestProject>true' "$project" && echo "$project"
    done | sort
    ls tests/conformance/*.csproj 2>/dev/null
)

total_passed=0 total_failed=0 total_skipped=0
summary=()
for project in "${PROJECTS[@]}"; do
    name=$(basename "$project" .csproj)
    say "test $name"
    started=$SECONDS
    timeout --kill-after=30s "$SUITE_TIMEOUT" \
        "$DOTNET" test "$project" --no-build -c "$CONFIGURATION" --nologo \
        --results-directory "$RESULTS" --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
        --blame-hang-timeout "$TEST_HANG_TIMEOUT" --blame-hang-dump-type none
    rc=$?
    elapsed=$((SECONDS - started))

    passed=0 failed=0 skipped=0 note=""
    if [ -f "$RESULTS/$name.trx" ] && counts=$(trx_counts "$RESULTS/$name.trx"); then
        read -r passed failed skipped <<<"$counts"
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        # Non-zero exit with no failed test recorded: crash, timeout or no run at all.
        failed=1
        note=" (suite did not run to completion: exit $rc$([ "$rc" -eq 124 ] && echo ", timed out after $SUITE_TIMEOUT"))"
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    summary+=("$(printf '%-34s %5d passed %4d failed %4d skipped %5ds%s' "$name" "$passed" "$failed" "$skipped" "$elapsed" "$note")")
done

for report in "$TESSERA_CONFORMANCE_REPORTS"/*.md; do
    [ -f "$report" ] || continue
    echo
    say "conformance report $report"
    # Totals, per-suite table, failures with libiscsi's messages, per-test summary.
    cat "$report"
done

echo
say "suites (TRX files in $RESULTS)"
printf '  %s\n' "${summary[@]}"
echo "$total_skipped skipped"
finish "$total_passed" "$total_failed"
