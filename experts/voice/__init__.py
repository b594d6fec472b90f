"""The voice experts (issue #10): speech to text with speakers separated, spoken commands, meeting
summaries with action items, and spoken replies.

One expert per recogniser (`voice-sphinx`, the offline default; `voice-whisper` and
`voice-faster-whisper` from local weights), so the router chooses among the available ones.
"""

from experts.voice.expert import FasterWhisperVoice, SphinxVoice, WhisperVoice

EXPERTS = [SphinxVoice, WhisperVoice, FasterWhisperVoice]

__all__ = ["EXPERTS", "FasterWhisperVoice", "SphinxVoice", "WhisperVoice"]
