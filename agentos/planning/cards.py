"""The capabilities the planning data is written over: today's text experts and the showcase experts.

The text cards copy the fields of `experts/text` exactly. The image, voice, GUI and research cards
follow the operations their issues name; their experts land later and may add fields, which is
why every example shows a different catalogue (descriptions reworded, extra capabilities, some
renamed) and the planner must read it rather than remember it. `OTHER` are capabilities no
showcase uses; they make catalogues differ and a few intents use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentos.planning.format import CatalogueEntry


@dataclass(frozen=True)
class Card:
    capability: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    descriptions: tuple[str, ...]
    aliases: tuple[str, ...] = field(default=())

    def entry(self, description: str, name: str | None = None) -> CatalogueEntry:
        return CatalogueEntry(capability=name or self.capability, inputs=list(self.inputs),
                              outputs=list(self.outputs), description=description)


SHOWCASE: tuple[Card, ...] = (
    # text (experts/text, as registered today)
    Card("text.load", ("path", "max_files?"), ("text", "documents", "count"),
         ("reads local text files", "read markdown and text files",
          "load documents from a file or folder"), ("docs.load", "files.read")),
    Card("text.summarize", ("text", "max_sentences?"), ("summary", "sentences", "method"),
         ("scores sentences by the document frequency of their", "extractive summary of prose",
          "summarise text in a few sentences", "shorten a text to its key sentences"),
         ("summary.write", "text.digest")),
    Card("text.keywords", ("documents", "top_k?"), ("keywords", "terms", "documents"),
         ("ranks words by summed tf-idf", "key terms of a set of documents", "extract keywords",
          "rank the important terms"),
         ("terms.extract",)),
    Card("text.report", ("title", "sections", "filename?"), ("path", "markdown", "words"),
         ("renders sections to markdown and saves it as", "write a markdown report from sections",
          "assemble a report file", "markdown document writer"),
         ("report.write", "docs.report")),
    # research
    Card("research.investigate", ("question", "corpus", "max_sources?"),
         ("conclusions", "evidence", "report", "answer"),
         ("question to evidence to conclusions with citations", "deep research over a document corpus",
          "answer a question from documents with evidence"), ("deep.research", "research.ask")),
    Card("research.compare", ("options", "criteria", "corpus"), ("matrix", "risks", "report"),
         ("comparison matrix and risk register", "compare options against criteria",
          "weigh alternatives with cited evidence"), ("routes.compare",)),
    Card("research.trace", ("document", "corpus"), ("claims", "summary", "references"),
         ("trace claims to their sources", "source tracing with a reference list", "find where each claim comes from"),
         ("sources.trace", "cite.trace")),
    # voice
    Card("voice.transcribe", ("audio", "speakers?"), ("segments", "text", "speakers"),
         ("speech to text with speakers and times", "transcribe audio", "speech recognition with diarization"),
         ("speech.transcribe", "asr.transcribe")),
    Card("voice.command", ("audio",), ("request", "intent", "text"),
         ("spoken command to a request", "understand a voice command", "turn speech into an instruction"),
         ("speech.command",)),
    Card("voice.summarize", ("segments", "language?"), ("summary", "action_items", "speakers"),
         ("meeting summary with action items", "summarise a conversation by speaker",
          "speaker-attributed summary and to-dos"), ("meeting.summarize",)),
    Card("voice.speak", ("text", "voice?"), ("audio", "duration_s"),
         ("text to speech", "read text aloud", "spoken reply as audio"), ("speech.say", "tts.speak")),
    # gui
    Card("gui.do", ("url", "goal", "steps?"), ("state", "downloads", "trace", "screenshots"),
         ("operate a web app in a browser", "carry out steps in a browser", "browser automation towards a goal"),
         ("browser.do", "web.operate")),
    Card("gui.tutorial", ("url", "goal"), ("tutorial", "screenshots", "markdown"),
         ("step-by-step tutorial with annotated screenshots", "record a how-to guide in the browser",
          "write a tutorial from browser steps"), ("browser.tutorial",)),
    Card("gui.configure", ("url", "settings"), ("applied", "failed", "diff"),
         ("apply a table of settings in a web ui", "batch configuration of a settings page",
          "set many options and read them back"), ("browser.configure",)),
    # image
    Card("image.keyvisual", ("brand", "headline", "style_reference?", "aspect_ratio?"), ("image", "layers", "palette"),
         ("brand key visual from a brief", "design a poster-style key visual", "layout a brand visual with copy"),
         ("design.keyvisual",)),
    Card("image.variants", ("image", "count", "axis?"), ("variants", "images"),
         ("variants of a design", "make alternative versions of a visual", "vary layout palette or type"),
         ("design.variants",)),
    Card("image.materials", ("subject", "materials"), ("images", "consistency"),
         ("same scene rendered in different materials", "material swap with composition kept",
          "re-render an object as glass metal or paper"), ("render.materials",)),
    Card("image.infographic", ("table", "title?"), ("image", "layers"),
         ("infographic from a spec table with editable layers", "chart a table as an infographic",
          "turn data into an infographic"), ("chart.infographic", "design.infographic")),
    Card("image.generate", ("prompt", "style?", "size?"), ("image",),
         ("text to image", "generate a picture from a prompt", "image generation"), ("diffusion.generate",)),
)

OTHER: tuple[Card, ...] = (
    Card("translate.text", ("text", "target_language"), ("translation",),
         ("translate text into another language", "machine translation"), ("lang.translate",)),
    Card("mail.send", ("to", "subject", "body"), ("message_id",),
         ("send an email", "email a message to someone"), ("email.send",)),
    Card("calendar.add", ("title", "when"), ("event_id",),
         ("add an event to the calendar", "schedule a meeting"), ("events.add",)),
    Card("video.clip", ("video", "start", "end"), ("clip",),
         ("cut a clip out of a video", "trim video"), ("media.clip",)),
    Card("code.run", ("script", "args?"), ("stdout", "exit_code"),
         ("run a script and capture its output", "execute code"), ("script.run",)),
    Card("sheet.read", ("path", "sheet?"), ("rows", "columns"),
         ("read a spreadsheet", "load rows from a csv or xlsx"), ("table.read",)),
    Card("ocr.read", ("image",), ("text", "boxes"),
         ("read text from an image", "optical character recognition"), ("image.ocr",)),
    Card("web.fetch", ("url",), ("html", "text"),
         ("download a web page", "fetch a url"), ("http.get",)),
)

ALL: dict[str, Card] = {c.capability: c for c in (*SHOWCASE, *OTHER)}
