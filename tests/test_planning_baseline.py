"""The keyword baseline planner: which chain it builds, how it fills inputs, when it refuses or asks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentos.planning.baseline import RulePlanner
from agentos.planning.cards import ALL
from agentos.planning.catalogue import registry_from_entries
from agentos.planning.format import CatalogueEntry
from agentos.taskspec import parse_task


def _catalogue(*capabilities: str, renamed: dict[str, str] | None = None) -> list[CatalogueEntry]:
    names = renamed or {}
    return [ALL[c].entry(ALL[c].descriptions[0], names.get(c)) for c in capabilities]


EVERYTHING = _catalogue(*ALL)


def _plan(request: str, catalogue: list[CatalogueEntry] = EVERYTHING,
          inputs: dict[str, str] | None = None) -> dict[str, Any]:
    return RulePlanner().plan(request, catalogue, inputs or {})


def _chain(answer: dict[str, Any]) -> list[str]:
    return [n["capability"] for n in answer["nodes"]]


def test_summarising_a_folder_loads_it_then_summarises_the_text() -> None:
    answer = _plan("Summarise notes/ in 3 sentences")
    assert _chain(answer) == ["text.load", "text.summarize"]
    load, summary = answer["nodes"]
    assert load["inputs"] == {"path": "notes/"}
    assert summary["inputs"] == {"text": "${" + load["id"] + ".text}", "max_sentences": 3}


def test_a_chinese_meeting_request_transcribes_then_summarises_by_speaker() -> None:
    answer = _plan("总结kickoff.wav里的会议，并列出待办事项")
    assert _chain(answer) == ["voice.transcribe", "voice.summarize"]
    transcribe, summary = answer["nodes"]
    assert transcribe["inputs"] == {"audio": "kickoff.wav"}
    assert summary["inputs"]["segments"] == "${" + transcribe["id"] + ".segments}"


def test_a_key_visual_with_variants_feeds_its_image_to_the_variants() -> None:
    answer = _plan("Design a key visual for Vela Shoes with the headline 'Step into comfort', then make 3 variants")
    assert _chain(answer) == ["image.keyvisual", "image.variants"]
    visual, variants = answer["nodes"]
    assert visual["inputs"]["headline"] == "Step into comfort"
    assert variants["inputs"] == {"image": "${" + visual["id"] + ".image}", "count": 3}


def test_a_spoken_question_researched_and_answered_aloud_runs_in_pipeline_order() -> None:
    answer = _plan("Listen to ask.mp3, search papers/ for the answer, summarise it and reply with speech")
    assert _chain(answer) == ["voice.command", "research.investigate", "text.summarize", "voice.speak"]
    command, research = answer["nodes"][:2]
    assert research["inputs"] == {"question": "${" + command["id"] + ".request}", "corpus": "papers/"}


def test_a_chinese_browser_request_becomes_one_gui_step() -> None:
    answer = _plan("打开浏览器访问http://localhost:3000/login，登录后下载上周的报告")
    assert _chain(answer) == ["gui.do"]
    assert answer["nodes"][0]["inputs"]["url"] == "http://localhost:3000/login"


def test_task_inputs_of_the_right_kind_are_passed_by_reference() -> None:
    answer = _plan("Transcribe the recording", inputs={"notes": "notes/", "meeting": "standup.mp3"})
    assert answer["nodes"][0]["inputs"] == {"audio": "${inputs.meeting}"}


def test_a_renamed_capability_is_used_under_the_catalogues_name() -> None:
    catalogue = _catalogue("text.load", "text.summarize", renamed={"text.load": "files.read"})
    assert _chain(_plan("Summarise notes/", catalogue)) == ["files.read", "text.summarize"]


def test_it_refuses_when_the_catalogue_lacks_a_needed_capability() -> None:
    catalogue = _catalogue("text.load", "text.summarize", "image.generate")
    assert _plan("Transcribe meeting.wav", catalogue) == {"refuse": "no capability in the catalogue can do this"}
    assert "refuse" in _plan("Summarise notes/ and email the summary to bob@example.com", catalogue)


def test_it_refuses_a_request_no_keyword_matches() -> None:
    assert "refuse" in _plan("Book me a flight to Oslo for tomorrow")
    assert "refuse" in _plan("给我办公室点一份披萨")


def test_it_asks_which_file_when_the_request_names_none() -> None:
    answer = _plan("Transcribe the recording")
    assert answer == {"clarify": "which recording do you mean? add the audio file to the task inputs"}
    assert "clarify" in _plan("总结这些文档")


def test_words_inside_file_names_and_quotes_ask_for_nothing() -> None:
    answer = _plan("Make an infographic titled 'Research summary' from meeting_specs.csv")
    assert _chain(answer) == ["image.infographic"]
    assert answer["nodes"][0]["inputs"] == {"table": "meeting_specs.csv", "title": "Research summary"}


def test_its_plans_pass_the_project_validator() -> None:
    for request in ("Read briefs/, summarise it and pick 5 keywords, then write a report titled 'Notes'",
                    "Compare Kafka and RabbitMQ on latency using evidence/ and turn it into an infographic",
                    "Do what command.wav says in http://localhost:9000/portal"):
        answer = _plan(request)
        parse_task({"goal": request, "graph": answer["nodes"]}, registry_from_entries(EVERYTHING),
                   base_dir=Path.cwd())
        assert len(answer["nodes"]) >= 2, request
