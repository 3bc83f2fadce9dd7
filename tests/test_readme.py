"""The README is what a new user reads first: its links lead somewhere, and the options it
documents exist."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _anchor(heading: str) -> str:
    # GitHub's rule: lower case, punctuation other than - and space dropped, spaces to -.
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_link_within_the_readme_leads_to_a_heading():
    headings = {_anchor(m) for m in re.findall(r"^#+ (.+)$", README, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert links, "the README links its sections"
    assert links <= headings, f"links to no heading: {sorted(links - headings)}"


def test_the_mqtt_topic_layout_is_documented():
    for topic in ("PREFIX/SOURCE/reading", "PREFIX/SOURCE/alert", "PREFIX/SOURCE/event"):
        assert f"`{topic}`" in README
