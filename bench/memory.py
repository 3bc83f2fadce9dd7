"""Memory of `sensorscope score` over a long run from a file, stdin and a pty: flat or growing.

Issue 15's goal: memory flat (< 10 MB growth) over 10M samples from a file, a pty and stdin.

The same 4-channel plotter lines (a board without faults, so that the alert table printed
at the end stays short) are scored by `sensorscope score`, in a process of its own each,
as a user runs it:

- file: ``score FILE.jsonl`` (a recording of the lines);
- stdin: ``gen | score -``, the generator writing the lines as fast as the pipe takes them;
- pty: ``score /dev/pts/N``, a writer process writing the lines into the pty's master as
  fast as the port takes them (--pty-rate: at that many lines/s instead), the run stopped
  with SIGTERM (as a service manager would; Ctrl-C takes the same way out) once the
  writer is done and the scorer has gone idle. A port does not wait for scoring: lines it
  reads while scoring is behind by more than the live backlog are not scored, and the
  summary says how many.

The scoring process's VmRSS (/proc/PID/status) is read every 0.5 s. Figures: RSS after the
first 10 % of the run's time (imports, detectors built, buffers at their size), at the
end (the last reading before the process exits, i.e. before the summary is printed), the
growth between the two (goal < 10 MB) and the largest reading after 10 % less the 10 %
one; peak RSS (``ru_maxrss`` from ``wait4``); wall time; samples scored, from the summary.

    python bench/memory.py                              # 10M samples a source: long
    python bench/memory.py --values 1000000 --sources file,pty

The pty run's wall time includes the idle second before its SIGTERM. (SIGTERM rather than
SIGINT: a shell's background job ignores SIGINT, and so would the scorer it starts.)
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.model import Frame  # noqa: E402
from sensorscope.recording import RecordingWriter  # noqa: E402
from sensorscope.simulate import Board  # noqa: E402

CHANNELS = 4
SAMPLE_EVERY = 0.5  # seconds between RSS readings

# Writes a text file to stdout in big blocks, as fast as the pipe takes them.
GENERATOR = """
import sys
with open(sys.argv[1], "rb") as fh:
    while block := fh.read(1 << 20):
        sys.stdout.buffer.write(block)
"""

# Writes a text file into a pty's master: as fast as it takes (rate 0) or N lines/s.
PTY_WRITER = """
import os, sys, time
fd, path, rate = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
step = 1000 if rate == 0 else max(1, int(rate / 100))
t0 = time.monotonic()
sent = 0
batch = []
with open(path, "rb") as fh:  # line by line: 10M samples are too many to hold at once
    for line in fh:
        batch.append(line)
        if len(batch) == step:
            sent += step
            if rate:
                delay = t0 + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            write_all(b"".join(batch))
            batch = []
write_all(b"".join(batch))
"""

SUMMARY = re.compile(r"(\d+) lines, \d+ parsed, \d+ channels, (\d+) samples")
UNSCORED = re.compile(r"(\d+) lines recorded but not scored")


def make_inputs(rec: Path, text: Path, values: int) -> None:
    """The same lines as a recording and as plain text."""
    board = Board(channels=CHANNELS, rate=50.0, seed=1, fmt="plotter", fault_every=1e12)
    n = values // CHANNELS
    w = RecordingWriter(str(rec), {"bench": {"kind": "serial"}})
    t0 = 1_700_000_000.0
    with text.open("w") as fh:
        for start in range(0, n, 10_000):
            lines = [board.line(i) for i in range(start, min(n, start + 10_000))]
            w.write([Frame(t0 + (start + i) / 50.0, "bench", x) for i, x in enumerate(lines)])
            fh.write("".join(x + "\n" for x in lines))
    w.close()


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


class Sampler(threading.Thread):
    """Reads a process's VmRSS every SAMPLE_EVERY seconds until it exits."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.t0 = time.monotonic()
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rss = rss_mb(self.pid)
            if rss is not None:
                self.samples.append((time.monotonic() - self.t0, rss))
            self.stop.wait(SAMPLE_EVERY)


def exited(pid: int) -> bool:
    """Whether the child has exited, leaving it to be reaped (wait4 then has its usage)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def run_score(
    args: list[str], stdin=subprocess.DEVNULL, until_idle: subprocess.Popen | None = None
) -> dict:
    """Run `sensorscope score ARGS`; with ``until_idle`` (a writer), interrupt it (SIGTERM)
    once that writer has exited and the scorer has used < 5 % of a core for a second."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("COLUMNS", None)
    out = tempfile.TemporaryFile("w+")
    t = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensorscope.cli", "score", *args, "--no-progress"],
        stdin=stdin, stdout=out, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    sampler = Sampler(proc.pid)
    sampler.start()
    if until_idle is not None:
        tck = os.sysconf("SC_CLK_TCK")
        while until_idle.poll() is None and not exited(proc.pid):
            time.sleep(0.2)
        last = cpu_ticks(proc.pid)
        while not exited(proc.pid):
            time.sleep(1.0)
            now = cpu_ticks(proc.pid)
            if (now - last) / tck < 0.05:
                proc.send_signal(signal.SIGTERM)
                stop_by = time.monotonic() + 30
                while not exited(proc.pid) and time.monotonic() < stop_by:
                    time.sleep(0.1)
                if not exited(proc.pid):
                    proc.kill()
                    print("score did not stop within 30 s of SIGTERM: killed", file=sys.stderr)
                break
            last = now
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t
    sampler.stop.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read()
    if code not in (0, 130 if until_idle is not None else 0):
        raise SystemExit(f"sensorscope score {' '.join(args)} exited with {code}:\n{text[-2000:]}")
    m = SUMMARY.search(text)
    u = UNSCORED.search(text)
    return {
        "samples": sampler.samples,
        "wall": wall,
        "peak": usage.ru_maxrss / 1024,
        "scored": int(m.group(2)) if m else None,
        "unscored": int(u.group(1)) if u else 0,
    }


def show(label: str, r: dict, values: int) -> None:
    samples = r["samples"]
    if len(samples) < 3:
        print(f"{label:10s} too short to sample ({r['wall']:.1f} s): give more --values")
        return
    end_t = samples[-1][0]
    at10 = next(rss for t, rss in samples if t >= 0.1 * end_t)
    later = [rss for t, rss in samples if t >= 0.1 * end_t]
    end = samples[-1][1]
    scored = r["scored"]
    said = f"{scored:,} scored" if scored is not None else "no summary"
    if r["unscored"]:
        said += f", {r['unscored']:,} lines not scored"
    if end_t < 20:
        said += "; short run: its 10 % mark may fall in start-up"
    print(
        f"{label:10s} RSS at 10% {at10:7.1f} MB  end {end:7.1f} MB  growth {end - at10:+6.1f} MB"
        f"  max after 10% {max(later) - at10:+6.1f} MB  peak {r['peak']:7.1f} MB"
        f"  {r['wall']:6.1f} s  {values / r['wall']:8,.0f} samples/s  ({said})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=10_000_000, help="channel samples a source")
    ap.add_argument("--sources", default="file,stdin,pty", help="which of file,stdin,pty")
    ap.add_argument("--pty-rate", type=float, default=0.0, help="pty lines/s (0: as fast as read)")
    args = ap.parse_args()
    wanted = [s.strip() for s in args.sources.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rec, text = tmp / "bench.jsonl", tmp / "bench.txt"
        make_inputs(rec, text, args.values)
        print(f"{args.values:,} samples a source ({args.values // CHANNELS:,} lines of 4 channels)")
        print("goal: growth < 10 MB")
        for source in wanted:
            if source == "file":
                show("file", run_score([str(rec)]), args.values)
            elif source == "stdin":
                gen = subprocess.Popen([sys.executable, "-c", GENERATOR, str(text)],
                                       stdout=subprocess.PIPE)  # fmt: skip
                assert gen.stdout is not None
                r = run_score(["-"], stdin=gen.stdout)
                gen.stdout.close()
                gen.wait()
                show("stdin", r, args.values)
            elif source == "pty":
                master, slave = os.openpty()
                tty.setraw(slave)
                port = os.ttyname(slave)
                writer = subprocess.Popen(
                    [sys.executable, "-c", PTY_WRITER, str(master), str(text), str(args.pty_rate)],
                    pass_fds=(master,),
                )  # fmt: skip
                try:
                    r = run_score([port], until_idle=writer)
                finally:
                    if writer.poll() is None:
                        writer.kill()
                    writer.wait()
                    os.close(master)
                    os.close(slave)
                show("pty", r, args.values)
            else:
                ap.error(f"unknown source {source!r}: file, stdin or pty")


if __name__ == "__main__":
    main()
