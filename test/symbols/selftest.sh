#!/bin/sh
# Pins check-exports.sh itself: with what a coverage or sanitizer build adds
# to the exports it still passes, and an extra or a lost symbol still fails.
# Each case runs it with a stand-in nm that edits the real nm's output.
# usage: selftest.sh NM LIBRARY LIST      (output: TAP)
set -u
nm=$1 lib=$2 list=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# case NAME WANT(pass|fail) AWK-PROGRAM: the stand-in nm pipes the real
# output through the program.
case_() {
    n=$((n + 1))
    printf '#!/bin/sh\n"%s" "$@" | awk '\''%s'\''\n' "$nm" "$3" >"$tmp/nm"
    chmod +x "$tmp/nm"
    if sh "$here/check-exports.sh" "$tmp/nm" "$lib" "$list" >"$tmp/out" 2>&1; then
        got=pass
    else
        got=fail
    fi
    if [ "$got" = "$2" ]; then
        echo "ok $n - $1"
    else
        sed 's/^/# /' "$tmp/out"
        echo "not ok $n - $1 (check-exports.sh: $got, want $2)"
        failed=1
    fi
}

echo "1..5"
case_ "the library as built" pass '{ print }'
case_ "gcov, LLVM profile and sanitizer symbols are left out" pass '{ print }
END {
    print "0000000000025f80 B __gcov_error_file"
    print "0000000000022210 D __gcov_master"
    print "0000000000017b30 T mangle_path"
    print "0000000000017c30 T gcov_write"
    print "0000000000017d30 T __llvm_profile_runtime"
    print "00000000000242a4 V lprofDirMode"
    print "0000000000027ce0 B reset_fn_list"
    print "0000000000027cc8 B writeout_fn_list"
    print "0000000000017e30 T __asan_default_options"
    print "0000000000017f30 T __ubsan_default_options"
    print "0000000000001000 T _init"
    print "0000000000002000 T _fini"
}'
case_ "an arc symbol not in the list fails" fail '{ print }
END { print "0000000000017b30 T arc__internal_helper" }'
case_ "any other symbol not in the list fails" fail '{ print }
END { print "0000000000017b30 T helper" }'
case_ "a listed symbol that is missing fails" fail '$3 != "arc_connect" { print }'
exit $failed
