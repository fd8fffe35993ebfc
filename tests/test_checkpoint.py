"""Resumable runs (issue 13, item 5): a search saved with ``--checkpoint`` and stopped, then
taken up with ``--resume``, finishes with exactly the counts and verdict of a search that was
never stopped; a checkpoint of another model, other parameters, properties, options or kripke
version, or a corrupt one, is refused with one line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kripke
from kripke import check, load_model
from kripke.checkers import parallel
from kripke.checkers.partition import Partition
from kripke.errors import CheckpointError

ROOT = Path(__file__).resolve().parent.parent


def stopped_at(n):
    """A progress callback that sends this process SIGINT (Ctrl-C) at its ``n``-th call: the
    partitioned search calls it after each level, so the stop lands at a known place."""
    calls = []

    def progress(_):
        calls.append(1)
        if len(calls) == n:
            os.kill(os.getpid(), signal.SIGINT)
    return progress


def totals(r):
    v = r.violation
    return (r.verdict, r.distinct_states, r.states_generated, r.depth,
            None if v is None else (v.property, len(v.trace.steps)),
            {a: c["fired"] for a, c in r.coverage.items()})


@pytest.mark.parametrize("name, params, workers, symmetry", [
    ("two-phase", {"rms": 5}, 1, False),
    ("two-phase", {"rms": 5}, 2, False),
    ("two-phase", {"rms": 5}, 1, None),
    ("raft", {"servers": 2}, 2, None),
])
def test_interrupted_twice_and_resumed_twice_counts_as_one_run(tmp_path, name, params, workers,
                                                               symmetry):
    model = load_model(name)(**params)
    whole = check(model, symmetry=symmetry)
    first = check(model, symmetry=symmetry, workers=workers, checkpoint=tmp_path,
                  progress=stopped_at(3))
    assert first.verdict == "interrupted" and first.checkpoint == str(tmp_path)
    assert 0 < first.distinct_states < whole.distinct_states
    second = check(model, symmetry=symmetry, workers=workers, resume=tmp_path,
                   progress=stopped_at(2))
    assert second.verdict == "interrupted"
    assert first.distinct_states < second.distinct_states < whole.distinct_states
    last = check(model, symmetry=symmetry, workers=workers, resume=tmp_path)
    assert totals(last) == totals(whole)
    assert last.symmetry == whole.symmetry


def test_a_search_resumes_with_the_partition_it_was_saved_with(tmp_path, monkeypatch):
    """Shards that own states by a variable (checkers/partition.py) are resumed by that same
    variable, whatever the sample would choose now; a manifest naming a partition the model
    cannot have is refused."""
    model = load_model("two-phase")(rms=5)
    whole = check(model, symmetry=False)
    monkeypatch.setattr(parallel, "choose", lambda *_: Partition(("tm_prepared",)))
    first = check(model, symmetry=False, workers=2, checkpoint=tmp_path,
                  progress=stopped_at(4))
    assert first.verdict == "interrupted" and first.partition == "by tm_prepared"
    monkeypatch.setattr(parallel, "choose", lambda *_: Partition())
    manifest = tmp_path / "manifest.json"
    saved = json.loads(manifest.read_text())
    for wrong in (["rm_state", "msgs", "tm_state"], ["votes"], "tm_prepared"):
        manifest.write_text(json.dumps({**saved, "state": {**saved["state"], "partition": wrong}}))
        with pytest.raises(CheckpointError, match="unknown partition"):
            check(model, symmetry=False, workers=2, resume=tmp_path)
    manifest.write_text(json.dumps(saved))
    last = check(model, symmetry=False, workers=2, resume=tmp_path)
    assert last.partition == "by tm_prepared"
    assert totals(last) == totals(whole)


def test_a_violation_found_after_a_resume_is_the_same(tmp_path):
    model = load_model("two-phase-eager")(rms=4)
    whole = check(model, symmetry=False, properties=["tc_consistent"])
    first = check(model, symmetry=False, properties=["tc_consistent"], checkpoint=tmp_path,
                  progress=stopped_at(2))
    assert first.verdict == "interrupted"
    last = check(model, symmetry=False, properties=["tc_consistent"], resume=tmp_path)
    assert last.verdict == whole.verdict == "violated"
    assert (last.violation.property, len(last.violation.trace.steps)) == (
        whole.violation.property, len(whole.violation.trace.steps))


def test_violations_found_before_a_checkpoint_are_kept_under_continue(tmp_path):
    model = load_model("two-phase-eager")(rms=4)
    whole = check(model, symmetry=False, keep_going=True)
    assert len(whole.violations) >= 2
    first = check(model, symmetry=False, keep_going=True, checkpoint=tmp_path,
                  progress=stopped_at(6))
    assert first.verdict == "interrupted" and first.distinct_states < whole.distinct_states
    assert first.violations  # found before the checkpoint: the resumed run must keep them
    last = check(model, symmetry=False, keep_going=True, resume=tmp_path)
    assert totals(last) == totals(whole)
    assert [(v.property, len(v.trace.steps) if v.trace else None) for v in last.violations] \
        == [(v.property, len(v.trace.steps) if v.trace else None) for v in whole.violations]


def test_checkpoints_are_written_every_so_often(tmp_path):
    """With a tiny interval the search is saved between two levels at least once, and the
    folder keeps only the latest checkpoint."""
    model = load_model("two-phase")(rms=4)
    r = check(model, symmetry=False, checkpoint=tmp_path, checkpoint_every=1e-9)
    assert r.verdict == "ok" and r.distinct_states == 1568 and r.checkpoint == str(tmp_path)
    assert len(list(tmp_path.glob("ckpt-*"))) == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["identity"]["model"] == "two-phase"
    assert manifest["identity"]["params"] == {"rms": 4}


@pytest.fixture
def saved(tmp_path):
    model = load_model("two-phase")(rms=5)
    r = check(model, symmetry=False, checkpoint=tmp_path, progress=stopped_at(2))
    assert r.verdict == "interrupted"
    return tmp_path


def refused(folder, model=None, **options):
    with pytest.raises(CheckpointError) as e:
        check(model or load_model("two-phase")(rms=5), symmetry=False, resume=folder,
              **options)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_another_model_parameters_properties_or_options_are_refused(saved):
    assert "saved with model \"two-phase\", not \"tcommit\"" in refused(
        saved, load_model("tcommit")(rms=5))
    assert 'saved with parameters {"rms": 5}, not {"rms": 4}' in refused(
        saved, load_model("two-phase")(rms=4))
    assert "saved with properties" in refused(saved, properties=["tc_consistent"])
    assert "saved with search options" in refused(saved, max_depth=3)
    assert "saved with workers 1, not 2" in refused(saved, workers=2)


def test_another_kripke_version_is_refused(saved, monkeypatch):
    monkeypatch.setattr(kripke, "__version__", "99.0")
    assert f'saved with kripke version "{kripke.__version__}"' not in refused(saved)
    assert 'not "99.0"' in refused(saved)


def test_corrupt_checkpoints_are_refused(saved, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    assert "holds no checkpoint" in refused(empty)
    manifest = saved / "manifest.json"
    good = manifest.read_text()
    manifest.write_text("{not json")
    assert "cannot be read as a checkpoint manifest" in refused(saved)
    manifest.write_text(json.dumps({"format": "kripke-checkpoint", "version": 7}))
    assert "format version 7" in refused(saved)
    manifest.write_text(good)
    frontier = next(saved.glob("ckpt-*/shard-0.frontier"))
    data = frontier.read_bytes()
    frontier.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert "is corrupt (its SHA-256" in refused(saved)
    frontier.write_bytes(data)
    assert check(load_model("two-phase")(rms=5), symmetry=False,
                 resume=saved).distinct_states == 8832


def test_a_tampered_state_is_refused_even_with_a_matching_digest(saved):
    """A checkpoint whose digests were recomputed after a state was changed: the state's
    fingerprint no longer matches the one saved beside it."""
    import hashlib
    folder = next(saved.glob("ckpt-*"))
    frontier = folder / "shard-0.frontier"
    lines = frontier.read_text().splitlines()
    which, fp, d, state = json.loads(lines[0])
    lines[0] = json.dumps([which, fp ^ 1, d, state])
    frontier.write_text("\n".join(lines))
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["files"]["shard-0.frontier"] = hashlib.sha256(frontier.read_bytes()).hexdigest()
    (saved / "manifest.json").write_text(json.dumps(manifest))
    assert "is not the one its fingerprint" in refused(saved)
    lines[0] = json.dumps([which, fp, d, {"r": 0, "v": ["__import__('os')"]}])
    frontier.write_text("\n".join(lines))
    manifest["files"]["shard-0.frontier"] = hashlib.sha256(frontier.read_bytes()).hexdigest()
    (saved / "manifest.json").write_text(json.dumps(manifest))
    assert "shard 0's part of the checkpoint is corrupt" in refused(saved)


def test_the_command_line_saves_on_sigterm_and_resumes(tmp_path):
    """kripke check --checkpoint DIR, stopped by SIGTERM once a first checkpoint is written,
    exits 130 saying where it saved; --resume DIR finishes with the whole run's counts."""
    folder = tmp_path / "ckpt"
    args = [sys.executable, "-m", "kripke.cli", "check", "two-phase", "-p", "rms=6",
            "--no-symmetry", "--json"]
    proc = subprocess.Popen(args + ["--checkpoint", str(folder), "--checkpoint-every",
                                    "0.0001"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (folder / "manifest.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    data = json.loads(out)
    if data["verdict"] == "ok":  # finished before the signal: nothing left to resume
        pytest.skip("the search finished before SIGTERM arrived")
    assert (proc.returncode, data["verdict"], data["checkpoint"]) == (
        130, "interrupted", str(folder))
    r = subprocess.run(args + ["--resume", str(folder)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    data = json.loads(r.stdout)
    assert (r.returncode, data["verdict"], data["distinct_states"],
            data["states_generated"], data["depth"]) == (0, "ok", 50816, 402306, 20)
    r = subprocess.run(args[:6] + ["rms=5", "--resume", str(folder)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert 'saved with parameters {"rms": 6}, not {"rms": 5}' in r.stderr
