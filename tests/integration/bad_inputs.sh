#!/usr/bin/env bash
# Bad config and trace inputs: each must give exactly one line on stderr that
# names the file (and line and field where there is one), and exit code 2.
# usage: bad_inputs.sh SYNERGY_BIN SOURCE_DIR
set -u
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cl=$src/configs/default_cluster.ini
tr=$src/traces/synergy-deploy/test_trace
pass=0 fail=0

# check NAME EXPECTED_STDERR_SUBSTRING -- synergy args...
check() {
    local name=$1 want=$2
    shift 3
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null)
    rc=$?
    local lines
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && [[ $err == *"$want"* ]]; then
        pass=$((pass+1))
    else
        echo "FAIL $name: rc=$rc lines=$lines stderr: $err (wanted: $want)"
        fail=$((fail+1))
    fi
}

mkcfg() { printf '%b' "$2" > "$tmp/$1"; }
mkcfg unknown_key.ini '[CLUSTER]\nservers_per_rack = 4\ngpu_per_server = 8\n'
mkcfg bad_number.ini '[CLUSTER]\nservers_per_rack = four\n'
mkcfg negative.ini '[CLUSTER]\ncpus_per_server = -24\n'
mkcfg section.ini '[CLUSTR]\nracks = 1\n'
mkcfg syntax.ini '[CLUSTER]\nracks\n'
mkcfg racks.ini '[CLUSTER]\nracks = 3\n'
mkcfg tiny.ini '[CLUSTER]\nservers_per_rack = 1\ngpus_per_server = 2\n'
mkcfg mode.ini '[SCHEDULER]\nmode = fastest\n'
printf '0,alexnet,0,100,1\n1,res18,5,100,-1\n' > "$tmp/neg_gpus.trace"
printf '0,alexnet,0,100,1\n\n# comment\n1,res18,zero,100,1\n' > "$tmp/bad_arrival.trace"
printf '0,alexnet,0,100,1\n1,res18,5,100,1\n0,gnmt,9,100,1\n' > "$tmp/dup.trace"
printf '0,alexnet,0,100\n' > "$tmp/short.trace"
printf '0,alexnet,0,100,1,V100,vision,7\n' > "$tmp/long.trace"
printf '0,alexnet,0,10x0,1\n' > "$tmp/iters.trace"
printf '# only a comment\n\n' > "$tmp/empty.trace"
: > "$tmp/zero.trace"
printf '0,alexnet,0,100,3\n' > "$tmp/big.trace"
printf '# two jobs\n0,alexnet,0,100,1\n1,res18,5,100,200\n' > "$tmp/big2.trace"
: > "$tmp/empty.ini"
mkcfg policy.ini '[SCHEDULER]\npolicy = FIFOO\n'
mkcfg placement.ini '[SCHEDULER]\n\nplacement = spread\n' 
printf '\x00\x01\x02garbage\n' > "$tmp/binary.trace"
sed 's/^speedup = 2.94$/speedup = fast/' "$src/configs/models.ini" > "$tmp/models.ini"

check missing_cluster "$tmp/none.ini: cannot open" -- simulate --cluster "$tmp/none.ini" --trace "$tr"
check missing_trace "$tmp/none.trace: cannot open" -- simulate --trace "$tmp/none.trace"
check unknown_key "unknown_key.ini:3: unknown key 'gpu_per_server'" -- simulate --cluster "$tmp/unknown_key.ini" --trace "$tr"
check bad_number "bad_number.ini:2: servers_per_rack: 'four' is not an integer" -- simulate --cluster "$tmp/bad_number.ini" --trace "$tr"
check negative_cpus "negative.ini:2: cpus_per_server: -24 is out of range" -- simulate --cluster "$tmp/negative.ini" --trace "$tr"
check unknown_section "section.ini:2: unknown section [CLUSTR]" -- simulate --cluster "$tmp/section.ini" --trace "$tr"
check syntax "syntax.ini:2: 'racks': expected [section] or key = value" -- simulate --cluster "$tmp/syntax.ini" --trace "$tr"
check racks "racks.ini:2: racks: 3 is out of range" -- simulate --cluster "$tmp/racks.ini" --trace "$tr"
check bad_mode_in_config "unknown mode 'fastest'" -- simulate --cluster "$tmp/mode.ini" --trace "$tr"
check negative_gpus "neg_gpus.trace:2: gpus: -1 must be at least 1" -- simulate --cluster "$cl" --trace "$tmp/neg_gpus.trace"
check bad_arrival "bad_arrival.trace:4: arrival: 'zero' is not a number" -- simulate --cluster "$cl" --trace "$tmp/bad_arrival.trace"
check duplicate_id "dup.trace:3: id: duplicate job id 0 (first on line 1)" -- simulate --cluster "$cl" --trace "$tmp/dup.trace"
check short_line "short.trace:1: expected 5 comma-separated fields" -- simulate --cluster "$cl" --trace "$tmp/short.trace"
check long_line "long.trace:1: expected 5 comma-separated fields" -- simulate --cluster "$cl" --trace "$tmp/long.trace"
check bad_iterations "iters.trace:1: iterations: '10x0' is not an integer" -- simulate --cluster "$cl" --trace "$tmp/iters.trace"
check empty_trace "empty.trace:2: trace has no jobs" -- simulate --cluster "$cl" --trace "$tmp/empty.trace"
check zero_byte_trace "zero.trace:0: trace has no jobs" -- simulate --cluster "$cl" --trace "$tmp/zero.trace"
check gpus_exceed_cluster "big.trace:1: gpus: job 0 needs 3 GPUs but $tmp/tiny.ini has 2" -- simulate --cluster "$tmp/tiny.ini" --trace "$tmp/big.trace"
# issue 13 defects: each failed before its fix
check gpus_exceed_line "big2.trace:3: gpus: job 1 needs 200 GPUs" -- simulate --trace "$tmp/big2.trace"
check cluster_is_directory "$tmp: cannot open cluster config: Is a directory" -- simulate --cluster "$tmp" --trace "$tr"
check empty_cluster "empty.ini: the cluster config has no settings" -- simulate --cluster "$tmp/empty.ini" --trace "$tr"
check policy_in_config "policy.ini:2: policy: unknown policy 'FIFOO'" -- simulate --cluster "$tmp/policy.ini" --trace "$tr"
check placement_in_config "placement.ini:3: placement: placement 'spread'" -- simulate --cluster "$tmp/placement.ini" --trace "$tr"
check vc_on_replay "--vc applies to pollux traces" -- simulate --trace "$tr" --vc ee9e8c
check multigpu_on_replay "--multigpu applies to philly traces" -- simulate --trace "$tr" --multigpu
check multigpu_on_synthetic "--multigpu applies to a trace" -- simulate --synthetic --multigpu
check opt_compat_without_opt "--opt-compat applies to the opt mode only" -- simulate --trace "$tr" --mode fair,tune --opt-compat
check opt_compat_sweep "opt_compat applies to the opt mode only" -- sweep --trace "$tr" --mode tune --opt-compat --db "$tmp/x.db"
check vc_deploy "--vc applies to pollux traces" -- deploy --trace "$tr" --local 16 --vc ee9e8c
check measure_beyond_trace "--measure 0:100: $tr has 8 of these 100 job ids" -- simulate --trace "$tr" --measure 0:100
check measure_beyond_max_jobs "--max-jobs 300 makes only ids 0..299" -- simulate --synthetic --max-jobs 300
check max_jobs_guard "--max-jobs: '100000000' must be an integer in 1..1000000" -- simulate --synthetic --max-jobs 100000000
check binary_trace "binary.trace:1: line contains a NUL byte" -- simulate --cluster "$cl" --trace "$tmp/binary.trace"
check bad_profile "models.ini:" -- simulate --cluster "$cl" --trace "$tr" --models "$tmp/models.ini"
check unknown_policy "unknown policy 'fifoo'" -- simulate --trace "$tr" --policy fifoo
check unknown_mode "unknown mode 'turbo'" -- simulate --trace "$tr" --mode turbo
check bad_measure "--measure: '9:3' must be LO:HI" -- simulate --trace "$tr" --measure 9:3
check bad_split "--split: '50,50,50'" -- simulate --synthetic --split 50,50,50
check bad_rate "--jobs-per-hour: '-1'" -- simulate --synthetic --jobs-per-hour -1
check static_synthetic "--static needs a trace" -- simulate --synthetic --static
check unknown_profiles "profile set 'models-9'" -- simulate --trace "$tr" --profiles models-9
check unknown_command "did you mean 'simulate'" -- simulat

# tenants (issue 25): the tenants file, the tenant column, --tenant-from, --tenant-mix
mkcfg tenants_key.ini '[tenant a]\ngpus = 4\nqouta = 2\n'
mkcfg tenants_ok.ini '[tenant a]\ngpus = 4\n[tenant b]\n'
printf '0,alexnet,0,100,1,,a\n# b\n1,res18,5,100,1,,c\n' > "$tmp/tenant_c.trace"
printf '0,alexnet,0,100,1,,a\n1,res18,5,100,1\n' > "$tmp/tenant_none.trace"
printf '0,alexnet,0,100,1,,a b\n' > "$tmp/tenant_name.trace"
check tenants_missing "$tmp/none.ini: cannot open tenants file" -- simulate --trace "$tr" --tenants "$tmp/none.ini"
check tenants_unknown_key "tenants_key.ini:3: unknown key 'qouta' in [tenant a]" -- simulate --trace "$tr" --tenants "$tmp/tenants_key.ini"
check tenant_not_in_file "tenant_c.trace:3: tenant: job 1's tenant 'c' is not in $tmp/tenants_ok.ini" -- simulate --trace "$tmp/tenant_c.trace" --tenants "$tmp/tenants_ok.ini"
check tenant_none "tenant_none.trace:2: tenant: job 1 has none" -- simulate --trace "$tmp/tenant_none.trace" --tenants "$tmp/tenants_ok.ini"
check tenant_column "tenant_name.trace:1: tenant: 'a b' must be 1 to 31 letters" -- simulate --trace "$tmp/tenant_name.trace"
check tenant_from_replay "--tenant-from vc applies to pollux, philly and gavel traces" -- simulate --trace "$tr" --tenant-from vc
check tenant_from_what "--tenant-from: 'user': expected vc" -- simulate --trace "$tr" --tenant-from user
check tenant_mix_sum "--tenant-mix: the percentages add up to 90, not 100" -- simulate --synthetic --tenant-mix a:50,b:40
check tenant_mix_trace "--tenant-mix applies to the synthetic workload" -- simulate --trace "$tr" --tenant-mix a:100
check tenants_proportional_untagged "--tenants proportional: job 0 has no tenant" -- simulate --trace "$tr" --tenants proportional
check tenants_synthetic_untagged "the synthetic workload's jobs have no tenant" -- simulate --synthetic --tenants "$tmp/tenants_ok.ini"
check tenants_opt "--tenants: mode opt: tenants are not supported" -- simulate --trace "$tmp/tenant_c.trace" --tenants proportional --mode opt

grep -q "speedup: 'fast' is not a non-negative number" <("$bin" simulate --trace "$tr" --models "$tmp/models.ini" 2>&1) \
    && pass=$((pass+1)) || { echo "FAIL bad_profile detail"; fail=$((fail+1)); }
echo "bad inputs: $pass passed, $fail failed"
[ $fail -eq 0 ]
