"""The voice experts through the runtime: transcripts with speakers, meeting summaries whose action items
quote their utterances, spoken commands against a grammar, spoken replies, and which recognisers route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentos
from agentos.checks import NodeOutcome
from experts.voice.checks import QuotesHold
from experts.voice.expert import FasterWhisperVoice, SphinxVoice, WhisperVoice
from experts.voice.models import SpokenSegment, SummarizeOutput, TranscribeOutput

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "showcases" / "voice" / "audio"
MEETINGS = AUDIO / "meetings"
VOICE_C = ROOT / "showcases" / "voice" / "voice-c.yaml"


def _reference_transcript(name: str, folder: Path) -> Path:
    """A meeting's reference turns as the transcript.json voice.transcribe writes (what a perfect recogniser
    would give), so the summary is judged apart from recognition errors."""
    ref = json.loads((MEETINGS / f"{name}.json").read_text())
    segments = [SpokenSegment(speaker=t["speaker"], start=t["start"], end=t["end"], text=t["text"])
                for t in ref["turns"]]
    out = TranscribeOutput(text=" ".join(s.text for s in segments), segments=segments, speakers=ref["num_speakers"],
                           backend="reference", duration=ref["duration_s"], transcript=folder / f"{name}.json",
                           readable=folder / f"{name}.md")
    out.transcript.write_text(out.model_dump_json())
    return out.transcript


def _summarize(transcript: Path, tmp_path: Path) -> tuple[agentos.RunResult, SummarizeOutput]:
    node = {"id": "s", "capability": "voice.summarize", "inputs": {"transcript": str(transcript)}}
    r = agentos.run({"graph": [node]}, base_dir=tmp_path, output=tmp_path / "runs")
    assert r.ok, [n.error for n in r.nodes.values()]
    return r, SummarizeOutput.model_validate(r.output("s"))


@pytest.mark.parametrize("meeting", ["project_3spk", "standup_2spk"])
def test_the_summary_finds_the_scripted_action_items_each_quoting_its_utterance(meeting, tmp_path):
    r, out = _summarize(_reference_transcript(meeting, tmp_path), tmp_path)
    ref = json.loads((MEETINGS / f"{meeting}.json").read_text())["action_items"]
    assert [(i.owner, i.task) for i in out.action_items] == [(a["owner"], a["task"]) for a in ref]
    for item, expected in zip(out.action_items, ref, strict=True):
        assert item.due and item.due.endswith(expected["due"]), (item, expected)
        assert f"{item.speaker}: {item.quote}" in expected["utterances"][0] or any(
            item.quote in u for u in expected["utterances"])
    assert {v.check: v.passed for v in r.nodes["s"].verdicts}["voice.quotes"]
    assert "## Action items" in out.report.read_text()


def test_the_quote_check_fails_an_item_that_quotes_words_nobody_said(tmp_path):
    _, out = _summarize(_reference_transcript("project_3spk", tmp_path), tmp_path)
    outcome = NodeOutcome(node_id="s", expert="voice-sphinx", output=out, output_model=SummarizeOutput,
                          run_dir=tmp_path)
    assert QuotesHold()(outcome).passed
    forged = out.model_copy(deep=True)
    forged.action_items[0].quote = "Maria, can you send the budget draft by Thursday?"
    forged.action_items[1].at += 5.0
    outcome.output = forged
    verdict = QuotesHold()(outcome)
    assert not verdict.passed
    _, problems = QuotesHold().inspect(forged, outcome)
    assert problems[0].startswith("action item Maria: 'send the budget draft' quotes 'Maria, can you send the budget "
                                  "draft by Thursday?', which David did not say")
    assert len(problems) == 2


@pytest.mark.slow
def test_voice_c_separates_three_speakers_and_its_checks_hold(tmp_path):
    r = agentos.run(VOICE_C, output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    heard = TranscribeOutput.model_validate(r.output("transcript"))
    assert heard.speakers == 3 and heard.backend == "pocketsphinx/open"
    ref = json.loads((MEETINGS / "project_3spk.json").read_text())["turns"]
    assert [s.speaker for s in heard.segments] == [t["speaker"] for t in ref]  # one segment per turn, named
    for s, t in zip(heard.segments, ref, strict=True):
        assert t["start"] - 0.3 <= s.start < s.end <= t["end"] + 0.5  # the words heard lie inside the turn
    verdicts = {v.check: v.passed for n in r.nodes.values() for v in n.verdicts}
    assert verdicts["voice.transcript"] and verdicts["voice.quotes"]
    assert SummarizeOutput.model_validate(r.output("summary")).speakers[0].turns >= 2


@pytest.mark.slow
def test_voice_a_answers_a_spoken_question_from_the_corpus_with_citations_and_says_it(tmp_path):
    r = agentos.run(ROOT / "showcases" / "voice" / "voice-a.yaml", output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    assert r.output("hear")["request"] == "how long should a line of code be"
    answer = r.output("answer")
    assert answer["conclusions"] and all(c["citations"] for c in answer["conclusions"])
    assert "PEP 8" in Path(answer["report"]).read_text()
    spoken = r.output("say")
    assert spoken["text"] == answer["conclusions"][0]["text"] and spoken["seconds"] > 2.0


def test_a_spoken_command_is_one_of_the_allowed_phrases(tmp_path):
    commands = [json.loads(line) for line in (AUDIO / "commands.jsonl").read_text().splitlines()]
    phrases = [c["text"] for c in commands]
    run = next(c for c in commands if c["file"].endswith("run-hello.wav"))
    (tmp_path / "said.wav").write_bytes((AUDIO / run["file"]).read_bytes())
    r = agentos.run({"graph": [{"id": "c", "capability": "voice.command",
                                "inputs": {"audio": "said.wav", "phrases": phrases, "pronunciations": json.loads(
                                    (AUDIO / "vocabulary.json").read_text())["pronunciations"]}}]},
                    base_dir=tmp_path, output=tmp_path / "runs")
    assert r.ok, [n.error for n in r.nodes.values()]
    out = r.output("c")
    assert (out["request"], out["intent"], out["slots"]) == (run["text"], "", {})


def test_a_spoken_reply_comes_back_as_a_wav(tmp_path):
    r = agentos.run({"graph": [{"id": "say", "capability": "voice.speak",
                                "inputs": {"text": "The answer has three key points.", "voice": "en-gb"}}]},
                    base_dir=tmp_path, output=tmp_path / "runs")
    assert r.ok, [n.error for n in r.nodes.values()]
    assert Path(r.output("say")["wav"]).stat().st_size > 10_000 and r.output("say")["seconds"] > 1.0


def test_whisper_recognisers_route_only_with_local_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("AGENTOS_WHISPER_MODEL", raising=False)
    monkeypatch.delenv("AGENTOS_FASTER_WHISPER_MODEL", raising=False)
    assert SphinxVoice().unavailable(None) is None
    assert "set $AGENTOS_WHISPER_MODEL" in WhisperVoice().unavailable(None)
    assert "set $AGENTOS_FASTER_WHISPER_MODEL" in FasterWhisperVoice().unavailable(None)
    monkeypatch.setenv("AGENTOS_WHISPER_MODEL", str(tmp_path / "base.en.pt"))
    assert WhisperVoice().unavailable(None) is None  # configured: it routes, and a wrong path fails the node
