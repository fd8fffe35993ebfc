"""The flat permuter of models/symmetry.py (issue 13, item 1) against the types' own permuters:
its C twin (``kripke._speedups.permute``), its Python twin and the per-field closures of
models/types.py rename every reachable state of every symmetric model alike."""

import itertools

import pytest

from kripke.common import speedups
from kripke.models.fingerprint import fingerprint
from kripke.models.symmetry import (ARRIDX, Canonicalizer, canonical_sort, permute_value,
                                    representative)
from kripke.models.system import load_model
from tests.conftest import reachable_states

#: (model, parameters): small sizes of the built-in models that declare a symmetric domain,
#: covering Array, nested Array, Optional, Set, Seq, Bag (sorted and FIFO), OneOf and Map
MODELS = [("two-phase", dict(rms=3)), ("raft", dict(servers=2, max_msgs=2)),
          ("raft", dict(servers=3, max_term=1, restarts=False)),
          ("raft", dict(servers=2, max_msgs=2, ordered=True)), ("paxos", {}),
          ("vector-clock", {}), ("tcommit", dict(rms=3))]

#: the models above whose sorted states sometimes leave tied ids to search
SEARCHED = [("raft", dict(servers=2, max_msgs=2)), ("raft", dict(servers=2, max_msgs=2, ordered=True)),
            ("vector-clock", {})]


def closure_permute(model, domain, s, perm):
    """The reference: each field renamed by its type's ``permuter`` (models/types.py)."""
    out = list(s)
    for i, t in enumerate(model._types.values()):
        f = t.permuter(domain, model)
        if f is not None:
            out[i] = f(s[i], perm)
    return tuple.__new__(model.State, out)


@pytest.mark.parametrize("name,params", MODELS)
def test_flat_permuter_matches_the_types_permuters(name, params):
    model = load_model(name)(**params)
    domain = model.symmetric_domain()
    canon = Canonicalizer(model, domain)
    states = sorted(reachable_states(model), key=repr)[:3000]
    perms = list(itertools.permutations(range(canon.n)))
    c = speedups()
    checked = 0
    for s in states:
        for p in perms:
            want = closure_permute(model, domain, s, list(p))
            got = permute_value(canon.desc, s, p)
            assert got == want and type(got) is type(want), (s, p)
            if c is not None:
                assert c.permute(canon.desc, s, p) == want, (s, p)
            checked += 1
    assert checked == len(states) * len(perms) > 0


def test_c_permute_rejects_a_bad_descriptor():
    c = speedups()
    if c is None:
        pytest.skip("the C extension is not built")
    with pytest.raises(ValueError, match="unknown descriptor kind"):
        c.permute((99,), (1, 2), (1, 0))
    with pytest.raises(IndexError):
        c.permute((2, None), (1, 2, 3), (1, 0))


@pytest.mark.parametrize("name,params", MODELS)
def test_canonical_sort_matches_its_c_twin(name, params):
    """The signatures, the sorted state and the runs left to search agree, on every reachable
    state and each of its renamings (so the ids arrive in every order)."""
    c = speedups()
    if c is None:
        pytest.skip("the C extension is not built")
    model = load_model(name)(**params)
    canon = Canonicalizer(model, model.symmetric_domain())
    states = sorted(reachable_states(model), key=repr)[:1000]
    perms = list(itertools.permutations(range(canon.n)))
    searched = 0
    for s in states:
        for p in perms:
            u = canon.permute(s, p)
            t, unfixed = c.canonical(canon.desc, canon.views, u, canon.n)
            assert (t, unfixed) == canonical_sort(canon.desc, canon.views, u, canon.n), (u, p)
            assert type(t) is model.State
            searched += bool(unfixed)
    # Most states need no search; in these models some do (both paths are exercised).
    assert searched < len(states) * len(perms)
    assert (searched > 0) == ((name, params) in SEARCHED)


@pytest.mark.parametrize("name,params", MODELS)
def test_representative_matches_its_c_twin(name, params):
    """The same representative in C and in Python, on every renaming of the reachable states;
    one per orbit (every renaming of a state has the representative of the state)."""
    model = load_model(name)(**params)
    canon = Canonicalizer(model, model.symmetric_domain())
    states = sorted(reachable_states(model), key=repr)[:1000]
    perms = list(itertools.permutations(range(canon.n)))
    c = speedups()
    for s in states:
        rep = representative(canon.desc, canon.views, canon.n, s)
        assert canon(s) == rep
        for p in perms:
            u = canon.permute(s, p)
            assert representative(canon.desc, canon.views, canon.n, u) == rep, (s, p)
            if c is not None:
                assert c.representative(canon.desc, canon.views, canon.n, None, u) == rep, (s, p)


def test_representative_leaves_too_many_candidates_to_its_fallback():
    c = speedups()
    if c is None:
        pytest.skip("the C extension is not built")
    # Nine ids, no signature: one run of nine whose swaps change the array, 9! candidates.
    s = tuple(range(9))
    assert c.representative((ARRIDX, None), (), 9, lambda v: ("fallback", v), s) == ("fallback", s)
    # Eight: 8! = 40,320 candidates are searched in C (every renaming of 0..7 is one, the
    # least fingerprint among them the representative's).
    s = tuple(range(8))
    rep = c.representative((ARRIDX, None), (), 8, None, s)
    assert fingerprint(rep) == min(fingerprint(p) for p in itertools.permutations(s))
    assert c.representative_fingerprint((ARRIDX, None), (), 8, None, s) == fingerprint(rep)
    assert c.representative_fingerprint((ARRIDX, None), (), 9, lambda v: tuple(range(9)),
                                        tuple(range(9))) == fingerprint(tuple(range(9)))


@pytest.mark.parametrize("name,params", MODELS)
def test_canon_fingerprint_is_the_representative_s(name, params):
    """The fingerprint of the representative, computed without building it, on every renaming
    of the reachable states: one per orbit."""
    model = load_model(name)(**params)
    canon = Canonicalizer(model, model.symmetric_domain())
    states = sorted(reachable_states(model), key=repr)[:500]
    perms = list(itertools.permutations(range(canon.n)))
    for s in states:
        want = fingerprint(canon(s))
        assert all(canon.fingerprint(canon.permute(s, p)) == want for p in perms), s
    assert len({canon.fingerprint(s) for s in states}) == len({canon(s) for s in states})


@pytest.mark.parametrize("name,params", MODELS)
def test_permute_fingerprint_is_the_renamings(name, params):
    """kripke._speedups.permute_fingerprint, the fingerprint of a renaming computed without
    building it, on every renaming of the reachable states."""
    c = speedups()
    if c is None:
        pytest.skip("the C extension is not built")
    model = load_model(name)(**params)
    canon = Canonicalizer(model, model.symmetric_domain())
    states = sorted(reachable_states(model), key=repr)[:1000]
    for s in states:
        for p in itertools.permutations(range(canon.n)):
            assert c.permute_fingerprint(canon.desc, s, p) == \
                fingerprint(permute_value(canon.desc, s, p)), (s, p)


def test_c_permute_refuses_a_perm_that_is_not_a_permutation():
    c = speedups()
    if c is None:
        pytest.skip("the C extension is not built")
    for perm in ((0, 0), (1, 2), (-1, 0)):
        with pytest.raises(ValueError, match="not a permutation"):
            c.permute((ARRIDX, None), (1, 2), perm)
