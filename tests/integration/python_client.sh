#!/usr/bin/env bash
# The Python client (issue 11, clients/python/synergy_client): a deployment
# whose jobs are real NumPy training loops (tests/python/numpy_job.py).
#  - the checked-in job_to_scheduler_pb2.py is what grpc_tools makes of proto/;
#  - standalone (no SYNERGY_* env) the loop runs from 0 to its total;
#  - LAS preemption: four 1-GPU jobs on 2 GPUs, then a 2-GPU job of two ranks
#    (one process per GPU) beside a 1-GPU job; every job finishes with
#    executed == total, and every resumed attempt's loss (on a fixed
#    evaluation set) equals the loss its previous attempt checkpointed, at the
#    step the scheduler says it resumes from; the final loss is below the first.
#  - world_size is the number of processes, not GPUs (issue 21, finding 12).
# usage: python_client.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { echo "FAIL $1"; fail=$((fail+1)); }
py=/usr/bin/python3
if ! $py -c 'import grpc, google.protobuf, numpy, grpc_tools' 2> /dev/null; then
    echo "installing python3-grpcio python3-protobuf python3-numpy python3-grpc-tools"
    bash "$src/scripts/install-deps.sh" python3-grpcio python3-protobuf python3-numpy \
        python3-grpc-tools > /dev/null || { echo "FAIL cannot install the Python packages"; exit 1; }
fi

# the generated module is current
if $py -c 'import grpc_tools' 2> /dev/null; then
    $py -m grpc_tools.protoc -I"$src/proto" --python_out="$tmp" "$src/proto/job_to_scheduler.proto"
    cmp -s "$tmp/job_to_scheduler_pb2.py" "$src/clients/python/synergy_client/job_to_scheduler_pb2.py" &&
        ok || no "clients/python/synergy_client/job_to_scheduler_pb2.py is out of date (see its README)"
else
    no "python3-grpc-tools missing: cannot check job_to_scheduler_pb2.py"
fi

# standalone: no synergy, the same script
env -i PATH=/usr/bin:/bin $py "$src/tests/python/numpy_job.py" --chk-dir "$tmp/alone" --total 50 > "$tmp/alone.log" 2>&1
grep -q '^final attempt=0 rank=0 step=50 ' "$tmp/alone.log" && ok || no "standalone: $(cat "$tmp/alone.log")"

# world_size counts processes (issue 21, finding 12): a 16-GPU job of two node
# processes is 2 (was 16, its GPUs), one process of 4 GPUs 1, a rank of run_ranks
# its launcher's WORLD_SIZE
ws() { env -i PATH=/usr/bin:/bin "$@" $py -c "import sys; sys.path.insert(0, '$src/clients/python')
import synergy_client; print(synergy_client.Job().world_size)" 2>&1; }
w=$(ws SYNERGY_JOB_GPUS=16 SYNERGY_DISTRIBUTED=1 SYNERGY_NNODES=2 SYNERGY_RANK=1 SYNERGY_WORLD_SIZE=2)
[ "$w" = 2 ] && ok || no "world_size of a 16-GPU job of 2 node processes: $w"
w=$(ws SYNERGY_JOB_GPUS=4)
[ "$w" = 1 ] && ok || no "world_size of one process of 4 GPUs: $w"
w=$(ws SYNERGY_JOB_GPUS=4 SYNERGY_WORLD_SIZE=2 WORLD_SIZE=4 RANK=3 LOCAL_RANK=1)
[ "$w" = 4 ] && ok || no "world_size of a rank of run_ranks: $w"

# a deployment under LAS with preemptions. 18 s idle; a round is 3 s and
# every attempt first starts Python, NumPy and gRPC (0.2 s of CPU), so on a machine
# loaded ten deep attempts barely step and rounds multiply (164 s once): the
# limits guard against a hang only
printf '[CLUSTER]\nservers_per_rack = 1\ngpus_per_server = 2\ncpus_per_server = 6\ndram_per_server = 125\nsspeed_per_server = 500\n' > "$tmp/c.ini"
printf '0,res18,0,1000,1\n1,res18,0,1000,1\n2,res18,0,1000,1\n3,res18,0,1000,1\n' > "$tmp/t"
printf '[res18]\nargv = %s %s/tests/python/numpy_job.py --chk-dir {chk_dir}\n' "$py" "$src" > "$tmp/catalog.ini"
timeout 300 "$bin" deploy --trace "$tmp/t" --cluster "$tmp/c.ini" --static --policy LAS --mode fair \
    --local 1 --time-scale 100 --catalog "$tmp/catalog.ini" --run-dir "$tmp/run" --json \
    > "$tmp/dep.json" 2> "$tmp/dep.err" || { echo "deploy failed:"; tail -20 "$tmp/dep.err"; exit 1; }
cat "$tmp/dep.json"
grep -q '"jobs_finished":4,' "$tmp/dep.json" && grep -q '"jobs_failed":0,' "$tmp/dep.json" && ok ||
    no "not every job finished"
logs=$tmp/run/worker-0/logs
resumed=0
for id in 0 1 2 3; do
    files=$(ls "$logs"/job-$id-attempt-*.log 2> /dev/null | sort -V) # attempt 10 after 9
    [ -n "$files" ] || { no "job $id: no logs"; continue; }
    prev_ck= first_loss= last=
    for f in $files; do
        line=$(grep -E '^(start|resume) ' "$f" | head -1)
        [ -n "$line" ] || { no "job $id: $f has no start line: $(head -3 "$f")"; continue; }
        step=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$line")
        elapsed=$(sed -n 's/.* elapsed=\([0-9]*\) .*/\1/p' <<< "$line")
        loss=$(sed -n 's/.* loss=\(.*\)$/\1/p' <<< "$line")
        [ -z "$first_loss" ] && first_loss=$loss
        if [ -n "$prev_ck" ]; then
            resumed=$((resumed+1))
            ck_step=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$prev_ck")
            ck_loss=$(sed -n 's/.* loss=\(.*\)$/\1/p' <<< "$prev_ck")
            [[ $line == resume* ]] && [ "$step" = "$ck_step" ] && [ "$loss" = "$ck_loss" ] &&
                [ "$elapsed" = "$step" ] &&
                { echo "job $id: $(basename "$f") resumes at step $step, loss $loss = checkpoint's"; ok; } ||
                no "job $id: $(basename "$f"): '$line' does not continue from '$prev_ck'"
        fi
        prev_ck=$(grep '^checkpoint ' "$f" | tail -1)
        last=$f
    done
    fin=$(grep '^final ' "$last")
    fstep=$(sed -n 's/.* step=\([0-9]*\) .*/\1/p' <<< "$fin")
    floss=$(sed -n 's/.* loss=\(.*\)$/\1/p' <<< "$fin")
    [ "$fstep" = 1000 ] && ok || no "job $id: final step '$fstep', want 1000 (executed == total)"
    awk -v a="$floss" -v b="$first_loss" 'BEGIN {exit !(a < b)}' && ok ||
        no "job $id: final loss $floss not below the first $first_loss"
done
[ $resumed -gt 0 ] && ok || no "no job was preempted and resumed"

# a 2-GPU job with two ranks (one process per GPU: catalog ranks = per-gpu,
# synergy_client.run_ranks) beside a 1-GPU job under LAS: planned in rounds
# 1, 5 and 6, it is preempted once; both ranks resume from rank 0's
# checkpoint, take the same steps and finish at the total
printf '0,res50,0,1000,2\n1,res18,0,1000,1\n' > "$tmp/t2"
{ printf '[res50]\nargv = %s %s/tests/python/numpy_job.py --ranks --chk-dir {chk_dir}\nranks = per-gpu\n' "$py" "$src"
  printf '[res18]\nargv = %s %s/tests/python/numpy_job.py --chk-dir {chk_dir}\n' "$py" "$src"; } > "$tmp/catalog2.ini"
timeout 300 "$bin" deploy --trace "$tmp/t2" --cluster "$tmp/c.ini" --static --policy LAS --mode fair \
    --local 1 --time-scale 100 --catalog "$tmp/catalog2.ini" --run-dir "$tmp/run2" --json \
    > "$tmp/dep2.json" 2> "$tmp/dep2.err" || { echo "deploy (ranks) failed:"; tail -20 "$tmp/dep2.err"; exit 1; }
cat "$tmp/dep2.json"
grep -q '"jobs_finished":2,' "$tmp/dep2.json" && grep -q '"jobs_failed":0,' "$tmp/dep2.json" && ok ||
    no "ranks: not every job finished"
files=$(ls "$tmp"/run2/worker-0/logs/job-0-attempt-*.log 2> /dev/null | sort -V) # attempt 10 after 9
[ "$(wc -w <<< "$files")" -ge 2 ] && ok || no "ranks: the 2-GPU job was not preempted ($files)"
prev_ck=
for f in $files; do
    r0=$(grep -E '^(start|resume) .* rank=0 ' "$f" | head -1)
    r1=$(grep -E '^(start|resume) .* rank=1 ' "$f" | head -1)
    [ -n "$r0" ] && [ -n "$r1" ] || { no "ranks: $(basename "$f") lacks a rank's start line"; continue; }
    [ "${r0#* step=}" = "${r1#* step=}" ] && ok || no "ranks: $(basename "$f"): ranks disagree: '$r0' / '$r1'"
    e0=$(sed -n 's/.* elapsed=\([0-9]*\) step=\([0-9]*\) .*/\1 \2/p' <<< "$r0")
    [ "${e0% *}" = "${e0#* }" ] && ok || no "ranks: $(basename "$f"): resumes at a step the scheduler did not credit: '$r0'"
    # both ranks stopped on the same step
    s0=$(sed -n 's/.*job 0 rank 0: \(lease ended\|complete\) at \([0-9]*\)$/\2/p' "$f")
    s1=$(sed -n 's/.*job 0 rank 1: \(lease ended\|complete\) at \([0-9]*\)$/\2/p' "$f")
    [ -n "$s0" ] && [ "$s0" = "$s1" ] && ok || no "ranks: $(basename "$f"): rank 0 stopped at '$s0', rank 1 at '$s1'"
    if [ -n "$prev_ck" ]; then
        [ "${r0#* step=}" = "${prev_ck#* step=}" ] &&
            { echo "2-GPU job: $(basename "$f"): both ranks resume at step ${r0#* step=}, as checkpointed"; ok; } ||
            no "ranks: $(basename "$f"): '$r0' does not continue from '$prev_ck'"
    fi
    grep -q '^warning' "$f" && no "ranks: $(basename "$f"): $(grep '^warning' "$f" | head -1)"
    prev_ck=$(grep '^checkpoint .* rank=0 ' "$f" | tail -1)
    last=$f
done
for r in 0 1; do
    grep -q "^final attempt=[0-9]* rank=$r step=1000 " "$last" && ok || no "ranks: rank $r did not reach 1000"
done
echo "python client: $resumed resumed attempts; $pass passed, $fail failed"
[ $fail -eq 0 ]
