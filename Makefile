# The README's two commands: `make demo` and `make test`. Each does all set-up itself.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench setup clean

setup: $(STAMP) dot chromium

$(STAMP): pyproject.toml setup.py checkers/_speedups.c checkers/_visited.c checkers/_wire.c
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Graphviz's `dot` draws counterexamples; install Debian's package when it is missing.
.PHONY: dot
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Debian's graphviz (dot is missing)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; }

# Debian's headless Chromium and its driver run the explorer's browser tests
# (tests/test_explore.py); install them when either is missing.
.PHONY: chromium
chromium:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  echo "installing Debian's chromium and chromium-driver (for the explorer's browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    chromium-driver >/dev/null; }

demo: setup
	rm -rf out && mkdir out
	$(VENV)/bin/kripke list
	# TwoPhase.tla with 3 RMs: every property holds (288 distinct states, as TLC counts).
	$(VENV)/bin/kripke check two-phase -p rms=3 --no-symmetry
	# The same protocol with symmetry reduction over the RMs.
	$(VENV)/bin/kripke check two-phase -p rms=5
	# A TM that commits before every RM has prepared: tc_consistent is refuted (exit code 1)...
	$(VENV)/bin/kripke check two-phase-eager --property tc_consistent --out out/two-phase-eager; test $$? -eq 1
	$(VENV)/bin/kripke replay out/two-phase-eager/trace.json
	$(VENV)/bin/kripke render out/two-phase-eager/trace.json -o out/two-phase-eager/report.html
	# ... and, one step earlier, its refinement of TCommit (an RM commits while others work).
	$(VENV)/bin/kripke check two-phase-eager --out out/two-phase-eager-refinement; test $$? -eq 1
	# The article's Raft grants every vote: two leaders in one term, drawn as a message sequence chart.
	$(VENV)/bin/kripke check raft-article --out out/raft-article; test $$? -eq 1
	# Paxos as in Paxos.tla holds; a proposer that ignores the 1b reports breaks agreement.
	$(VENV)/bin/kripke check paxos
	$(VENV)/bin/kripke check paxos-ignore-1b --out out/paxos-ignore-1b; test $$? -eq 1
	# The article's eventually consistent store: with clock skew, a replica loses its own write.
	$(VENV)/bin/kripke check lww-store-article -p max_skew=1 --out out/lww-store-article; test $$? -eq 1
	# CAP: during a partition, cp refuses (availability fails), ap answers stale (linearizability fails).
	$(VENV)/bin/kripke check cap-register -p mode=cp --out out/cap-cp; test $$? -eq 1
	$(VENV)/bin/kripke check cap-register -p mode=ap --out out/cap-ap; test $$? -eq 1
	# The article's 2PC reports a commit that a crashed participant never applied.
	$(VENV)/bin/kripke check commit-2pc-article --out out/commit-2pc-article; test $$? -eq 1
	# Liveness under fairness: with loss and duplication the store still converges; the
	# article's store does not (a sync lost once is never resent: a lasso that stutters), and
	# 2PC blocks when the coordinator crashes after prepare and never recovers.
	$(VENV)/bin/kripke check lww-store -p lossy=true -p duplicating=true --property converges
	$(VENV)/bin/kripke check lww-store-article -p lossy=true --property converges --out out/lww-store-article-converges; test $$? -eq 1
	$(VENV)/bin/kripke replay out/lww-store-article-converges/trace.json
	$(VENV)/bin/kripke check commit-2pc --property participants_decide --out out/commit-2pc-blocks; test $$? -eq 1
	# The article's circuit breaker, and the whole state graph of the correct one.
	$(VENV)/bin/kripke check circuit-breaker-article --out out/circuit-breaker-article; test $$? -eq 1
	$(VENV)/bin/kripke graph circuit-breaker --cluster circuit --field now --field service --field calls -o out/circuit-breaker-graph.svg
	@echo "counterexamples drawn under out/ (counterexample.svg, msc.svg for message passing, trace.json)"

test: setup
	$(PY) -m pytest -q

bench: setup
	$(VENV)/bin/kripke bench

clean:
	rm -rf $(VENV) out .pytest_cache
