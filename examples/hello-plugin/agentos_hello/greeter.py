"""A class-based expert with two operations: `hello.greet` and `hello.shout`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agentos import Expert, ExpertContext, operation

Language = Literal["en", "fr", "de", "es", "it"]

GREETINGS: dict[str, str] = {"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola", "it": "Ciao"}


class GreetInput(BaseModel):
    name: str = Field(min_length=1, description="who to greet")
    language: Language = Field("en", description="ISO 639-1 code of the greeting's language")


class Greeting(BaseModel):
    text: str
    language: Language


class ShoutInput(BaseModel):
    text: str = Field(min_length=1, description="text to shout")


class Greeter(Expert):
    """Greets people by name in English, French, German, Spanish or Italian."""

    name = "hello-greeter"
    domain = "hello"

    @operation("hello.greet", latency_s=0.001)
    def greet(self, inputs: GreetInput, ctx: ExpertContext) -> Greeting:
        """Say hello to `name` in `language`."""
        ctx.log.debug("greeting %s in %s", inputs.name, inputs.language)
        return Greeting(text=f"{GREETINGS[inputs.language]}, {inputs.name}!", language=inputs.language)

    @operation("hello.shout", latency_s=0.001)
    def shout(self, inputs: ShoutInput) -> Greeting:
        """Upper-case a greeting (no `ctx` parameter: an operation may leave it out)."""
        return Greeting(text=inputs.text.upper(), language="en")
