"""The detector state file: every channel's engine saved when a run ends, restored at the next
start, so a restart goes on scoring with no new warm-up (``--state FILE``).

Not to be confused with :mod:`sensorscope.state`, what a UI's snapshot is copied from.

The file is a small container: a first line of JSON (the magic ``sensorscope-state``, the
format version, the sensorscope version, the settings that shape what a channel learns and
their fingerprint), then one pickle of :class:`SavedState`. It is written to a temporary
file beside it, synced and renamed over it, so a crash mid-write leaves the old file whole.

Reading it never raises: a missing file is a first run; a corrupt, truncated, foreign or
other version's file, or one made with other detector settings, gives one line and a fresh
start. The header is checked before anything is unpickled, and the unpickler builds only
classes of sensorscope, numpy, river and a few plain builtins: a state file is the user's
own, but a file that merely sits where one is expected must not run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sensorscope.channels import Feedback
from sensorscope.errors import UserError
from sensorscope.model import Settings

if TYPE_CHECKING:
    from sensorscope.engine import ChannelEngine


class _Keeps(Protocol):
    """What a state file saves from and restores into (the pipeline)."""

    def saved_channels(self) -> SavedState: ...

    def restore_channels(self, saved: SavedState) -> None: ...


__all__ = ["MAGIC", "VERSION", "SavedState", "StateFile", "state_fields", "state_path"]

MAGIC = "sensorscope-state"
#: Bump when what is saved changes shape: an older file then starts fresh, with one line.
VERSION = 1
#: Live runs save this often (s), between batches, besides at the end.
SAVE_EVERY = 60.0
#: A header line longer than this is no header of ours.
_HEADER_MAX = 64 * 1024

# What a channel's learned state depends on. The threshold is not among them: a run applies
# its own (as a threshold changed in the UI applies to what was learned); nor are the line
# format or the history kept for the UI.
_SHAPING = (
    "detector", "params", "features", "warmup", "seed", "impute", "hysteresis",
    "limits", "sentinels", "dropout", "learn_in_alerts", "hold",
    # What a channel learned is in its scaled units: another scale is another signal.
    "scales", "offsets",
)  # fmt: skip


def state_fields(settings: Settings) -> dict[str, Any]:
    """The settings that shape detector state, as plain JSON values."""
    out: dict[str, Any] = {}
    for name in _SHAPING:
        v = getattr(settings, name)
        if isinstance(v, dict):
            v = {k: list(x) if isinstance(x, tuple) else x for k, x in sorted(v.items())}
        elif isinstance(v, tuple):
            v = list(v)
        out[name] = v
    return out


def state_path(value: str, record: str | None, files: Sequence[str]) -> str:
    """Where ``--state VALUE`` saves: the file named, or for ``auto`` beside the recording
    being written (``--record NAME.jsonl`` -> ``NAME.state``), else beside the first file
    read; UserError when there is neither."""
    if value != "auto":
        if os.path.isdir(value):
            raise UserError(f"--state {value} is a directory")
        return value
    beside = record or (files[0] if files else None)
    if beside is None:
        raise UserError("--state auto needs --record or a recording to put it beside")
    p = Path(beside)
    return str(p.with_suffix(".state") if p.suffix else p.with_name(p.name + ".state"))


def _fingerprint(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# The modules whose objects a state file holds: what their code is decides whether a saved
# engine still fits (an attribute added in any of them would be missing from an old one).
_STATE_CODE = (
    "engine.py", "episodes.py", "escalation.py", "faults.py", "feedback.py", "impute.py",
    "joint.py", "model.py", "state_file.py", "detect",
)  # fmt: skip


def code_fingerprint() -> str:
    """A digest of the code that defines what a state file holds (a release or an edit of
    it changes it; "unknown" where the sources cannot be read)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    try:
        for name in _STATE_CODE:
            p = root / name
            for f in sorted(p.glob("*.py")) if p.is_dir() else [p]:
                h.update(f.name.encode() + b"\0" + f.read_bytes())
    except OSError:
        return "unknown"
    try:  # river's detectors are pickled as river's code has them
        h.update(b"river " + metadata.version("river").encode())
    except metadata.PackageNotFoundError:
        pass
    return h.hexdigest()[:16]


def _version() -> str:
    try:
        return metadata.version("sensorscope")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class SavedState:
    """What a restart needs: each channel's engine (with its open episode), the channels'
    order and sources, and the next alert id, so ids go on from where they were."""

    engines: dict[str, ChannelEngine]
    names: list[str]
    prefixes: dict[str, str]
    next_id: int
    #: Each source's joint view (``sensorscope.joint.JointEngine``), by source.
    joint: dict[str, Any] = field(default_factory=dict)


# What the unpickler may build. A guard against a file that is not ours, checked after the
# header already was: the project's and river's classes, numpy's arrays, a few containers
# and plain builtins, and attribute lookups (bound methods) only of the project's objects.
# Not a sandbox for a file made to attack: a state file is the user's own.
_SAFE_BUILTINS = frozenset(
    {"set", "frozenset", "slice", "range", "complex", "bytearray", "bytes", "tuple", "list",
     "dict", "int", "float", "bool", "str", "object"}
)  # fmt: skip
_SAFE_GLOBALS = frozenset(
    {("collections", "deque"), ("collections", "OrderedDict"), ("collections", "defaultdict"),
     ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"), ("_codecs", "encode"),
     ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy._core.numeric", "_frombuffer"),
     ("numpy.core.numeric", "_frombuffer"), ("numpy._core.multiarray", "_reconstruct"),
     ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
     ("numpy.core.multiarray", "scalar"), ("random", "Random"), ("functools", "partial")}
)  # fmt: skip


def _project_getattr(obj: object, name: str) -> object:
    """``getattr`` as a pickle of a bound method uses it, for the project's objects only."""
    if name.startswith("_") or not type(obj).__module__.startswith("sensorscope."):
        raise pickle.UnpicklingError(f"getattr of {type(obj).__name__}.{name} is not allowed")
    return getattr(obj, name)


class _Pickler(pickle.Pickler):
    """Pickles a run's engines without what belongs to the run: the label lookup (the
    run's labels file) is left out, and the restoring run attaches its own."""

    def persistent_id(self, obj: Any) -> str | None:
        if getattr(obj, "__func__", None) is Feedback.labelled_false:
            return "labelled_false"
        return None


class _Guarded(pickle.Unpickler):
    """An unpickler that builds only what a state file holds (``_SAFE_GLOBALS``)."""

    def persistent_load(self, pid: Any) -> Any:
        if pid == "labelled_false":
            return None
        raise pickle.UnpicklingError("unknown reference in a state file")

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name == "getattr":
            return _project_getattr
        if (module == "builtins" and name in _SAFE_BUILTINS) or (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module.split(".")[0] in ("sensorscope", "river") and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a state file")


class StateFile:
    """A run's state file: :meth:`load` into a pipeline before it starts, :meth:`save` from
    the scoring worker (the engines' only user) at the end and now and then."""

    def __init__(self, path: str, settings: Settings, every: float = SAVE_EVERY) -> None:
        self.path = path
        self.every = every
        self.fields = state_fields(settings)
        self.fingerprint = _fingerprint(self.fields)
        self.saves = 0
        # False when the path holds a file that is not ours: a run never writes over it.
        self.writable = True
        self._last_save = time.monotonic()

    # -- reading --------------------------------------------------------------------------

    def load(self, pipeline: _Keeps) -> str | None:
        """Restore the pipeline's channels from the file; the line to say if it could not
        (None: restored, or no file yet)."""
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot read state file {self.path}: {exc.strerror or exc}: starting fresh"
        try:
            saved = self._decode(data)
        except _Fresh as why:
            return f"state file {self.path} {why}: starting fresh"
        pipeline.restore_channels(saved)
        return None

    def _decode(self, data: bytes) -> SavedState:
        nl = data.find(b"\n", 0, _HEADER_MAX)
        try:
            header = json.loads(data[:nl]) if nl > 0 else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("magic") != MAGIC:
            self.writable = False
            raise _Fresh("is not a sensorscope state file (it is left as it is, unwritten)")
        if header.get("format") != VERSION:
            raise _Fresh(
                f"has format version {header.get('format')!r}, this sensorscope reads {VERSION}"
            )
        if header.get("sensorscope") != _version():
            # What an engine holds is the code's own layout, which any release may change.
            raise _Fresh(
                f"was made by sensorscope {header.get('sensorscope')!r}, this is {_version()!r}"
            )
        if header.get("code") != code_fingerprint():
            raise _Fresh("was made by another build of sensorscope (its detector code differs)")
        if header.get("fingerprint") != self.fingerprint:
            theirs = header.get("settings")
            diff = []
            if isinstance(theirs, dict):
                diff = [k for k in _SHAPING if theirs.get(k) != self.fields.get(k)]
            said = ", ".join(
                f"{k} was {theirs.get(k)!r}, now {self.fields.get(k)!r}"  # type: ignore[union-attr]
                for k in diff
            )
            raise _Fresh(f"was made with other detector settings ({said or 'unknown'})")
        body = data[nl + 1 :]
        if header.get("sha256") != hashlib.sha256(body).hexdigest():
            # Damage inside an array would unpickle well and score wrongly: check it first.
            raise _Fresh("is damaged (its contents do not match their checksum)")
        try:
            saved = _Guarded(io.BytesIO(body)).load()
        except Exception as exc:  # noqa: BLE001 - any damage is one line and a fresh start
            raise _Fresh(f"is damaged ({type(exc).__name__})") from None
        if not isinstance(saved, SavedState):
            raise _Fresh("is damaged (no channel state in it)")
        return saved

    # -- writing --------------------------------------------------------------------------

    def temp_path(self) -> str:
        return f"{self.path}.{os.getpid()}.tmp"

    def due(self) -> bool:
        """Time for a periodic save (live runs)."""
        return time.monotonic() - self._last_save >= self.every

    def save(self, pipeline: _Keeps) -> None:
        """Write the pipeline's channels to the file atomically; UserError if it cannot (the
        old file is then left as it was)."""
        self._last_save = time.monotonic()
        header = {
            "magic": MAGIC,
            "format": VERSION,
            "sensorscope": _version(),
            "code": code_fingerprint(),
            "settings": self.fields,
            "fingerprint": self.fingerprint,
            "saved": time.time(),
        }
        if not self.writable:
            return
        saved = pipeline.saved_channels()
        try:
            buf = io.BytesIO()
            _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(saved)
            body = buf.getvalue()
        except Exception as exc:  # noqa: BLE001 - a model that cannot be kept: say so
            raise UserError(
                f"cannot save detector state to {self.path}: {type(exc).__name__}: {exc}"
            ) from None
        header["sha256"] = hashlib.sha256(body).hexdigest()
        # Beside the file (the same file system, so the rename is atomic); one per process.
        tmp: str | None = self.temp_path()
        try:
            with open(tmp, "xb") as fh:
                fh.write(json.dumps(header, default=str).encode() + b"\n")
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            tmp = None
            _sync_dir(os.path.dirname(os.path.abspath(self.path)))
        except FileExistsError:
            tmp = None  # another's, or one left by a crash: not ours to remove
            raise UserError(
                f"cannot write state file {self.path}: {self.temp_path()} is in the way "
                "(the previous one, if any, is kept)"
            ) from None
        except OSError as exc:
            raise UserError(
                f"cannot write state file {self.path}: {exc.strerror or exc} "
                "(the previous one, if any, is kept)"
            ) from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        self.saves += 1


def _sync_dir(directory: str) -> None:
    """Make the rename itself durable, where the system allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Fresh(Exception):
    """Why a state file is not used (the rest of the line the user sees)."""
