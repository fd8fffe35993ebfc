"""The protocol runs, through kripke's pytest plugin (kripke/pytest_plugin.py): one item per
model and property, ``-k election_safety`` to pick one, the states explored in the summary.

The registered protocols at sizes that keep the file within seconds, one search per check (the
search goes on after a violation). A broken variant names the properties it is known to violate,
so each of those items passes only while its counterexample is still found; its other properties
must hold in the same search. Counts are pinned by the protocol tests (tests/test_commit.py,
tests/test_raft.py, ...), not here.
"""

from kripke.pytest_plugin import check_model

kripke_checks = [
    check_model("tcommit"),
    check_model("two-phase", rms=3),
    check_model("two-phase-eager", rms=3,
                expect={"tc_consistent": "violated", "atomic_commit": "violated",
                        "refines_tcommit": "violated"}),
    check_model("paxos"),
    check_model("paxos-ignore-1b", expect={"agreement": "violated"}),
    check_model("raft", servers=2, max_msgs=2),
    check_model("raft-article", servers=3, restarts=False,
                expect={"election_safety": "violated"}),
    check_model("lww-store"),
    check_model("lww-store", max_skew=1, lossy=True, duplicating=True),
    check_model("lww-store-article", max_writes=2,
                expect={"convergence": "violated", "quiescent_agreement": "violated",
                        "read_your_writes": "violated", "no_lost_causal_update": "violated",
                        "converges": "violated"}),
    check_model("commit-2pc", expect={"participant_blocked": "violated"}),
    check_model("commit-2pc-article",
                expect={"atomic_commit": "violated", "no_lost_committed_write": "violated",
                        "termination_possible": "violated"}),
    check_model("saga-orchestration"),
    check_model("saga-choreography", duplicating=True),
    # Only the three violations (properties=[]: those named in expect): the rest would search
    # 50,302 states to find what the idempotent check above already shows.
    check_model("saga-choreography", duplicating=True, idempotent=False, properties=[],
                deadlock=False,
                expect={"semantic_atomicity": "violated", "compensation_order": "violated",
                        "no_spurious_compensation": "violated"}),
    check_model("circuit-breaker"),
    check_model("circuit-breaker-article",
                expect={"closes_after_threshold_successes": "violated",
                        "half_open_trials_bounded": "violated"}),
    check_model("retry"),
    check_model("retry-article",
                expect={"delay_bounded": "violated", "gives_up_with_last_error": "violated"}),
    check_model("bulkhead"),
    check_model("bulkhead-article",
                expect={"queue_bounded": "violated", "call_rejected_possible": "violated"}),
    check_model("vector-clock"),
]
