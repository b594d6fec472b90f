"""voice.summarize's offline half and voice.speak: action items, key points, talk time, espeak-ng replies."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from agentos.errors import ExpertError
from experts.voice.action_score import plain, reference_meeting, score_items, score_meeting, score_meetings
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
HEARD = [u.model_copy(update={"text": plain(u.text)}) for u in MEETING]  # as pocketsphinx writes it
MEETINGS_DIR = Path(__file__).resolve().parents[1] / "showcases" / "voice" / "audio" / "meetings"
MEETINGS = sorted(p for p in MEETINGS_DIR.glob("*.json") if reference_meeting(p)[0])  # those whose turns have text


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


def test_heard_text_yields_the_same_items_with_owners_written_as_the_speakers_are():
    assert HEARD[2].text == "maria can you send the budget draft by friday"
    items = action_items(HEARD)
    assert [(i.owner, i.task, i.due) for i in items] == [
        ("Maria", "send the budget draft", "by friday"), ("Tom", "book the meeting room", "for next week"),
        ("Tom", "check the supplier numbers", "before monday"), ("Alex", "share the slides", "tomorrow")]
    assert [i.confirmed_by for i in items] == ["sure i'll send it by friday", None, None, "yes i will do that tomorrow"]


def test_a_heard_turn_is_cut_into_clauses_each_quoted_word_for_word():
    turns = [Utterance(speaker="Lena", start=1.0, text="great thanks omar can you finish the release notes by thursday"
                       " the design is done"),
             Utterance(speaker="Omar", start=5.0, text="yes i'll finish them by thursday could you ask the design team "
                       "for the new icons"),
             Utterance(speaker="Lena", start=9.0, text="sure i'll ask them this afternoon")]
    items = action_items(turns)
    assert [(i.owner, i.task, i.due) for i in items] == [("Omar", "finish the release notes", "by thursday"),
                                                         ("Lena", "ask the design team for the new icons",
                                                          "this afternoon")]
    assert items[0].quote == "omar can you finish the release notes by thursday the design is done"
    assert items[0].confirmed_by == "yes i'll finish them by thursday"
    assert items[1].quote == "could you ask the design team for the new icons"
    for item in items:
        assert any(item.quote in t.text and t.speaker == item.speaker and t.start == item.at for t in turns)


def test_a_heard_name_is_one_of_the_names_given_and_not_someone_a_request_mentions():
    turns = [Utterance(speaker="S1", text="could you send the notes to maria"), Utterance(speaker="S2", text="okay"),
             Utterance(speaker="S1", text="paris will host the fair maria will book the flights")]
    items = action_items(turns, ["Maria", "S1", "S2"])
    assert [(i.owner, i.task) for i in items] == [("S2", "send the notes to maria"), ("Maria", "book the flights")]
    assert summarize(turns, names=["Maria", "S1", "S2"]).action_items == items
    assert [i.owner for i in summarize(turns).action_items] == ["S2"]  # Maria is no speaker, so no one's name


def test_the_score_matches_owner_and_overlapping_task_and_checks_the_due_date():
    found = action_items(MEETING)
    reference = [{"owner": "maria", "task": "send the budget draft", "due": "Friday"},
                 {"owner": "Tom", "task": "book the room", "due": "next week"},
                 {"owner": "Tom", "task": "order the catering", "due": None}]
    score = score_items(found, reference)
    assert (score.expected, score.found, score.matched, score.dues_right) == (3, 4, 2, 2)
    assert score.precision == 0.5 and score.recall == pytest.approx(2 / 3) and score.f1 == pytest.approx(4 / 7)


@pytest.mark.parametrize("meeting", MEETINGS, ids=lambda p: p.stem)
def test_a_committed_meeting_heard_unpunctuated_in_lowercase_yields_its_action_items(meeting):
    heard = score_meeting(meeting, heard=True)
    assert heard.f1 >= 0.85 and heard.due_accuracy >= 0.75, heard  # planning_4spk: one extra item, one due missed
    said, names, _ = reference_meeting(meeting, heard=True)
    for item in action_items(said, names):
        assert item.owner in names
        assert any(item.quote in u.text and u.speaker == item.speaker and u.start == item.at for u in said)
        assert item.confirmed_by is None or any(item.confirmed_by in u.text for u in said)


def test_the_showcase_meeting_heard_unpunctuated_gives_the_reference_owners_tasks_and_dues():
    said, names, _ = reference_meeting(MEETINGS_DIR / "project_3spk.json", heard=True)
    assert said[2].text == "maria can you send the budget draft by friday"
    assert [(i.owner, i.task, i.due) for i in action_items(said, names)] == [
        ("Maria", "send the budget draft", "by friday"),
        ("Ken", "review the contract with the hosting provider", "by next wednesday"),
        ("Ken", "book the meeting room for the client demo", "today"),
        ("David", "update the project timeline", "before monday")]


def test_written_and_heard_meetings_score_no_worse_than_the_punctuated_rules_did():
    written, heard = score_meetings(MEETINGS), score_meetings(MEETINGS, heard=True)
    assert (written.expected, written.found, written.matched) == (18, 19, 18)  # as before
    assert written.dues_right >= 17  # before: 16 (a confirmation's own due date now wins)
    assert heard.f1 >= 0.97 and heard.dues_right >= 17  # before: F1 0.72, 12 dues right


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
