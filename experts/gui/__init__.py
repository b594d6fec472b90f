"""The GUI expert: Playwright driving the system's Chromium, fenced to allowed hosts.

Steps come from the task file (`click "Sign in"`, parsed by `steps.py`, grounded by role and
accessible name in `actions.py`, no model) and every one checks a post-condition; the runner keeps
before/after screenshots, downloads and a trace in the node's artifacts.
"""

from experts.gui.expert import GuiExpert

EXPERTS = [GuiExpert]

__all__ = ["EXPERTS", "GuiExpert"]
