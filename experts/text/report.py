"""`text.report`: write a Markdown report artifact from titled sections."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from agentos import Expert, ExpertContext, operation


class Section(BaseModel):
    heading: str
    body: str | list[str] = Field(description="a paragraph, or a list rendered as bullets")


class ReportInput(BaseModel):
    title: str
    sections: list[Section] = Field(min_length=1)
    filename: str = "report.md"


class ReportOutput(BaseModel):
    path: Path
    markdown: str
    words: int


class ReportExpert(Expert):
    """Renders sections to Markdown and saves it as an artifact of the node."""

    name = "markdown-report"
    domain = "text"

    @operation("text.report", latency_s=0.01)
    def report(self, inputs: ReportInput, ctx: ExpertContext) -> ReportOutput:
        parts = [f"# {inputs.title}", ""]
        for s in inputs.sections:
            parts += [f"## {s.heading}", ""]
            parts += [f"- {item}" for item in s.body] if isinstance(s.body, list) else [s.body]
            parts.append("")
        md = "\n".join(parts)
        path = ctx.artifacts.write_text(inputs.filename, md)
        return ReportOutput(path=path, markdown=md, words=len(md.split()))
