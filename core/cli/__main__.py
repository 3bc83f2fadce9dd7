"""``python -m sensorscope.cli``: the same command line as the ``sensorscope`` script."""

from __future__ import annotations

from sensorscope.cli import main

if __name__ == "__main__":  # imported (as the import hygiene test does), it runs nothing
    main()
