"""Checkpoints: ``kripke check ... --checkpoint DIR`` saves the search every few minutes and when
it is stopped (Ctrl-C, SIGTERM); ``--resume DIR`` finishes it, with exactly the counts and
verdict of a search that was never stopped (issue 13, item 5). TLC's ``-checkpoint`` and
``-recover`` are the model; like TLC's, a checkpoint belongs to one model, one set of parameters
and one version of the checker.

A checkpointed search is the partitioned search of ``checkers.parallel`` (with one shard in
this process when there are no workers): it is saved between two of its phases, where each
shard's part is whole: its visited set, the states of the level it is expanding that it has not
expanded yet, those it has admitted for the next level, and its counts. ``DIR`` holds
``manifest.json`` and one folder per checkpoint (``ckpt-<n>``): the new folder is written whole,
then the manifest names it (an atomic rename), then the older folder is removed, so a crash while
saving leaves the previous checkpoint.

A checkpoint is a file a user hands back, so reading one evaluates nothing: JSON for the
manifest, the counts and the states (``checkers.wire.to_plain``), raw little-endian arrays for
the visited sets; every file's SHA-256 is in the manifest, and each state's fingerprint is
computed again and compared with the one saved. Anything that does not match is a
``CheckpointError`` of one line.
"""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from kripke.errors import CheckpointError
from kripke.models.system import model_spec

__all__ = ["Checkpointer", "identity", "load", "EVERY"]

FORMAT, VERSION = "kripke-checkpoint", 1
#: seconds between two checkpoints of a running search (TLC's default is 30 minutes)
EVERY = 300.0


def identity(model, props, symmetry, options, workers):
    """What a checkpoint must agree with to be resumed: the checker's version, the model, its
    parameters, the properties, whether symmetry is on, the search's options and the number
    of shards."""
    from kripke import __version__
    return {"kripke": __version__, "model": model_spec(type(model)),
            "params": json.loads(json.dumps(model.params, default=repr)),
            "properties": [p.name for p in props], "symmetry": bool(symmetry),
            "options": options, "workers": workers}


class Checkpointer:
    """Writes the checkpoints of one search into ``folder``, every ``every`` seconds."""

    def __init__(self, folder, ident, every=EVERY):
        self.folder, self.ident, self.every = Path(folder), ident, every
        self.last = time.monotonic()
        self.written = 0

    def due(self):
        return time.monotonic() - self.last >= self.every

    def write(self, state, shards):
        """Save the coordinator's ``state`` (JSON) and each shard's files (``{name: bytes}``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest_path = self.folder / "manifest.json"
        previous = _read_manifest(manifest_path).get("folder") if manifest_path.exists() else None
        n = 1 + max((int(p.name[5:]) for p in self.folder.glob("ckpt-*")
                     if p.name[5:].isdigit()), default=0)
        name = f"ckpt-{n}"
        target = self.folder / name
        target.mkdir()
        digests = {}
        for k, files in enumerate(shards):
            for part, data in files.items():
                file = f"shard-{k}.{part}"
                (target / file).write_bytes(data)
                digests[file] = hashlib.sha256(data).hexdigest()
        manifest = dict(format=FORMAT, version=VERSION, identity=self.ident, folder=name,
                        state=state, files=digests, shards=len(shards))
        tmp = self.folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, manifest_path)
        if previous and previous != name:
            shutil.rmtree(self.folder / previous, ignore_errors=True)
        self.last = time.monotonic()
        self.written += 1


def _read_manifest(path):
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent} holds no checkpoint (no manifest.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} cannot be read as a checkpoint manifest: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a kripke checkpoint manifest")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path} is a checkpoint of format version "
                              f"{data.get('version')!r}; this kripke reads version {VERSION}")
    return data


def load(folder, ident):
    """``(state, [shard files])`` of the checkpoint in ``folder``, after checking that it is
    whole and was written for ``ident`` (else a one-line ``CheckpointError`` saying what
    differs)."""
    folder = Path(folder)
    data = _read_manifest(folder / "manifest.json")
    theirs = data.get("identity")
    if not isinstance(theirs, dict):
        raise CheckpointError(f"{folder}: the manifest has no identity")
    for key, what in (("kripke", "kripke version"), ("model", "model"), ("params", "parameters"),
                      ("properties", "properties"), ("symmetry", "symmetry"),
                      ("options", "search options"), ("workers", "workers")):
        if theirs.get(key) != ident[key]:
            raise CheckpointError(f"{folder} was saved with {what} {_show(theirs.get(key))}, "
                                  f"not {_show(ident[key])}: resume with the same, or start "
                                  "again")
    name, files, n = data.get("folder"), data.get("files"), data.get("shards")
    if not (isinstance(name, str) and name.startswith("ckpt-") and isinstance(files, dict)
            and isinstance(n, int) and n == ident["workers"]):
        raise CheckpointError(f"{folder}/manifest.json is incomplete")
    shards = [{} for _ in range(n)]
    for file, digest in files.items():
        shard, _, part = file.partition(".")
        try:
            k = int(shard.removeprefix("shard-"))
            blob = (folder / name / file).read_bytes()
        except (ValueError, OSError) as e:
            raise CheckpointError(f"{folder}: cannot read {file} of the checkpoint: {e}") \
                from None
        if not 0 <= k < n or hashlib.sha256(blob).hexdigest() != digest:
            raise CheckpointError(f"{folder}/{name}/{file} is corrupt (its SHA-256 is not the "
                                  "one the manifest recorded)")
        shards[k][part] = blob
    return data.get("state"), shards


def _show(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
