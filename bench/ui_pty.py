"""The monitor under a flood, through a real terminal: repaints/s, key-to-screen, UI CPU, losses.

Issue 15's goal, at 100k values/s (64 channels x 1,563 Hz and 16 x 6,250 Hz): >= 20
repaints/s, key-to-screen p99 < 50 ms, 100 % of the inflow scored and recorded, the UI
thread under 50 % of a core.

Two ptys. One is the board: a writer process prints CSV lines of --channels values at
--rate lines/s into its master (4,096 distinct lines over and over, so that making them
costs the writer little). The other plays the user's terminal, --size columns x rows
(TIOCSWINSZ), TERM=xterm-256color: the real `sensorscope watch PORT --record REC` runs in a
child process with that pty as its controlling terminal and its stdin, stdout and stderr,
as a user runs it. This process reads everything the app writes to the terminal and
writes keys to it.

- Repaints: the terminal answers Textual's query for synchronized output (DECRQM 2026, as
  kitty, WezTerm, foot and iTerm2 do), so each frame Textual paints arrives between
  ESC[?2026h and ESC[?2026l; repaints/s are those frames over the measured window.
- Key-to-screen: `+` and `-` in turn are written to the terminal (each 0.2-0.3 s after the
  last shows) and timed from the write until the bytes of the notice that the threshold
  changed ("c00 threshold 0.56") arrive from the app. The notice is one styled segment,
  written whole; --pyte also feeds the output to a terminal emulator and checks that the
  screen shows the notice when its bytes arrive (`pip install pyte`).
- CPU: /proc/PID/task/*/stat over the window; the main thread (the one whose id is the
  process's) is Textual's, the UI thread. The process's total is shown too, with its child
  processes' (``--score-in process`` scores in one: its share is shown apart).
- Each flood runs twice, ``watch --score-in thread`` (scoring in a thread of the UI's
  process) and ``--score-in process`` (in a child process), unless --score-in names one.
- Scoring lag: the channel table calls a channel "stale" once the last sample it scored
  was received over a second ago. With no new lines after the flood, "stale" arriving Y s
  after the last line means scoring was 1 - Y s behind then (a lag of a second or more
  shows as stale already, and no new "stale" comes); "stale" in the window means scoring
  was at some moment over a second behind what was received.
- Scored and recorded: after the window the writer stops, the app is given --drain
  seconds (at least until its channels turn stale, at most 10 s), then `q` (which flushes
  the recording) quits it. The recording's lines are
  counted against the lines the writer wrote. `watch` prints no count of what it scored;
  the status line says "N lines not scored (behind)" when scoring drops lines, and the last
  such N seen on screen is what is counted as not scored.

The board blocks when the app does not read (a USB CDC board is held back the same way);
the writer then skips the lines it is late with rather than bursting, and shows them as
"skipped": offered but never sent, so any skip means the app did not keep up. Lines it
could not send because it did not get the CPU itself in time (a loaded machine) are shown
apart, as "late".

    python bench/ui_pty.py                                  # both floods, 20 s each
    python bench/ui_pty.py --channels 16 --rate 6250 --seconds 5
    python bench/ui_pty.py --channels 4 --rate 100 --seconds 3 --pyte
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WRITER = r"""
import json, math, os, random, sys, time
fd, channels = int(sys.argv[1]), int(sys.argv[2])
rate, seconds = float(sys.argv[3]), float(sys.argv[4])
rng = random.Random(1)
CYCLE = 4096
lines = [
    (",".join(f"{20 + math.sin(2 * math.pi * i / CYCLE + c) + rng.gauss(0, 0.1):.3f}"
              for c in range(channels)) + "\r\n").encode()
    for i in range(CYCLE)
]
def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
write_all((",".join(f"c{i:02d}" for i in range(channels)) + "\r\n").encode())
print("started", flush=True)
t0 = time.monotonic()
sent = skipped = late = 0
blocked = 0.0  # seconds in writes that waited for the app to read (over 10 ms each)
was_blocked = False
slack = max(1, int(rate * 0.1))  # lines a board's buffer holds while the host is not reading
while True:
    elapsed = time.monotonic() - t0
    if elapsed >= seconds:
        break
    due = int(elapsed * rate)
    if due - (sent + skipped + late) > slack:
        # Behind because the last write waited for the app, or because this process did
        # not get the CPU in time (a loaded machine): only the first is the app's doing.
        n = due - slack - sent - skipped - late
        if was_blocked:
            skipped += n
        else:
            late += n
    if due > sent + skipped + late:
        w0 = time.monotonic()
        write_all(b"".join(lines[k % CYCLE] for k in range(sent + skipped + late, due)))
        took = time.monotonic() - w0
        was_blocked = took > 0.01
        blocked += took if was_blocked else 0.0
        sent = due - skipped - late
    else:
        time.sleep(0.002)
print(json.dumps({"lines": sent, "skipped": skipped, "late": late, "blocked": blocked,
                  "seconds": time.monotonic() - t0}))
"""

SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # supported, now reset: Textual then brackets each frame
FRAME_END = b"\x1b[?2026l"
UNSCORED = re.compile(rb"([\d,]+) lines not scored")
STALE_MIN = 1.0  # s: tui/widgets/channel_table.py's, a channel's silence before "stale"
SUMMARY = re.compile(rb"(\d+) lines, \d+ parsed, \d+ channels, (\d+) samples")
NOTICE = re.compile(rb"(c\d\d) threshold (\d\.\d\d)")  # the writer's channels: c00, c01...


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, -(-len(s) * q // 100) - 1))] if s else float("nan")


class Terminal:
    """The master side of the app's terminal: reads what the app writes, answers its query
    for synchronized output, counts frames, and keeps a tail to search in."""

    def __init__(self, fd: int, cols: int, rows: int, emulate: bool) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self.frames = 0
        self.bytes = 0
        self.tail = b""
        self.unscored = 0
        self.stale_at: float | None = None  # when "stale" first came since it was reset
        self.closed = False
        self.screen = self.stream = None
        if emulate:
            try:
                import pyte
            except ImportError:
                raise SystemExit("--pyte needs pyte: pip install pyte") from None
            self.screen = pyte.Screen(cols, rows)
            self.stream = pyte.ByteStream(self.screen)

    def pump(self, timeout: float) -> bytes:
        """What arrived within ``timeout`` seconds (b"" if nothing), with the last 256 bytes
        before it in front, so that a text split across two reads is still found."""
        if self.closed:
            time.sleep(timeout)
            return b""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        chunks = []
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            except OSError:  # EIO: the app closed the terminal
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            chunks.append(data)
        data = b"".join(chunks)
        if not data:
            return b""
        window = self.tail + data
        # A sequence split across two reads: too short to be whole in the tail's end.
        if SYNC_QUERY in self.tail[1 - len(SYNC_QUERY) :] + data:
            os.write(self.fd, SYNC_REPLY)
        self.frames += (self.tail[1 - len(FRAME_END) :] + data).count(FRAME_END)
        self.bytes += len(data)
        if self.stale_at is None and b"stale" in self.tail[-4:] + data:
            self.stale_at = time.monotonic()
        for m in UNSCORED.finditer(window):
            self.unscored = max(self.unscored, int(m.group(1).replace(b",", b"")))
        if self.stream is not None:
            self.stream.feed(data)
        self.tail = window[-256:]
        return window

    def shows(self, text: str) -> bool:
        return self.screen is not None and any(text in line for line in self.screen.display)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the scoring child of ``--score-in process``)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def cpu_ticks(pid: int) -> dict[tuple[int, int], int]:
    """utime + stime of each thread of ``pid`` and of its child processes, in clock ticks,
    keyed by (process, thread)."""
    out = {}
    for proc in [pid, *children(pid)]:
        try:
            tids = os.listdir(f"/proc/{proc}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{proc}/task/{tid}/stat") as fh:
                    fields = fh.read().rpartition(")")[2].split()
            except OSError:
                continue  # a thread that ended
            out[(proc, int(tid))] = int(fields[11]) + int(fields[12])
    return out


def recorded_lines(path: Path) -> int:
    """Records of a received line (not a header, event or sent line)."""
    n = 0
    with path.open() as fh:
        for raw in fh:
            if '"line"' in raw and '"tx"' not in raw:
                n += 1
    return n


def run(args: argparse.Namespace, channels: int, rate: float, score_in: str) -> None:
    cols, rows = args.size
    board_m, board_s = os.openpty()
    tty.setraw(board_s)
    port = os.ttyname(board_s)
    term_m, term_s = os.openpty()
    fcntl.ioctl(term_s, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(ROOT))
    for k in ("COLUMNS", "LINES", "NO_COLOR", "TEXTUAL", "TERM_PROGRAM"):
        env.pop(k, None)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-pty-"))
    rec = tmp / "rec.jsonl"

    def controlling_terminal() -> None:  # in the child, after setsid: as a shell does
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    app = subprocess.Popen(
        [sys.executable, "-m", "sensorscope.cli", "watch", port, "--record", str(rec),
         "--labels", str(tmp / "labels.jsonl"), "--score-in", score_in],
        stdin=term_s, stdout=term_s, stderr=term_s, env=env, cwd=tmp,
        start_new_session=True, preexec_fn=controlling_terminal,
    )  # fmt: skip
    os.close(term_s)
    term = Terminal(term_m, cols, rows, args.pyte)
    writer = None
    latencies: list[float] = []
    misses = screen_disagrees = 0
    exit_text = b""
    lag: float | None = None
    stale_in_window = False
    try:
        deadline = time.monotonic() + 30
        while b": connected" not in term.pump(0.1):
            if time.monotonic() > deadline or app.poll() is not None:
                raise SystemExit(f"the app did not connect to {port}; it wrote: {term.tail!r}")
        started = time.monotonic()
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(board_m), str(channels), str(rate),
             str(args.warmup + args.seconds)],
            pass_fds=(board_m,), stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert writer.stdout is not None
        writer.stdout.readline()  # "started": the header is written, the lines come now
        while time.monotonic() - started < args.warmup:
            term.pump(0.05)
        frames0, bytes0, wall0 = term.frames, term.bytes, time.monotonic()
        term.stale_at = None
        cpu0 = cpu_ticks(app.pid)
        end = wall0 + args.seconds
        up_value: str | None = None  # the threshold `+` shows; `-` shows 0.01 less
        step = 1
        while time.monotonic() < end:
            want = None
            if up_value is not None:
                want = up_value if step > 0 else f"{float(up_value) - 0.01:.2f}"
            t = time.monotonic()
            os.write(term_m, b"+" if step > 0 else b"-")
            found = None
            while time.monotonic() - t < 5 and found is None:
                for m in NOTICE.finditer(term.pump(0.05)):
                    if want is None or m.group(2).decode() == want:
                        found = m
            if found is None:
                misses += 1
                # Lost or slow, the threshold is no longer known: the next `+` finds it again.
                up_value, step = None, -1
            else:
                latencies.append(time.monotonic() - t)
                if up_value is None:
                    up_value = found.group(2).decode()
                if args.pyte and not term.shows(found.group(0).decode()):
                    screen_disagrees += 1
            step = -step
            pause = time.monotonic() + random.uniform(0.2, 0.3)
            while time.monotonic() < pause:
                term.pump(0.05)
        wall = time.monotonic() - wall0
        cpu1 = cpu_ticks(app.pid)
        frames, out_bytes = term.frames - frames0, term.bytes - bytes0
        stale_in_window = term.stale_at is not None
        while writer.poll() is None:
            term.pump(0.05)
        flood_end = time.monotonic()
        wrote = json.loads(writer.stdout.read().strip().splitlines()[-1])
        # The channels turn "stale" STALE_MIN after the last sample *scored* was received:
        # with no backlog, a second after the flood; sooner by as much as scoring lags.
        term.stale_at = None
        drain = flood_end + max(args.drain, STALE_MIN + 0.5)
        while time.monotonic() < drain or (
            term.stale_at is None and time.monotonic() < flood_end + 10
        ):
            term.pump(0.05)
        lag = None if term.stale_at is None else STALE_MIN - (term.stale_at - flood_end)
        os.write(term_m, b"q")
        deadline = time.monotonic() + 30
        said = []  # what the app writes from `q` on: its exit lines follow the last frame
        while app.poll() is None and time.monotonic() < deadline:
            said.append(term.pump(0.05))
        if app.poll() is None:
            raise SystemExit("the app did not quit within 30 s of `q`")
        said.append(term.pump(0.2))
        exit_text = b"".join(said)
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
        if app.poll() is None:
            app.kill()
        for fd in (board_m, board_s, term_m):
            os.close(fd)
    tck = os.sysconf("SC_CLK_TCK")
    per_thread = {tid: (cpu1.get(tid, 0) - cpu0.get(tid, 0)) / tck for tid in cpu1}
    ui = per_thread.get((app.pid, app.pid), 0.0)
    total = sum(per_thread.values())
    apart = sum(v for (proc, _), v in per_thread.items() if proc != app.pid)
    others = sorted((v for k, v in per_thread.items() if k != (app.pid, app.pid)), reverse=True)
    recorded = recorded_lines(rec) if rec.exists() else 0
    sent = wrote["lines"] + 1  # the header line too
    offered = channels * rate
    print(f"flood: {channels} channels x {rate:g} Hz = {offered:,.0f} values/s offered; "
          f"terminal {cols}x{rows}; {wall:.1f} s after {args.warmup:g} s warm-up; "
          f"scored in a {score_in}")  # fmt: skip
    print(f"  inflow: {wrote['lines'] * channels / wrote['seconds']:,.0f} values/s sent; "
          f"{wrote['skipped']:,} lines skipped (the app not reading: writes waited "
          f"{wrote['blocked']:.1f} s), {wrote['late']:,} not sent (the writer late)")  # fmt: skip
    print(f"  repaints: {frames / wall:.1f}/s (goal >= 20); {out_bytes / wall / 1e3:,.0f} kB/s "
          "to the terminal")  # fmt: skip
    if latencies:
        ms = [x * 1000 for x in latencies]
        print(f"  key-to-screen: p50 {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
              f"worst {max(ms):.1f} ms over {len(ms)} presses (goal p99 < 50 ms)"
              + (f"; {misses} never shown within 5 s" if misses else ""))  # fmt: skip
    else:
        print(f"  key-to-screen: no press was shown within 5 s ({misses} presses)")
    if args.pyte:
        print(f"  pyte screen: {screen_disagrees} presses whose bytes came but the screen "
              "did not show them")  # fmt: skip
    top = ", ".join(f"{100 * v / wall:.0f}%" for v in others[:4])
    print(f"  CPU: UI thread {100 * ui / wall:.0f}% of a core (goal < 50%); process "
          f"{100 * total / wall:.0f}%, of it {100 * apart / wall:.0f}% in the scoring child "
          f"(other threads: {top})")  # fmt: skip
    print(f"  recorded: {recorded:,} of {sent:,} lines sent ({100 * recorded / sent:.2f}%)")
    unscored = term.unscored
    if stale_in_window:
        print("  scoring lag: channels shown stale at times in the window (over 1 s unscored)")
    if lag is None:
        print("  scoring lag at the flood's end: >= 1 s (no channel turned stale after it: "
              "they were already)")  # fmt: skip
    else:
        print(f"  scoring lag at the flood's end: {max(0.0, lag):.1f} s (the channels turned "
              f"stale {STALE_MIN - lag:.1f} s after the last line)")  # fmt: skip
    print(f"  scored: {unscored:,} lines shown as not scored "
          f"({100 * (sent - unscored) / sent:.2f}% scored, as the screen tells)")  # fmt: skip
    # `score`'s summary line, should `watch` ever print one at exit.
    summary = SUMMARY.search(exit_text)
    if summary is not None:
        lines, samples = (int(x) for x in summary.groups())
        share = 100 * samples / (wrote["lines"] * channels)
        print(f"  at exit the app says: {lines:,} lines, {samples:,} samples scored "
              f"({share:.2f}% of the values sent)")  # fmt: skip
    else:
        print("  at exit the app prints no count of what it scored")
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, help="one flood of this many channels (with --rate)")
    ap.add_argument("--rate", type=float, help="lines per second of that flood")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured window")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of flood before it")
    ap.add_argument("--drain", type=float, default=2.0, help="seconds after the flood ends")
    ap.add_argument("--size", type=int, nargs=2, default=(160, 48), metavar=("COLS", "ROWS"))
    ap.add_argument("--pyte", action="store_true", help="also check the screen with pyte")
    ap.add_argument("--score-in", choices=("both", "thread", "process"), default="both",
                    help="watch's --score-in (default: each flood both ways)")  # fmt: skip
    args = ap.parse_args()
    if (args.channels is None) != (args.rate is None):
        ap.error("--channels and --rate go together")
    floods = [(args.channels, args.rate)] if args.channels else [(64, 1563.0), (16, 6250.0)]
    ways = ("thread", "process") if args.score_in == "both" else (args.score_in,)
    for channels, rate in floods:
        for way in ways:
            run(args, channels, rate, way)


if __name__ == "__main__":
    main()
