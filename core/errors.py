"""Errors a user can cause: the CLI prints their message as one line and exits 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user asked for (bad port, bad file, bad option)."""
