"""A function expert: one async function, its card made by `@expert`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from agentos import ExpertContext, expert
from agentos_hello.greeter import Language

FAREWELLS: dict[str, str] = {"en": "Goodbye", "fr": "Au revoir", "de": "Auf Wiedersehen", "es": "Adiós",
                             "it": "Arrivederci"}


class FarewellInput(BaseModel):
    name: str = Field(min_length=1)
    language: Language = "en"


class Farewell(BaseModel):
    text: str
    card: Path = Field(description="a one-line card file, an artifact of the node")


@expert("hello-farewell", domain="hello", capability="hello.farewell", latency_s=0.001)
async def farewell(inputs: FarewellInput, ctx: ExpertContext) -> Farewell:
    """Say goodbye to `name` in `language`, and write it on a card (a text artifact)."""
    text = f"{FAREWELLS[inputs.language]}, {inputs.name}."
    ctx.progress(0.5, "writing the card")
    path = ctx.artifacts.write_text("card.txt", text + "\n")
    return Farewell(text=text, card=path)
