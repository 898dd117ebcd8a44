#!/usr/bin/env bash
# `make test-torch` (issue 11): examples/pytorch/train.py, a real PyTorch job,
# under `deploy --local 1` with LAS on one simulated GPU, sharing it with a
# stand-in job. Rounds of 30 s at time scale 1 and a budget of 30 steps a
# round (the profile's iter_time = 1 s) make the 100-step torch job need four
# rounds in three leases: LAS alternates the two jobs (plan: torch, stand-in,
# stand-in, torch, torch, stand-in, stand-in, torch), so it is preempted twice.
# Checks: both jobs finish (executed == total), the torch job ran at least
# three attempts, each resumed attempt restored the checkpoint (same step as
# the scheduler's count, same evaluation loss), and its final loss is below
# its first. About 4 minutes.
# usage: torch_example.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { echo "FAIL $1"; fail=$((fail+1)); }
py=/usr/bin/python3
if ! $py -c 'import torch, grpc, google.protobuf' 2> /dev/null; then
    echo "installing python3-torch python3-grpcio python3-protobuf"
    bash "$src/scripts/install-deps.sh" python3-torch > /dev/null ||
        { echo "FAIL cannot install python3-torch"; exit 1; }
fi
printf '[torchcnn:1]\ncpus = 3\nmem = 62.5\nspeedup = 1\niter_time = 1\n' > "$tmp/models.ini"
printf '[CLUSTER]\nservers_per_rack = 1\ngpus_per_server = 1\ncpus_per_server = 3\ndram_per_server = 100\n' > "$tmp/c.ini"
printf '0,torchcnn,0,100,1\n1,res18,0,150,1\n' > "$tmp/t"
cat > "$tmp/catalog.ini" <<INI
[torchcnn]
argv = $py $src/examples/pytorch/train.py --chk-dir {chk_dir} --log-every 10
[res18]
argv = {synergy} job --job-id {job_id} --sched {sched_addr}:{sched_port} --chk-dir {chk_dir}
INI
run=(--trace "$tmp/t" --cluster "$tmp/c.ini" --models "$tmp/models.ini" --static --policy LAS
     --mode fair --round-duration 30)
"$bin" simulate "${run[@]}" --plan-log "$tmp/sim.plan" > /dev/null
timeout 600 "$bin" deploy "${run[@]}" --local 1 --time-scale 1 --catalog "$tmp/catalog.ini" \
    --run-dir "$tmp/run" --plan-log "$tmp/dep.plan" --json > "$tmp/dep.json" 2> "$tmp/dep.err" ||
    { echo "deploy failed:"; tail -20 "$tmp/dep.err"; exit 1; }
cat "$tmp/dep.json"
grep -q '"jobs_finished":2,' "$tmp/dep.json" && grep -q '"jobs_failed":0,' "$tmp/dep.json" && ok ||
    no "not every job finished"
diff <(grep -v '^finish' "$tmp/sim.plan") <(grep -v '^finish' "$tmp/dep.plan") > /dev/null && ok ||
    no "the deployment planned differently from simulate: $(cat "$tmp/dep.plan")"
files=$(ls "$tmp"/run/worker-0/logs/job-0-attempt-*.log 2> /dev/null | sort -V) # attempt 10 after 9
n=$(wc -w <<< "$files")
[ "$n" -ge 3 ] && { echo "torch job: $n attempts ($((n - 1)) preemptions)"; ok; } ||
    no "torch job: $n attempts, want 3 or more (preempted twice)"
prev_ck= first_loss= last=
for f in $files; do
    line=$(grep -E '^(start|resume) ' "$f" | head -1)
    [ -n "$line" ] || { no "$(basename "$f"): no start line: $(tail -3 "$f")"; continue; }
    grep '^ready after' "$f"
    step=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$line")
    elapsed=$(sed -n 's/.* elapsed=\([0-9]*\) .*/\1/p' <<< "$line")
    loss=$(sed -n 's/.* loss=\(.*\)$/\1/p' <<< "$line")
    [ -z "$first_loss" ] && first_loss=$loss
    if [ -n "$prev_ck" ]; then
        ck_step=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$prev_ck")
        ck_loss=$(sed -n 's/.* loss=\(.*\)$/\1/p' <<< "$prev_ck")
        [[ $line == resume* ]] && [ "$step" = "$ck_step" ] && [ "$elapsed" = "$step" ] &&
            [ "$loss" = "$ck_loss" ] &&
            { echo "$(basename "$f"): resumed at step $step with loss $loss, as checkpointed"; ok; } ||
            no "$(basename "$f"): '$line' does not continue from '$prev_ck'"
    fi
    prev_ck=$(grep '^checkpoint ' "$f" | tail -1)
    last=$f
done
fin=$(grep '^final ' "$last" 2> /dev/null)
fstep=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$fin")
floss=$(sed -n 's/.* loss=\(.*\)$/\1/p' <<< "$fin")
[ "$fstep" = 100 ] && ok || no "final step '$fstep', want 100 (executed == total)"
echo "torch job: loss $first_loss at the start, $floss at the end"
awk -v a="$floss" -v b="$first_loss" 'BEGIN {exit !(a + 0 < b + 0)}' && ok || no "the loss did not go down"
echo "torch example: $pass passed, $fail failed"
[ $fail -eq 0 ]
