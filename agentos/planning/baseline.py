"""A keyword planner: the floor a trained planner must clear on the planning benchmark.

It reads the request for words it knows (English and Chinese), puts the capabilities they name in
one fixed pipeline order, and wires each node to an earlier one. It knows nothing of the data
generator's templates; what it gets right, a model gets for free, and the gap above it is what
training buys. Its answers have the planner's shape: `{"nodes": [...]}`, `{"refuse": ...}` or
`{"clarify": ...}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agentos.planning.cards import ALL
from agentos.planning.format import CatalogueEntry

REFUSAL = "no capability in the catalogue can do this"

# capability -> words that ask for it (lower-case English, Chinese)
KEYWORDS: dict[str, tuple[str, ...]] = {
    "text.load": ("load the", "read the file", "读取"),
    "text.summarize": ("summar", "sum up", "gist", "condense", "key points", "essentials", "recap", "tl;dr",
                       "总结", "摘要", "概括", "要点", "提炼", "归纳"),
    "text.keywords": ("keyword", "key term", "main terms", "terms", "关键词", "术语", "个词"),
    "text.report": ("report", "write-up", "digest", "报告", "简报"),
    "research.investigate": ("research", "investigate", "look into", "find out", "evidence", "citation",
                             "look it up", "answer the question", "search", "研究", "调查", "查明", "证据", "引用",
                             "检索", "查找", "查阅", "搜索", "回答"),
    "research.compare": ("compare", "comparison", "matrix", "versus", " vs ", "which is better", "weigh",
                         "pros and cons", "trade-off", "比较", "对比", "优劣"),
    "research.trace": ("claim", "source of", "sources of", "come from", "comes from", "fact-check", "reference list",
                       "出处", "来源", "说法", "论断", "参考文献"),
    "voice.transcribe": ("transcri", "speech to text", "write out", "type up", "into text", "转写", "文字稿",
                         "转成文字", "听写", "转录"),
    "voice.command": ("command", "instruction", "asked in", "says", "request in", "question in", "指令", "请求",
                      "里说的", "提出的问题", "里的问题"),
    "voice.summarize": ("meeting", "minutes", "action item", "to-do", "todo", "who said", "speaker", "decided",
                        "会议", "纪要", "待办", "行动项", "说话人", "谁说"),
    "voice.speak": ("aloud", "out loud", "read out", "speak ", "say ", "say '", "audio version", "with speech",
                    "spoken answer", "into speech", "text to speech", "朗读", "念出", "语音播报", "语音回复",
                    "语音告诉", "转成语音", "音频版", "大声说", "说出"),
    "gui.do": ("browser", "log in", "sign in", "click", "fill in", "operate", "登录", "浏览器", "填写", "操作"),
    "gui.tutorial": ("tutorial", "how-to", "how to", "guide", "step-by-step", "walkthrough", "screenshot",
                     "show people how", "教程", "指南", "步骤", "截图"),
    "gui.configure": ("configure", "setting", "apply", "options", "配置", "设置", "应用到"),
    "image.keyvisual": ("key visual", "keyvisual", "brand visual", "poster", "visual ", "headline", "banner",
                        "主视觉", "海报", "视觉"),
    "image.variants": ("variant", "variation", "versions", "alternative", "变体", "版本", "备选"),
    "image.materials": ("material", "made of", "render", "材质", "渲染"),
    "image.infographic": ("infographic", "visualis", "visualiz", "chart", "信息图", "可视化", "图表"),
    "image.generate": ("image of", "picture", "draw", "paint", "illustrat", "画", "图片", "插图"),
    "translate.text": ("translat", "翻译"),
    "mail.send": ("email", "e-mail", "mail ", "send ", "邮件", "发给"),
    "calendar.add": ("calendar", "schedule", "日历", "日程"),
    "video.clip": ("trim", "cut a clip", "video clip", "剪辑", "剪切"),
    "code.run": ("run the script", "execute", "script", "运行脚本", "脚本"),
    "sheet.read": ("spreadsheet", "xlsx", "excel", "电子表格"),
    "ocr.read": ("ocr", "text from the image", "text in the image", "识别文字", "文字识别"),
    "web.fetch": ("fetch", "web page", "webpage", "scrape", "抓取", "网页内容"),
}

# words that name a kind of thing without naming the file: they tell which family a request is in
SITE_WORDS = ("site", "web app", "portal", "dashboard", "browser", "网站", "后台", "网页", "门户", "控制台", "浏览器")
AUDIO_WORDS = ("recording", "audio", "voice memo", "voice note", "录音", "音频", "语音")

LANGUAGES = ("French", "German", "Japanese", "Spanish", "Italian", "Korean", "Portuguese", "Dutch", "Chinese",
             "English", "Russian", "Arabic", "英文", "日文", "法文", "德文", "西班牙文", "葡萄牙文", "荷兰文", "中文",
             "韩文", "意大利文", "俄文", "英语", "日语", "法语", "德语", "西班牙语")
MATERIALS = ("glass", "metal", "steel", "wood", "paper", "plastic", "ceramic", "marble", "gold", "silver", "copper",
             "bronze", "stone", "rubber", "leather", "fabric", "concrete", "玻璃", "金属", "钢", "木头", "纸",
             "塑料", "陶瓷", "大理石", "金", "银", "铜", "石头", "橡胶", "皮革", "布")

# the order nodes run in: sources first, then analysis, then what is made of it, then delivery
PIPELINE: tuple[str, ...] = (
    "voice.command", "voice.transcribe", "web.fetch", "ocr.read", "sheet.read", "video.clip", "code.run",
    "text.load", "research.investigate", "research.compare", "research.trace", "gui.do", "gui.tutorial",
    "gui.configure", "image.keyvisual", "image.materials", "image.generate", "image.variants", "voice.summarize",
    "text.summarize", "text.keywords", "image.infographic", "translate.text", "text.report", "mail.send",
    "calendar.add", "voice.speak",
)

# kinds of value a file-like input takes, most likely first
FIELD_KINDS: dict[str, tuple[str, ...]] = {
    "audio": ("audio",), "path": ("folder", "document"), "corpus": ("folder",), "document": ("document",),
    "url": ("url",), "settings": ("data", "document"), "table": ("data", "document"), "image": ("image",),
    "style_reference": ("image",), "video": ("video",), "script": ("script",),
}
# fields a node's upstream result most likely feeds
CONTENT_FIELDS = ("text", "body", "sections", "question", "goal", "table", "prompt", "documents", "segments", "image")

QUESTIONS = {
    "audio": "which recording do you mean? add the audio file to the task inputs",
    "folder": "which documents should I use? add them to the task inputs",
    "document": "which document do you mean? add it to the task inputs",
    "url": "which web address should I open? add the url to the task inputs",
    "data": "which table do you mean? add it to the task inputs",
    "image": "which image do you mean? add it to the task inputs",
    "video": "which video do you mean? add it to the task inputs",
    "script": "which script do you mean? add it to the task inputs",
}

_URL = re.compile(r"https?://[\w.~:/?#@!$&*+=%-]+", re.ASCII)
_FILE = re.compile(r"[\w./-]+\.[A-Za-z0-9]{2,4}\b|[\w.-]+(?:/[\w.-]+)*/", re.ASCII)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+", re.ASCII)
_QUOTE = re.compile(r"(?<![A-Za-z])'([^']+)'(?![A-Za-z])|“([^”]+)”|\"([^\"]+)\"")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_./-])(\d{1,2})(?![\d./%])")
_MATERIAL = re.compile("|".join(rf"(?<![a-z]){m}(?![a-z])" if m.isascii() else m
                                 for m in sorted(MATERIALS, key=len, reverse=True)))
_EXTENSIONS = {
    "audio": (".wav", ".mp3", ".flac", ".ogg", ".m4a"), "image": (".png", ".jpg", ".jpeg", ".webp", ".gif"),
    "data": (".csv", ".yaml", ".yml", ".json", ".xlsx", ".tsv"), "document": (".md", ".txt", ".pdf", ".docx"),
    "video": (".mp4", ".mov", ".mkv"), "script": (".py", ".sh", ".js"),
}


def value_kind(value: str) -> str | None:
    """What a file name, folder or URL holds, by its shape: `meeting.wav` -> audio, `notes/` -> folder."""
    text = value.strip().lower()
    if text.startswith(("http://", "https://")):
        return "url"
    if text.endswith("/"):
        return "folder"
    return next((kind for kind, exts in _EXTENSIONS.items() if text.endswith(exts)), None)


class RulePlanner:
    """Keyword tables in, a plan (or a refusal or a question) out; no model, no learning."""

    def plan(self, request: str, catalogue: list[CatalogueEntry], inputs: dict[str, str]) -> dict[str, Any]:
        """The answer for one request against one catalogue and the task's inputs."""
        values = _values(request, inputs)
        wanted = _select(request, values)
        entries = _resolve(wanted, catalogue) if wanted else None
        if entries is None:
            return {"refuse": REFUSAL}
        built: list[_Built] = []
        for cap in wanted:
            node = _node(cap, entries[cap], built, request, values)
            if isinstance(node, str):
                return {"clarify": node}
            built.append(_Built(node, entries[cap].outputs))
        return {"nodes": [b.node for b in built]}


@dataclass
class _Built:
    """A node already placed, with the outputs its catalogue entry promises."""

    node: dict[str, Any]
    outputs: list[str]

    def ref(self, field: str) -> str:
        return "${" + self.node["id"] + "." + field + "}"


# ---- which capabilities ---------------------------------------------------------------------------

def _mentions(request: str, words: tuple[str, ...]) -> bool:
    """Whether any word occurs; English ones only at the start of a word (`load` is not in `download`)."""
    low = f" {request.lower()} "
    return any(re.search(r"(?<![a-z])" + re.escape(w), low) if w[:1].isascii() else w in low for w in words)


def _instructions(request: str) -> str:
    """The request without its quoted text, URLs, file names and addresses: only the words that ask."""
    for pattern in (_QUOTE, _URL, _EMAIL, _FILE):
        request = pattern.sub(" ", request)
    return request


def _select(request: str, values: dict[str, list[str]]) -> list[str]:
    """The canonical capabilities the request asks for, with the ones they need, in pipeline order."""
    quoted = bool(_QUOTE.search(request))
    request = _instructions(request)
    found = {cap for cap, words in KEYWORDS.items() if _mentions(request, words)}
    if any(lang.lower() in request.lower() for lang in LANGUAGES):
        found.add("translate.text")
    if len(_materials(request)) >= 2:
        found.add("image.materials")  # "a cup in glass and paper" asks for materials without saying so
    _by_family(found, request, values, quoted)
    _add_needed(found, quoted)
    return [cap for cap in PIPELINE if cap in found]


def _by_family(found: set[str], request: str, values: dict[str, list[str]], quoted: bool) -> None:
    """Words shared between families go to the one the request's files and nouns point at."""
    has_audio = bool(values["audio"]) or _mentions(request, AUDIO_WORDS)
    has_site = bool(values["url"]) or _mentions(request, SITE_WORDS)
    gui = {"gui.do", "gui.tutorial", "gui.configure"}
    found -= gui
    if has_site:  # a browser goal is one step, however many verbs it has
        found.add(next((c for c in ("gui.tutorial", "gui.configure") if _mentions(request, KEYWORDS[c])), "gui.do"))
        found -= {"mail.send", "text.report", "calendar.add", "web.fetch"}
        if "gui.tutorial" not in found:
            found.discard("text.summarize")
    if found & {"research.compare", "research.trace"}:
        found.discard("research.investigate")
    if not has_audio:
        found -= {"voice.command", "voice.summarize", "voice.transcribe"}
    elif found & {"research.investigate", *gui} and "voice.transcribe" not in found:
        found.add("voice.command")  # a recording that feeds research or a browser is the instruction
    if has_audio and "voice.command" not in found and "text.summarize" in found:
        found.discard("text.summarize")
        found.add("voice.summarize")
    if "text.report" in found and not quoted:
        found.discard("text.report")
    if "image.variants" in found and "image.keyvisual" not in found and not values["image"]:
        found.discard("image.variants")
    if found & {"image.keyvisual", "image.materials", "image.infographic"}:
        found.discard("image.generate")


def _add_needed(found: set[str], quoted: bool) -> None:
    """A step that works on text with nothing upstream to give it text reads the documents first."""
    if "voice.summarize" in found:
        found.add("voice.transcribe")
    readers = {"text.summarize", "text.keywords", "translate.text"}
    if "voice.speak" in found and not quoted:
        readers.add("voice.speak")
    for cap in readers & found:
        upstream = {c for c in PIPELINE[:PIPELINE.index(cap)] if c in found}
        if not upstream:
            found.add("text.load")


def _resolve(wanted: list[str], catalogue: list[CatalogueEntry]) -> dict[str, CatalogueEntry] | None:
    """Each wanted capability's catalogue entry, under its own name or an alias; None if one is missing."""
    names = {e.capability: e for e in catalogue}
    entries: dict[str, CatalogueEntry] = {}
    for cap in wanted:
        entry = next((names[n] for n in (cap, *ALL[cap].aliases) if n in names), None)
        if entry is None:
            return None
        entries[cap] = entry
    return entries


# ---- inputs and edges -----------------------------------------------------------------------------

def _values(request: str, inputs: dict[str, str]) -> dict[str, list[str]]:
    """Kind -> values the request names or the task's inputs hold (`${inputs.NAME}`), in that order."""
    values: dict[str, list[str]] = {k: [] for k in ("url", "folder", *_EXTENSIONS)}
    for url in _URL.findall(request):
        values["url"].append(url.rstrip(".!?"))
    for name in _FILE.findall(_URL.sub(" ", request)):
        kind = value_kind(name)
        if kind:
            values[kind].append(name)
    for name, value in inputs.items():
        kind = value_kind(str(value))
        if kind:
            values[kind].append("${inputs." + name + "}")
    return values


def _literal(field: str, cap: str, request: str, values: dict[str, list[str]]) -> Any:
    """The value a simple rule reads from the request for one field, or None."""
    if field in FIELD_KINDS:
        return next((values[k][0] for k in FIELD_KINDS[field] if values[k]), None)
    quote = _QUOTE.search(request)
    quoted = next(g for g in quote.groups() if g) if quote else None
    number = _NUMBER.search(_instructions(request))
    if field in ("title", "headline"):
        return quoted
    if field == "text" and cap == "voice.speak":
        return quoted
    if field in ("top_k", "count") or (field == "max_sentences" and _mentions(request, ("sentence", "句"))):
        return int(number.group(1)) if number else None
    if field == "to":
        email = _EMAIL.search(request)
        return email.group(0) if email else None
    if field == "target_language":
        return next((lang for lang in LANGUAGES if lang.lower() in request.lower()), None)
    if field == "materials":
        return _materials(request) or None
    return None


def _materials(request: str) -> list[str]:
    """Material names in the order the request gives them, each once (`金属` is metal, not gold)."""
    return list(dict.fromkeys(_MATERIAL.findall(request.lower())))


def _node(cap: str, entry: CatalogueEntry, earlier: list[_Built], request: str,
          values: dict[str, list[str]]) -> dict[str, Any] | str:
    """One node, or the question to ask when a file it needs is named nowhere."""
    required = [f for f in entry.inputs if not f.endswith("?")]
    fields = [f.rstrip("?") for f in entry.inputs]
    linked = _by_name(required, earlier[-1]) if earlier else {}
    filled = dict(linked)
    for field in fields:
        if field not in filled and (value := _literal(field, cap, request, values)) is not None:
            filled[field] = value
    if earlier and not linked:
        _first_output(filled, required, earlier[-1])
    for field in required:
        if field not in filled and field in FIELD_KINDS:
            return QUESTIONS[FIELD_KINDS[field][0]]
        filled.setdefault(field, request)
    node_id = cap.rsplit(".", 1)[-1]
    while node_id in {b.node["id"] for b in earlier}:
        node_id += "_2"
    return {"id": node_id, "capability": entry.capability, "inputs": {f: filled[f] for f in fields if f in filled}}


def _by_name(required: list[str], previous: _Built) -> dict[str, Any]:
    """The first required field the previous node outputs under the same name (`text` <- `load.text`)."""
    field = next((f for f in required if f in previous.outputs), None)
    return {field: previous.ref(field)} if field else {}


def _first_output(filled: dict[str, Any], required: list[str], previous: _Built) -> None:
    """Else the previous node's first output into the first open content field (or the first open field)."""
    open_fields = [f for f in required if f not in filled]
    target = next((f for f in open_fields if f in CONTENT_FIELDS), open_fields[0] if open_fields else None)
    if target is not None and previous.outputs:
        filled[target] = previous.ref(previous.outputs[0])
