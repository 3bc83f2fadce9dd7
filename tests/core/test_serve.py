"""`sensorscope serve`: the monitor in a browser, through a real textual-serve server."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import urllib.request

import aiohttp
from mqtt_broker import free_port, wait_until

from sensorscope.cli.monitor import demo_recording


def page(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
            return resp.read().decode()
    except OSError:
        return None


async def session_output(port: int, text: bytes, timeout: float = 30.0) -> bytes:
    """Open a browser's websocket session; read terminal output until ``text`` shows,
    then press q."""
    url = f"http://127.0.0.1:{port}/ws?width=120&height=40"
    out = b""
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text not in out and loop.time() < deadline:
            try:
                msg = await ws.receive(timeout=1)
            except asyncio.TimeoutError:
                continue
            if msg.type == aiohttp.WSMsgType.BINARY:
                out += msg.data
            elif msg.type != aiohttp.WSMsgType.TEXT:
                break
        await ws.send_str(json.dumps(["stdin", "q"]))
        while (await ws.receive(timeout=10)).type not in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        ):
            pass
    return out


def test_serve_runs_the_monitor_in_a_browser_session_on_loopback(procs, tmp_path):
    port = free_port()
    labels = tmp_path / "demo.labels.jsonl"
    server = procs("serve", str(demo_recording()), "--labels", str(labels), "--port", str(port))
    html = wait_until(lambda: page(port), 30, "the page")
    assert f"ws://127.0.0.1:{port}/ws" in html
    # Bound to 127.0.0.1 only: another loopback address can still take the port.
    with socket.create_server(("127.0.0.2", port)):
        pass
    out = asyncio.run(session_output(port, b"pressure"))
    assert b"pressure" in out
    server.send_signal(signal.SIGINT)
    stdout, _ = server.communicate(timeout=20)
    assert server.returncode == 0
    assert f"labels: {labels}" in stdout.decode()


def test_serve_refuses_stdin_in_one_line(cli):
    # Every browser tab runs a monitor of its own, on the server's stdin for its keys: a
    # pipe into `serve` cannot reach them, nor be read by more than one.
    proc = cli("serve", "-", "--port", str(free_port()), input=b"temp:21.5\n" * 5, timeout=20)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "sensorscope record - -o" in err, err


def test_serve_checks_the_watch_options_before_listening(cli, tmp_path):
    demo = str(demo_recording())
    cases = [
        (["/dev/ttyNOPE"], "no such port: /dev/ttyNOPE"),
        ([demo, "--record", str(tmp_path / "r.jsonl")], "record with `sensorscope record`"),
        ([demo, "--webhook", "http://127.0.0.1:9/x"], "run them in `sensorscope agent`"),
        ([demo, "--detector", "nope"], "nope"),
    ]
    for args, text in cases:
        proc = cli("serve", *args)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "Traceback" not in err, err
        assert text in err, err
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        proc = cli("serve", demo, "--port", str(port))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in err, err


def test_serve_page_needs_nothing_from_outside_the_server(procs, tmp_path):
    """A lab without internet: every resource the page names comes from serve itself."""
    import re
    from urllib.parse import urljoin, urlparse

    port = free_port()
    labels = tmp_path / "demo.labels.jsonl"
    procs("serve", str(demo_recording()), "--labels", str(labels), "--port", str(port))
    base = f"http://127.0.0.1:{port}/"
    html = wait_until(lambda: page(port), 30, "the page")
    refs = re.findall(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", html)
    refs += re.findall(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", html)
    refs = [r for r in refs if not r.startswith(("data:", "#"))]
    assert any("fonts/" in r for r in refs), refs  # the font is there, served locally
    fetched = []
    for ref in refs:
        url = urljoin(base, ref)
        assert urlparse(url).netloc == f"127.0.0.1:{port}", ref
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert resp.status == 200, url
            body = resp.read()
        fetched.append(url)
        if url.endswith(".css"):
            for inner in re.findall(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", body.decode()):
                assert not urlparse(inner).netloc, (url, inner)
    assert len(fetched) >= 3
