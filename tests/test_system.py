"""The modelling API: typed records, parameters, definitions, registry, loading, symmetry."""

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from kripke.errors import (DefinitionError, ModelLoadError, MutableStateError, ParamError,
                             UnknownNameError)
from kripke.checkers.explicit import check
from kripke.models.symmetry import Canonicalizer
from kripke.models.types import total_order_key
from kripke.models.system import TransitionSystem, action, load_model, registry
from kripke.models.two_phase import RM, Prepared, TwoPhase
from kripke.models.types import Array, Domain, Enum, Int, Set, put, record
from tests.conftest import ROOT
from tests.conftest import fixture_model, reachable_states


def test_records_are_tuples_with_named_fields():
    m = TwoPhase(rms=3)
    s = next(m.init())
    assert isinstance(s, tuple) and s.tm_state == "init"
    t = s.set(tm_state="aborted")
    assert (t.tm_state, t.rm_state, s.tm_state) == ("aborted", s.rm_state, "init")
    assert hash(t) == hash(tuple(t)) and t == tuple(t)
    assert Prepared(1) == ("Prepared", 1) and Prepared(rm=2).rm == 2
    assert Prepared(1) is Prepared(1)  # interned
    assert repr(Prepared(1)) == "Prepared(rm=1)"
    assert put(("a", "b", "c"), 1, "x") == ("a", "x", "c")


def test_registry_has_the_built_in_models():
    names = set(registry())
    assert {"tcommit", "two-phase", "two-phase-eager", "toy-counter", "toy-raises"} <= names
    assert load_model("two-phase") is TwoPhase


def test_params_are_validated():
    with pytest.raises(ParamError, match="rms: must be >= 1, got 0"):
        TwoPhase(rms=0)
    with pytest.raises(ParamError, match="expected int"):
        TwoPhase(rms="three")
    with pytest.raises(UnknownNameError, match="unknown parameter of two-phase 'nodes'; "
                                               "available: rms"):
        TwoPhase(nodes=3)
    assert TwoPhase._params["rms"].parse("4") == 4
    with pytest.raises(ParamError, match="expected int, got 'x'"):
        TwoPhase._params["rms"].parse("x")


def test_mutable_initial_state_is_rejected_naming_the_field():
    cls = load_model(fixture_model("MutableInit"))
    with pytest.raises(MutableStateError, match="state field 'log' holds a mutable list"):
        cls()


def test_mutable_successor_is_rejected_naming_the_field():
    model = load_model(fixture_model("MutableStep"))()
    with pytest.raises(MutableStateError, match="state field 'log' holds a mutable list"):
        check(model)


def test_action_arity_is_checked_when_the_class_is_defined():
    with pytest.raises(DefinitionError, match="BadArity.step takes 1 argument"):
        load_model("tests/fixtures/bad_arity.py:BadArity")


def test_overriding_an_action_without_the_decorator_is_an_error():
    with pytest.raises(DefinitionError, match="overrides an action without @action"):
        class Broken(TwoPhase):
            def tm_commit(self, s):
                return None


def test_bad_field_types_are_rejected():
    with pytest.raises(DefinitionError, match="Bad.variables: .*list.* is not a kripke type"):
        class Bad(TransitionSystem):
            variables = {"log": list}
    with pytest.raises(DefinitionError, match="not a valid field name"):
        record("Msg", _hidden=Int(0, 1))


def test_loading_files():
    with pytest.raises(ModelLoadError, match="failed to import: RuntimeError: this file is broken"):
        load_model("tests/fixtures/fails_import.py:Anything")
    with pytest.raises(ModelLoadError, match="NotAModel is not a model"):
        load_model(fixture_model("NotAModel"))
    with pytest.raises(UnknownNameError, match="unknown model class in .* 'Nope'; available: "):
        load_model(fixture_model("Nope"))
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model("no/such/file.py:X")
    with pytest.raises(UnknownNameError, match="unknown model 'two-phaze'; available: .*two-phase"):
        load_model("two-phaze")


def test_type_ok_catches_a_write_outside_the_declared_bounds():
    r = check(load_model(fixture_model("OutOfType"))())
    v = r.violation
    assert (v.property, v.kind, [s.state["x"] for s in v.trace.steps]) == (
        "type_ok", "type", [0, 1, 2, 3])


def test_untyped_quick_models_work():
    model = load_model(fixture_model("Untyped"))(bound=5)
    r = check(model)
    assert (r.verdict, r.violation.property, len(r.violation.trace.steps) - 1) == (
        "violated", "small", 3)
    assert r.violation.trace.steps[-1].state == [3, [0, 1, 2]]
    assert check(model, properties=[], deadlock=True).distinct_states == 6


def test_nondeterministic_model_is_explained_when_the_path_cannot_be_rebuilt():
    from kripke.errors import NondeterminismError
    model = load_model(fixture_model("Nondeterministic"))()
    with pytest.raises(NondeterminismError, match="cannot rebuild step 1 .* iteration order"):
        check(model)


# -- symmetry ---------------------------------------------------------------------------------



TWO_PHASE_4 = TwoPhase(rms=4)
STATES_4 = sorted(reachable_states(TWO_PHASE_4), key=total_order_key)
CANON_4 = Canonicalizer(TWO_PHASE_4, RM)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STATES_4), st.permutations(range(4)))
def test_canonical_form_is_the_same_for_every_renaming(s, perm):
    renamed = CANON_4.permute(s, perm)
    assert CANON_4(renamed) == CANON_4(s)
    assert TWO_PHASE_4.type_ok(renamed) is None


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(STATES_4), st.permutations(range(4)))
def test_permuting_renames_ids_consistently(s, perm):
    t = CANON_4.permute(s, perm)
    for r in range(4):
        assert t.rm_state[perm[r]] == s.rm_state[r]
        assert (perm[r] in t.tm_prepared) == (r in s.tm_prepared)
        assert (Prepared(perm[r]) in t.msgs) == (Prepared(r) in s.msgs)


def test_canonical_form_is_a_member_of_the_orbit():
    perms = list(itertools.permutations(range(4)))
    for s in STATES_4[::7]:
        orbit = {CANON_4.permute(s, p) for p in perms}
        assert CANON_4(s) in orbit


def test_symmetric_domain_must_be_single():
    A = Domain("A", 2, symmetric=True)
    B = Domain("B", 2, symmetric=True)

    class Two(TransitionSystem):
        variables = {"a": Array(A, Enum("x", "y")), "b": Set(B)}

        def init(self):
            yield self.State(a=("x", "x"), b=frozenset())

    with pytest.raises(DefinitionError, match="2 symmetric domains"):
        check(Two(), symmetry=True)


def test_an_action_may_not_hide_a_helper_of_its_base_class():
    from kripke.models.network import MessagePassing
    with pytest.raises(DefinitionError, match="Chatty.send is an action that hides "
                                              "MessagePassing.send"):
        class Chatty(MessagePassing):
            @action
            def send(self, s):
                return None


def test_a_model_file_imports_the_modules_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository: the file's own folder must be found
    cls = load_model(f"{ROOT}/tests/fixtures/neighbours/model.py:Limited")
    r = check(cls())
    assert (r.verdict, r.violation.property, len(r.violation.trace.steps) - 1) == (
        "violated", "within_limit", 3)


def test_a_bad_each_name_is_a_definition_error():
    class BadEach(TransitionSystem):
        @action(each="nosuch")
        def pick(self, s, v):
            return None

    with pytest.raises(DefinitionError, match="each='nosuch' names neither a Domain nor a method"):
        BadEach()


def test_a_property_with_the_wrong_signature_is_a_definition_error():
    from kripke import invariant, step
    with pytest.raises(DefinitionError, match=r"invariant one is called as one\(model, state\)"):
        invariant(lambda s: True, name="one")
    with pytest.raises(DefinitionError, match=r"step two is called as two\(model, s, t\)"):
        @step(name="two")
        def two(model, s):
            return True


def test_a_bag_is_one_value_whatever_order_it_was_built_in():
    from kripke import Bag, bag_add, bag_remove
    from kripke.models.fingerprint import fingerprint
    Ping = record("Ping", n=Int(0, 9))
    a = bag_add(bag_add(bag_add((), Ping(n=3)), Ping(n=1)), Ping(n=3))
    b = bag_add(bag_add(bag_add((), Ping(n=1)), Ping(n=3)), Ping(n=3))
    assert a == b and fingerprint(a) == fingerprint(b)
    rest = bag_remove(a, Ping(n=3))
    assert (len(rest), rest.count(Ping(n=3)), rest.count(Ping(n=1))) == (2, 1, 1)

    class Unsorted(TransitionSystem):
        """Writes a bag in the order it likes: a type violation naming the field."""

        variables = {"pings": Bag(Ping, 3)}

        def init(self):
            yield self.State(pings=())

        @action
        def send_two(self, s):
            if not s.pings:
                canonical = bag_add(bag_add((), Ping(n=1)), Ping(n=2))
                return s.set(pings=canonical[::-1])

    r = check(Unsorted())
    assert (r.verdict, r.violation.kind) == ("violated", "type")
    assert "sets pings to" in r.violation.message


def test_init_that_raises_is_a_finding_not_a_traceback():
    class InitRaises(TransitionSystem):
        variables = {"x": Int(0, 2)}

        def init(self):
            yield self.State(x=1 // 0)

    r = check(InitRaises())  # defining and instantiating the model does not raise
    v = r.violation
    assert (r.verdict, v.property, v.kind, v.trace) == ("violated", "init()", "exception", None)
    assert v.message == "init() raised ZeroDivisionError: integer division or modulo by zero"
