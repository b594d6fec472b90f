"""The plugin's own tests: each expert in three lines with `agentos.testing`."""

from __future__ import annotations

from pathlib import Path

from agentos_hello import Greeter, farewell

from agentos.testing import check_card, run_expert, run_task


def test_cards_are_complete() -> None:
    assert [op.capability for op in check_card(Greeter()).operations] == ["hello.greet", "hello.shout"]
    assert check_card(farewell).operations[0].capability == "hello.farewell"


def test_greet_speaks_the_asked_language() -> None:
    out = run_expert(Greeter(), "hello.greet", {"name": "Ada", "language": "de"})
    assert out.text == "Hallo, Ada!"


def test_shout_upper_cases() -> None:
    assert run_expert(Greeter(), "hello.shout", {"text": "Hola, Ada!"}).text == "HOLA, ADA!"


def test_farewell_writes_its_card_as_an_artifact(tmp_path: Path) -> None:
    out = run_expert(farewell, "hello.farewell", {"name": "Ada", "language": "it"}, run_dir=tmp_path)
    assert out.card == tmp_path / "artifacts" / "test" / "card.txt"
    assert out.card.read_text() == "Arrivederci, Ada.\n"


def test_greet_then_shout_in_a_task(tmp_path: Path) -> None:
    task = {"graph": [
        {"id": "greet", "capability": "hello.greet", "inputs": {"name": "Ada", "language": "es"}},
        {"id": "shout", "capability": "hello.shout", "inputs": {"text": "${greet.text}"}},
    ]}
    result = run_task(task, experts=[Greeter()], tmp_path=tmp_path)
    assert result.output("shout")["text"] == "HOLA, ADA!"
