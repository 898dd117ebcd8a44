# Issue 23's defects of the documentation, the units' examples and `make`.
# Sourced by run.sh.

# the value of VAR= in an example environment file
example_args() { sed -n "s/^$2=//p" "$src/contrib/systemd/$1"; }

# M9: the scheduler example is a service with admins, whose key comes as a credential
defect_M9() {
    local args err
    args=$(example_args scheduler.conf.example SYNERGY_SCHEDULER_ARGS)
    [ -n "$args" ] || { bad "no SYNERGY_SCHEDULER_ARGS in scheduler.conf.example"; return; }
    [[ " $args " != *" --trace "* ]] && ok || bad "the example runs a finite --trace: $args"
    [[ " $args " == *" --admins "* ]] && ok || bad "the example has no --admins: $args"
    [[ $args == *"--tls-key /run/credentials/synergy-scheduler.service/tls.key"* ]] && ok || bad "key: $args"
    grep -q '^LoadCredential=tls.key:/etc/synergy/tls/scheduler.key' "$src/contrib/systemd/synergy-scheduler.service.in" &&
        ok || bad "the unit has no LoadCredential="
    grep -q 'LoadCredential=' "$src/docs/service.md" && grep -q -- '--admins' "$src/docs/service.md" && ok ||
        bad "docs/service.md says nothing of LoadCredential= or --admins"
    # the example's options are deploy's: it fails on the missing files only
    # shellcheck disable=SC2086
    err=$("$bin" deploy --state st.db $args 2>&1 >/dev/null)
    [[ $err != *"unknown option"* && $err != *"does not apply"* && $err == *"/etc/synergy/"* ]] && ok ||
        bad "deploy with the example's arguments: $err"
    # make-certs.sh is installed next to the configs (the unit and example name it)
    grep -q 'make-certs.sh' "$src/contrib/systemd/CMakeLists.txt" "$src/src/CMakeLists.txt" "$src/CMakeLists.txt" 2>/dev/null &&
        ok || bad "make install installs no make-certs.sh"
}

# L21: the worker's unit and docs say what it does with users; its examples start
defect_L21() {
    grep -rn "never switches users" "$src/contrib" "$src/docs" "$src/README.md" && bad "still 'never switches users'" || ok
    grep -q -- "--job-user" "$src/contrib/systemd/synergy-worker@.service.in" && ok || bad "the unit's example has no --job-user"
    local f args err
    for f in "synergy-worker@.service.in" "worker.conf.example"; do
        args=$(sed -n 's/^#* *SYNERGY_WORKER_ARGS=//p' "$src/contrib/systemd/$f" | head -1)
        [ -n "$args" ] || { bad "$f: no SYNERGY_WORKER_ARGS"; continue; }
        # as root (the unit's user): it must get past the --job-user and TLS checks to the files
        # shellcheck disable=SC2086
        err=$(timeout 10 "$bin" worker --run-dir wrun $args 2>&1 >/dev/null)
        [[ $err != *"--job-user NAME"* && $err != *"give --tls-ca"* && $err != *"unknown option"* &&
           $err == *"/etc/synergy/"* ]] && ok || bad "$f: synergy worker $args: $err"
    done
}

# L25: a newcomer's README (structure: doc_examples_README, architecture_layout);
# the Python client's page says what the scheduler does now
defect_L25() {
    grep -n "will check it\|issue 10's scheduler" "$src/docs/python-client.md" && bad "python-client.md promises a future check" || ok
    [ "$(wc -l < "$src/README.md")" -le 200 ] && ok || bad "README.md has $(wc -l < "$src/README.md") lines"
    grep -q "^Contents:" "$src/README.md" && ok || bad "README.md has no table of contents"
    grep -q "build/synergy" "$src/README.md" && ok || bad "README.md never names build/synergy"
}

# L26: make uninstall (its run: the install test), man page EXAMPLES and SEE
# ALSO and the policies (policies_explained), make run shows its table, not the build
defect_L26() {
    grep -q '^uninstall:' "$src/Makefile" && ok || bad "no make uninstall"
    grep -q '^\.SH EXAMPLES' "$build/synergy.1" && grep -q '^\.SH SEE ALSO' "$build/synergy.1" && ok ||
        bad "the man page lacks EXAMPLES or SEE ALSO"
    # every EXAMPLES command runs (with this build's paths)
    local line n=0
    while IFS= read -r line; do
        line=$(sed "s|/usr/local/share/synergy|$src|g; s|^synergy |$bin |; s| &\$||; s|--write-client-config||" <<<"$line")
        case $line in
        *" deploy "*|*" submit "*|*" queue"*) continue ;; # the service: docs/client.md runs it
        esac
        # shellcheck disable=SC2086
        (eval "$line --help" > /dev/null) && ok || bad "man EXAMPLES: $line"
        n=$((n + 1))
    done < <(sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$build/synergy.1" | sed -n '/^\.nf$/{n;p}' | sed 's/\\-/-/g')
    [ $n -ge 3 ] && ok || bad "only $n examples checked"
    # make run: the table within the first lines, no compiler progress (the build is up to date here)
    make -C "$src" --no-print-directory run BUILD="$build" JOBS=2 > run.out 2>&1 || { bad "make run failed: $(tail -5 run.out)"; return; }
    grep -qE '\[ *[0-9]+%\]|Building C|Linking C|Built target' run.out && bad "make run shows the build: $(head -5 run.out)" || ok
    head -12 run.out | grep -q '^policy  mode' && ok || bad "make run's table is not at the top: $(head -12 run.out)"
}
