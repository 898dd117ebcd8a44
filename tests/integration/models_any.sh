#!/usr/bin/env bash
# Profiles for any model (issue 11): a model outside the reference zoo runs
# from a profile given with --models or a --profiles-dir store, in simulate,
# sweep and deploy; a later file's section replaces a zoo model's profile; a
# trace job naming a model without a profile is a file:line error unless
# --unknown-model reference runs it as alexnet. Expected JCTs are computed by
# hand: a static trace's first round starts at t=1, rounds are 300 s, and a
# job runs floor(300 / iter_time) iterations a round.
# usage: models_any.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { echo "FAIL $1"; fail=$((fail+1)); }

cat > "$tmp/my.ini" <<INI
; one model outside the zoo: 1 s per iteration at the fair share
[mymodel:1]
cpus = 3
mem = 62.5
speedup = 1
iter_time = 1
INI
# mymodel: 700 iterations = 3 rounds -> JCT 901 s; as alexnet (0.6 s) 2 rounds -> 601 s
# res18 (0.64 s, 468 a round): 1500 iterations = 4 rounds -> JCT 1201 s
printf '0,mymodel,0,700,1\n1,res18,0,1500,1\n' > "$tmp/t"

jcts() { # simulate args... -> "id:jct id:jct"
    "$bin" simulate --trace "$tmp/t" --static --jobs-csv "$tmp/j.csv" "$@" > /dev/null &&
        awk -F, 'NR > 1 {printf "%s%s:%s", (NR > 2 ? " " : ""), $3, $9}' "$tmp/j.csv"
}
[ "$(jcts --models "$tmp/my.ini")" = "0:901 1:1201" ] && ok || no "--models: $(jcts --models "$tmp/my.ini")"
mkdir -p "$tmp/store"
cp "$tmp/my.ini" "$tmp/store/mymodel.ini"
echo "not a profile" > "$tmp/store/README"
[ "$(jcts --profiles-dir "$tmp/store")" = "0:901 1:1201" ] && ok || no "--profiles-dir"
[ "$(jcts --models "$tmp/store")" = "0:901 1:1201" ] && ok || no "--models DIR"
# a later file replaces res18's profile: 1 s per iteration -> 5 rounds -> 1501 s
cat > "$tmp/res18.ini" <<INI
[res18:1]
cpus = 3
mem = 62.5
speedup = 1
iter_time = 1
INI
[ "$(jcts --models "$tmp/my.ini" --models "$tmp/res18.ini")" = "0:901 1:1501" ] && ok ||
    no "override res18"
# no profile: file:line error, exit 2, one line
err=$("$bin" simulate --trace "$tmp/t" --static 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
    [[ $err == *"$tmp/t:1: model: 'mymodel' has no profile"* ]] && ok || no "unknown model: rc $rc: $err"
[ "$(jcts --unknown-model reference)" = "0:601 1:1201" ] && ok || no "--unknown-model reference"
"$bin" simulate --trace "$tmp/t" --unknown-model alexnet > /dev/null 2>&1; [ $? -eq 2 ] && ok ||
    no "--unknown-model alexnet accepted"
# sweep takes the same options: mean JCT (901 + 1201) / 2 s = 0.292 h
out=$("$bin" sweep --trace "$tmp/t" --static --models "$tmp/my.ini" --policy FIFO --mode fair \
      --db "$tmp/s.db" 2>&1)
[[ $out == *" 0.292 "* ]] && ok || no "sweep --models: $out"
err=$("$bin" sweep --trace "$tmp/t" --static --policy FIFO --mode fair --db "$tmp/s2.db" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $err == *"$tmp/t:1: model: 'mymodel' has no profile"* ]] && ok || no "sweep unknown: $err"
# deploy: the same check before anything starts
err=$(timeout 20 "$bin" deploy --trace "$tmp/t" --static --local 1 --run-dir "$tmp/run" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $err == *"$tmp/t:1: model: 'mymodel' has no profile"* ]] && ok || no "deploy unknown: rc $rc $err"
# a profile missing a key the simulator needs
printf '[bad:1]\ncpus = 3\nmem = 62.5\n' > "$tmp/bad.ini"
err=$("$bin" simulate --trace "$tmp/t" --models "$tmp/bad.ini" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ $err == *"bad.ini:2: [bad:1] needs cpus, mem, speedup and iter_time"* ]] && ok ||
    no "incomplete profile: $err"
printf '[my:1]\ncpus = 3\nmem = 62.5\nspeedup = 1\niter_time = 1\nstartup_s = soon\n' > "$tmp/bad2.ini"
err=$("$bin" simulate --trace "$tmp/t" --models "$tmp/bad2.ini" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ $err == *"bad2.ini:6: startup_s: 'soon' is not a non-negative number"* ]] && ok ||
    no "bad startup_s: $err"
echo "models: $pass passed, $fail failed"
[ $fail -eq 0 ]
