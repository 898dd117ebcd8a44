# Thin wrapper over CMake. `make run` and `make test` install what they need first.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
# cmake drives its own make: hand it a clean environment (no "Entering directory" noise)
CMAKE_BUILD = env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS cmake --build

.PHONY: all deps configure build run test test-measure test-torch test-asan test-tsan test-slurm bench clean fuzz mutate install uninstall figures

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@$(CMAKE_BUILD) $(BUILD) -j $(JOBS)

# make install [PREFIX=/usr/local] [DESTDIR=staging]: bin/synergy, share/synergy/{configs,
# traces}, man1/synergy.1, bash completion. PREFIX is compiled in (the last place the
# binary looks for its configs), so changing it reconfigures and rebuilds.
PREFIX ?= /usr/local
install:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@$(CMAKE_BUILD) $(BUILD) -j $(JOBS) --target synergy synergy_docs
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) >/dev/null
	@printf '%s\n' "$(DESTDIR)" > $(BUILD)/install_destdir.txt
	@echo "installed under $(DESTDIR)$(PREFIX)"

# make uninstall [BUILD=...]: remove every file the last `make install` from
# BUILD wrote (CMake's $(BUILD)/install_manifest.txt under the DESTDIR it was
# given), then share/synergy's directories left empty
uninstall:
	@bash scripts/uninstall.sh $(BUILD)

# the build's progress goes to $(BUILD)/build.log (shown when it fails), so that
# `make run` shows its table rather than a screen of compiler lines
run: configure
	@$(CMAKE_BUILD) $(BUILD) -j $(JOBS) > $(BUILD)/build.log 2>&1 || \
		{ tail -40 $(BUILD)/build.log; echo "make run: the build failed ($(BUILD)/build.log)"; exit 1; }
	@bash scripts/main-job.sh $(BUILD)/synergy

# The e2e deployments spend most of their time waiting on job rounds (a deployment of
# 59 s uses 10 s of CPU), so three times as many tests run side by side as there are
# cores (bench/README.md, "make test"); only the submission flood runs alone (RUN_SERIAL).
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 3 )))
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) -LE 'measure|slurm'

# the PyTorch example under a deployment (examples/pytorch, ~4 min; installs python3-torch)
test-torch: build
	@bash scripts/install-deps.sh python3-torch
	@bash tests/torch/torch_example.sh $(BUILD)/synergy $(CURDIR)

# measurements that need idle cores (the profiler's real CPU speedup)
test-measure: build
	@cd $(BUILD) && ctest --output-on-failure -L measure

# a sharded sweep on a single-node Slurm started for the test (root; installs
# slurm-wlm and munge if missing)
test-slurm: build
	@cd $(BUILD) && ctest --output-on-failure -L slurm

# Sanitized deployment servers on their fault paths (a crash, a lost worker, a
# scheduler restart, forged calls, the admin service). The other e2e tests bound
# JCTs at 0.6 s rounds, which instrumented binaries are too slow to keep.
ASAN_E2E = deploy_fault_crash|deploy_fault_worker|deploy_drill_restart|deploy_security_forge|service_admin_e2e
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSYNERGY_SANITIZE=ON >/dev/null
	@$(CMAKE_BUILD) $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'slow|measure|slurm|e2e'
	@cd $(ASAN_BUILD) && ctest --output-on-failure -R '$(ASAN_E2E)'

# libFuzzer harnesses (tests/fuzz), clang + ASan/UBSan, FUZZ_SECONDS each
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYNERGY_FUZZ=ON >/dev/null
	@$(CMAKE_BUILD) $(FUZZ_BUILD) -j $(JOBS) --target fuzz_philly fuzz_pollux fuzz_gavel fuzz_replay fuzz_deltas fuzz_config fuzz_tenants fuzz_sweep fuzz_catalog fuzz_reserve fuzz_metrics fuzz_proto fuzz_sched_rpc fuzz_worker_rpc fuzz_admin_rpc
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)
TSAN_BUILD ?= build-tsan
# ThreadSanitizer for the deployment servers (gRPC's own threads suppressed).
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSYNERGY_TSAN=ON >/dev/null
	@$(CMAKE_BUILD) $(TSAN_BUILD) -j $(JOBS)
	@cd $(TSAN_BUILD) && ctest --output-on-failure -R 'deploy_tsan|service_admin_tsan|worker_topo'

# one-line mutants of tests/mutation/mutants.tsv, each on a scratch copy (minutes;
# not part of `test`). MUTANTS="M5 M6" runs only those.
mutate: deps
	@bash tests/mutation/run.sh $(MUTANTS)

# the Synergy paper's simulation figures -> docs/paper-figures.md (configs/experiments/)
figures: build
	@bash scripts/figures.sh $(BUILD)/synergy

bench: build
	@bash bench/run.sh $(BUILD)/synergy

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
