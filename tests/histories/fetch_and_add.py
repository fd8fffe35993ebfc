"""A spec of one's own, as a user writes it: a fetch-and-add counter (Herlihy, "Wait-free
synchronization", TOPLAS 13(1), 1991). ``add`` adds its input and returns the value before;
``read`` returns the value. Checked with ``kripke history H.json --spec
tests/histories/fetch_and_add.py:FetchAndAdd``."""

from kripke.specs.sequential import SequentialSpec, returns


class FetchAndAdd(SequentialSpec):
    kinds = ("add", "read")

    def init(self):
        return 0

    def step(self, state, op):
        if op.kind == "add":
            return returns(op, state), state + op.input
        return returns(op, state), state

    def validate(self, op):
        if op.kind == "add" and type(op.input) is not int:
            return f"add adds an integer, not {op.input!r}"
        return None

    def read_only(self, op):
        return op.kind == "read"
