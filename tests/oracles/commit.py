"""Independent computations for TCommit and TwoPhase, written apart from kripke's engine.

A plain breadth-first search over plain tuples, one function per TLA+ action, counting TLC's
distinct / generated / depth; and orbit counting by brute force over every permutation of the
RMs. The tests compare kripke's results with these for every size they run.
"""

import itertools

from tests.oracles.bfs import bfs

W, P, C, A = "working", "prepared", "committed", "aborted"


def _set(t, i, v):
    lst = list(t)
    lst[i] = v
    return tuple(lst)


def tcommit_successors(n):
    def succ(s):
        can_commit = all(x in (P, C) for x in s)
        not_committed = C not in s
        for r in range(n):
            if s[r] == W:
                yield _set(s, r, P)
            if s[r] == P and can_commit:
                yield _set(s, r, C)
            if s[r] in (W, P) and not_committed:
                yield _set(s, r, A)
    return (W,) * n, succ


def two_phase_successors(n):
    """States: (rm_state tuple, tm_state, tm_prepared frozenset, msgs frozenset of tuples)."""
    every = frozenset(range(n))

    def succ(s):
        rm, tm, tp, msgs = s
        if tm == "init" and tp == every:
            yield rm, "committed", tp, msgs | {("Commit",)}
        if tm == "init":
            yield rm, "aborted", tp, msgs | {("Abort",)}
        for r in range(n):
            if tm == "init" and ("Prepared", r) in msgs:
                yield rm, tm, tp | {r}, msgs
            if rm[r] == W:
                yield _set(rm, r, P), tm, tp, msgs | {("Prepared", r)}
            if rm[r] == W:
                yield _set(rm, r, A), tm, tp, msgs
            if ("Commit",) in msgs:
                yield _set(rm, r, C), tm, tp, msgs
            if ("Abort",) in msgs:
                yield _set(rm, r, A), tm, tp, msgs
    return ((W,) * n, "init", frozenset(), frozenset()), succ


def _permute_two_phase(s, p):
    rm, tm, tp, msgs = s
    new_rm = [None] * len(rm)
    for i, x in enumerate(rm):
        new_rm[p[i]] = x
    new_msgs = frozenset(("Prepared", p[m[1]]) if m[0] == "Prepared" else m for m in msgs)
    return tuple(new_rm), tm, frozenset(p[r] for r in tp), new_msgs


def _sortable(s):
    rm, tm, tp, msgs = s
    return rm, tm, tuple(sorted(tp)), tuple(sorted(msgs))


def two_phase_orbits(n):
    """The number of orbits of TwoPhase's reachable states under permutations of the RMs."""
    init, succ = two_phase_successors(n)
    states = bfs(init, succ)[3]
    perms = list(itertools.permutations(range(n)))
    return len({min(_sortable(_permute_two_phase(s, p)) for p in perms) for s in states})


def tcommit_orbits(n):
    init, succ = tcommit_successors(n)
    states = bfs(init, succ)[3]
    return len({tuple(sorted(s)) for s in states})
