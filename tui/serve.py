"""The monitor in a browser: textual-serve runs a `sensorscope watch` per browser tab."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

# textual-serve's page asks a web font service for Roboto Mono, which a lab without internet
# cannot reach (the page then waits on it). The same font ships in textual-serve's static
# folder, so the page is given a copy of its template that loads it from there.
_EXTERNAL_FONT_LINK = re.compile(
    r"<link\b[^>]*href=\"https?://fonts\.googleapis\.com/[^\"]*\"[^>]*/?>", re.IGNORECASE
)
_LOCAL_FONT = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf");
        font-style: normal;
      }
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf");
        font-style: italic;
      }
    </style>"""


def offline_templates(server_templates: Path, into: Path) -> Path:
    """Copy textual-serve's templates into ``into`` with the external font link replaced by
    the font files textual-serve serves itself; returns ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    for template in server_templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        (into / template.name).write_text(
            _EXTERNAL_FONT_LINK.sub(lambda _: _LOCAL_FONT, text), encoding="utf-8"
        )
    return into


def serve_in_browser(command: str, host: str, port: int, public_url: str | None) -> None:
    """Serve ``command`` (a `watch` command line) at http://HOST:PORT until interrupted."""
    import textual_serve.server
    from textual_serve.server import Server

    own = Path(textual_serve.server.__file__).parent
    with tempfile.TemporaryDirectory(prefix="sensorscope-serve-") as tmp:
        templates = offline_templates(own / "templates", Path(tmp))
        server = Server(
            command,
            host=host,
            port=port,
            title="sensorscope",
            public_url=public_url,
            statics_path=own / "static",
            templates_path=templates,
        )
        server.serve()
