# Shared helpers for the CLI tests: TAP output and temporary folders.
# Use: . "$LETHE_TOP/tests/cli/lib.sh"; then check "name" COMMAND...; done_testing
: "${LETHE:?LETHE must name the lethe binary (tests/run.sh sets it)}"
tap_n=0
tap_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lethe-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=1; echo "not ok $tap_n - $1"; }
# check NAME COMMAND...: ok when the command exits 0
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# expect_status NAME STATUS COMMAND...: runs COMMAND, output in $TMP/out and $TMP/err
expect_status() {
    name=$1 want=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"; got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else
        not_ok "$name (exit $got, want $want)"; sed 's/^/# /' "$TMP/err" | head -5; fi
}
# has FILE TEXT: FILE contains the fixed string TEXT
has() { grep -qF -- "$2" "$1" || { echo "# '$1' lacks: $2"; sed 's/^/#   /' "$1" | head -5; return 1; }; }
done_testing() { echo "1..$tap_n"; exit $tap_failed; }
