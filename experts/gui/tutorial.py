"""A step-by-step tutorial from a run: one numbered instruction and one annotated screenshot per step.

The instructions are written from the steps themselves (what was clicked, typed, chosen), in the
words a reader would follow; secrets are never shown ("type your password"). Markdown links its
images from `tutorial/`; the HTML page embeds the same files by relative path, so the folder can
be copied or served as it is.
"""

from __future__ import annotations

import html
from pathlib import Path

from agentos.sdk import ExpertContext
from experts.gui.annotate import annotate
from experts.gui.models import Step, StepRecord, TutorialPage


def instruction(step: Step) -> str:
    """The step in a reader's words (Markdown)."""
    t = f"**{step.target.name or step.target.describe()}**" if step.target else ""
    to = f"**{step.to.name or step.to.describe()}**" if step.to else ""
    a = step.action
    if a == "goto":
        return f"Open `{step.value}`."
    if a == "click":
        return f"Click {t}."
    if a == "fill":
        return f"In {t}, type your {step.secret}." if step.secret else f"In {t}, type `{step.value}`."
    if a == "select":
        return f"In {t}, choose **{step.value}**."
    if a in ("check", "uncheck"):
        return f"{'Tick' if a == 'check' else 'Untick'} {t}."
    if a == "press":
        return f"Press **{step.value}**" + (f" in {t}." if t else ".")
    if a == "drag":
        return f"Drag {t} onto {to}."
    if a == "upload":
        return f"In {t}, attach `{Path(step.value).name}`."
    if a == "download":
        return f"Click {t} to download the file."
    if a == "scroll":
        return f"Scroll to {t}." if t else f"Scroll {step.value or 'down'}."
    if a == "wait":
        return f"Wait until the page shows “{step.value}”."
    if a == "read":
        return f"Read {t}."
    return f"Check that the page shows “{step.value}”."


def pages(records: list[StepRecord], ctx: ExpertContext, base_url: str = "") -> list[TutorialPage]:
    """One annotated screenshot per step that was done: the page before the action (after it, for a goto).
    URLs of the served app lose their `http://127.0.0.1:PORT` (the port is different every run)."""
    out = []
    for r in records:
        if r.status != "ok" or r.before is None or r.after is None:
            continue
        source = r.after if r.step.action == "goto" else r.before
        image = annotate(source, ctx.artifacts.path(f"tutorial/{r.index:02d}.png"), r.index, r.box, r.to_box)
        out.append(TutorialPage(number=r.index, instruction=instruction(r.step), image=image, source=source,
                                check=r.check.replace(base_url, "") if base_url else r.check))
    return out


def write(ctx: ExpertContext, title: str, intro: str, steps: list[TutorialPage],
          problem: str = "") -> tuple[Path, Path]:
    """tutorial.md and tutorial.html in the node's artifacts."""
    md = [f"# {title}", ""] + ([intro, ""] if intro else [])
    body = [f"<h1>{html.escape(title)}</h1>"] + ([f"<p>{html.escape(intro)}</p>"] if intro else []) + ["<ol>"]
    for p in steps:
        rel = f"tutorial/{p.image.name}"
        md += [f"{p.number}. {p.instruction}", "", f"   ![Step {p.number}]({rel})", ""]
        if p.check:
            md += [f"   _Afterwards: {p.check}._", ""]
        body.append(f'<li value="{p.number}"><p>{_md_inline(p.instruction)}</p>'
                    f'<img src="{rel}" alt="Step {p.number}" width="640">'
                    + (f"<p><em>Afterwards: {html.escape(p.check)}.</em></p>" if p.check else "") + "</li>")
    body.append("</ol>")
    if problem:
        md += [f"> **The run stopped here:** {problem}", ""]
        body.append(f"<p><strong>The run stopped here:</strong> {html.escape(problem)}</p>")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
            "img{border:1px solid #ccc;display:block;margin:.5em 0}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    return ctx.artifacts.write_text("tutorial.md", "\n".join(md)), ctx.artifacts.write_text("tutorial.html", page)


def _md_inline(text: str) -> str:
    """The instruction's **bold** and `code` as HTML (the only Markdown `instruction` writes)."""
    import re

    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)
