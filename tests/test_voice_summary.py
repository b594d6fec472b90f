"""voice.summarize's offline half and voice.speak: action items, key points, talk time, espeak-ng replies."""

from __future__ import annotations

import wave

import pytest

from agentos.errors import ExpertError
from experts.voice.actions import Utterance, action_items
from experts.voice.summary import summarize
from experts.voice.tts import check_voice, speak

MEETING = [
    Utterance(speaker="Alex", start=0.0, end=3.1, text="Good morning everyone. Let us review the launch plan."),
    Utterance(speaker="Maria", start=3.4, end=7.0, text="The launch budget is tight: the lamp parts cost more."),
    Utterance(speaker="Alex", start=7.2, end=10.0, text="Maria, can you send the budget draft by Friday?"),
    Utterance(speaker="Maria", start=10.3, end=12.0, text="Sure, I'll send it by Friday."),
    Utterance(speaker="Tom", start=12.4, end=15.9, text="I'll book the meeting room for next week."),
    Utterance(speaker="Alex", start=16.0, end=19.5, text="Tom will also check the supplier numbers before Monday."),
    Utterance(speaker="Maria", start=19.8, end=21.7, text="Could you share the slides, Alex?"),
    Utterance(speaker="Alex", start=22.0, end=23.5, text="Yes, I will do that tomorrow."),
    Utterance(speaker="Tom", start=23.9, end=26.0, text="Thanks. The launch parts arrive in March."),
]


def test_action_items_name_owner_task_due_date_and_quote_their_utterance():
    items = action_items(MEETING)
    got = [(i.owner, i.task, i.due) for i in items]
    assert got == [("Maria", "send the budget draft", "by Friday"), ("Tom", "book the meeting room", "for next week"),
                   ("Tom", "check the supplier numbers", "before Monday"), ("Alex", "share the slides", "tomorrow")]
    texts = {u.text: u for u in MEETING}
    for item in items:
        assert texts[item.quote].speaker == item.speaker and texts[item.quote].start == item.at


def test_a_reply_that_accepts_a_request_confirms_it_instead_of_adding_an_item():
    items = action_items(MEETING)
    maria = next(i for i in items if i.owner == "Maria")
    assert maria.confirmed_by == "Sure, I'll send it by Friday."
    assert sum(i.owner == "Maria" for i in items) == 1
    assert next(i for i in items if i.owner == "Alex").confirmed_by == "Yes, I will do that tomorrow."


def test_a_capitalised_word_that_is_no_participant_owns_nothing():
    items = action_items([Utterance(speaker="Ann", text="Friday, can you believe it?"),
                          Utterance(speaker="Ann", text="Paris will host the fair.")])
    assert items == []


def test_the_summary_keeps_talk_time_key_points_and_items_each_traceable():
    s = summarize(MEETING)
    assert [(p.speaker, p.turns) for p in s.speakers] == [("Alex", 4), ("Maria", 3), ("Tom", 2)]
    assert s.speakers[0].seconds == pytest.approx(3.1 + 2.8 + 3.5 + 1.5)
    assert 1 <= len(s.key_points) <= 5
    assert all(any(p.text in u.text and p.at == u.start for u in MEETING if u.speaker == p.speaker)
               for p in s.key_points)  # each a sentence its speaker said, when they said it
    assert any("launch" in p.text.lower() for p in s.key_points)  # the meeting's recurring subject
    assert "Maria to send the budget draft (by Friday)" in s.summary and s.written_by == "rules"
    with pytest.raises(ExpertError, match="the transcript has no utterances"):
        summarize([])


def test_speak_writes_a_wav_as_long_as_the_text_and_refuses_unknown_voices(tmp_path):
    short = speak("Three key points.", tmp_path / "short.wav")
    long = speak("The answer has three key points, each with its source, and a short summary at the end.",
                 tmp_path / "long.wav", voice="en-gb+f3")
    with wave.open(str(long.wav)) as w:
        assert w.getnchannels() == 1 and w.getnframes() / w.getframerate() == pytest.approx(long.seconds, abs=0.01)
    assert long.seconds > 2 * short.seconds  # about 160 words per minute
    assert 3.0 < long.seconds < 9.0
    with pytest.raises(ExpertError, match="espeak-ng has no voice 'klingon'"):
        check_voice("klingon")
    with pytest.raises(ExpertError, match="no voice variant 'zz'"):
        speak("hi", tmp_path / "x.wav", voice="en-us+zz")
    with pytest.raises(ExpertError, match="the text is empty"):
        speak("  ", tmp_path / "x.wav")
