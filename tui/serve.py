"""The monitor in a browser: textual-serve runs a `sensorscope watch` per browser tab."""

from __future__ import annotations


def serve_in_browser(command: str, host: str, port: int, public_url: str | None) -> None:
    """Serve ``command`` (a `watch` command line) at http://HOST:PORT until interrupted."""
    from textual_serve.server import Server

    server = Server(command, host=host, port=port, title="sensorscope", public_url=public_url)
    server.serve()
