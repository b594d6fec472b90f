"""What people ask the planner, as templates with the plan each one means.

Each intent writes a request (English or Chinese; `[a|b]` picks a phrasing, `{slot}` a value) and
the task graph that serves it. Templates that start with `H:` are held out: only the evaluation
split uses them, so the benchmark scores phrasings the model never trained on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentos.planning.fresh_values import fresh
from agentos.planning.slots import GENERIC, INPUT_NAMES, Lang, pool

P_FRESH = 0.6  # training values made up on the spot rather than drawn from the pool (fresh_values.py)


class Unplannable(Exception):
    """The request, as written, needs a question back (`kind` names what is missing)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass
class Ctx:
    """One example being written: its randomness, language, split, and what it has collected."""

    rng: random.Random
    lang: Lang
    held: bool
    clarify: bool = False  # leave the first file-like slot unnamed, so the right answer is a question
    inputs: dict[str, str] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    missing: str | None = None

    # values -------------------------------------------------------------------------------------
    def pick(self, kind: str) -> str:
        if not self.held and self.rng.random() < P_FRESH:
            return fresh(kind, self.lang, self.rng)
        return self.rng.choice(pool(kind, self.lang, self.held))

    def picks(self, kind: str, n: int) -> list[str]:
        """`n` different values (the pool's size at most)."""
        values = list(dict.fromkeys(self.pick(kind) for _ in range(4 * n)))  # a list: sets reorder by hash seed
        if len(values) < n:
            values = list(pool(kind, self.lang, self.held))
        return self.rng.sample(values, min(n, len(values)))

    def file(self, kind: str) -> tuple[str, str]:
        """(text in the request, value in the plan) for a file, folder or URL the task works on."""
        if self.clarify and self.missing in (None, kind):  # every slot of the missing kind stays unnamed
            self.missing = kind
            return self.rng.choice(GENERIC[kind][self.lang]), ""
        value = self.pick(kind)
        if self.rng.random() < 0.45:
            name = self.rng.choice(INPUT_NAMES[kind])
            while name in self.inputs:
                name += "_2"
            self.inputs[name] = value
            return self.rng.choice(GENERIC[kind][self.lang]), "${inputs." + name + "}"
        return value, value

    # plan ---------------------------------------------------------------------------------------
    def node(self, node_id: str, capability: str, **inputs: Any) -> str:
        self.nodes.append({"id": node_id, "capability": capability,
                           "inputs": {k: v for k, v in inputs.items() if v is not None}})
        return node_id

    # text ---------------------------------------------------------------------------------------
    def say(self, en: list[str], zh: list[str], **slots: str) -> str:
        templates = [t for t in (en if self.lang == "en" else zh) if t.startswith("H:") == self.held]
        if not templates:
            raise ValueError("an intent lacks a template for this language and split")
        text = _expand(self.rng.choice(templates).removeprefix("H:"), self.rng)
        if not self.held and self.rng.random() < P_NOISE:
            text = _noisy(text, self)
        return _wrap(" ".join(text.format(**slots).split()), self, starts_with_value=text.startswith("{"))


# politeness and filler around a request: people rarely type bare imperatives. Held-out examples get
# wrappers of their own, so the benchmark also scores fillers the model never saw.
P_WRAP = 0.35
_WRAPS: dict[tuple[Lang, bool], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("en", False): (("Please ", "Can you ", "Could you ", "I need you to ", "I'd like you to ", "Hey, ", "Quick task: ",
                     "Help me ", "Go ahead and ", "For tomorrow, ", "Task: ", "Hi! "),
                    ("", " please", ", thanks", ". Thanks!", " asap", ", it's urgent", " for me", " today")),
    ("en", True): (("Would you ", "Kindly ", "I want you to ", "Hello, "),
                   ("", " when you get a chance", ", cheers", ", much appreciated")),
    ("zh", False): (("请", "麻烦", "帮我", "能不能", "你能", "请帮忙", "任务：", "嗨，"),
                    ("", "，谢谢", "。谢谢！", "，尽快", "，辛苦了", "，今天要")),
    ("zh", True): (("劳驾", "拜托", "烦请"), ("", "，多谢", "，有劳了")),
}
_QUESTION_START = ("what", "which", "who", "where", "how", "why", "when", "i ", "i'")


def _wrap(text: str, ctx: Ctx, *, starts_with_value: bool) -> str:
    if ctx.rng.random() >= P_WRAP:
        return text
    prefixes, suffixes = _WRAPS[(ctx.lang, ctx.held)]
    bare = text.lower().startswith(_QUESTION_START) or text.startswith(("请", "帮", "麻烦", "你能"))
    prefix = "" if bare else ctx.rng.choice(prefixes)
    if prefix and ctx.lang == "en" and not prefix.endswith((": ", "! ")) and not starts_with_value:
        text = text[0].lower() + text[1:]
    suffix = ctx.rng.choice(suffixes)
    if suffix and text[-1:] in "?？":
        suffix = ""
    return prefix + text + suffix


# word-level noise on training requests: a filler word put in, a word left out, two words swapped. People
# phrase things in ways no template lists; noise teaches the planner to go by the words that matter (the
# task's nouns and verbs, its values) rather than by a template's exact wording. Slots (`{x}`) are never
# touched, so values stay copyable; held-out requests get none, so the benchmark is not made easier.
P_NOISE = 0.3
_FILLERS = {"en": ("just", "also", "quickly", "actually", "basically", "maybe", "really", "now", "then", "the",
                   "all", "kind of", "properly", "again", "real quick", "if possible", "btw", "ok so"),
            "zh": ("一下", "先", "也", "就", "那个", "嗯，", "顺便", "马上", "好好", "再", "赶紧")}
_KEEP = {"not", "no", "without", "don't", "never", "only", "and", "then", "both", "each"}  # words that change the plan


def _noisy(template: str, ctx: Ctx) -> str:
    """`template` (alternatives already chosen, slots still `{x}`) with one or two small edits between slots."""
    rng, lang = ctx.rng, ctx.lang
    for _ in range(rng.choice((1, 1, 2))):
        if lang == "zh":
            cut = [i for i in range(len(template) + 1) if _outside_slot(template, i)
                   and (i == 0 or template[i - 1] in "，。、？：}" or template[i:i + 1] == "{")]  # not inside a word
            at = rng.choice(cut)
            template = template[:at] + rng.choice(_FILLERS["zh"]) + template[at:]
            continue
        words = template.split(" ")
        free = [i for i, w in enumerate(words) if "{" not in w and "}" not in w]
        edit = rng.random()
        if edit < 0.5 or len(free) < 3:
            words.insert(rng.randint(0, len(words)), rng.choice(_FILLERS["en"]))
        elif edit < 0.8:
            droppable = [i for i in free if words[i].lower().strip(",.?!") not in _KEEP]
            if droppable:
                del words[rng.choice(droppable)]
        else:
            pairs = [i for i in free if i + 1 in free]
            if pairs:
                i = rng.choice(pairs)
                words[i], words[i + 1] = words[i + 1], words[i]
        template = " ".join(words)
    return template


def _outside_slot(text: str, i: int) -> bool:
    """Position `i` is not inside a `{slot}`."""
    return text[:i].count("{") == text[:i].count("}")


_ALT = re.compile(r"\[([^\[\]]*)\]")


def _expand(template: str, rng: random.Random) -> str:
    """Replace every `[a|b|c]` by one of its choices (`[a|]` makes `a` optional)."""
    while (m := _ALT.search(template)) is not None:
        template = template[:m.start()] + rng.choice(m.group(1).split("|")) + template[m.end():]
    return template


def ref(node_id: str, field_name: str) -> str:
    return "${" + node_id + "." + field_name + "}"


def _join(items: list[str], lang: Lang) -> str:
    if lang == "zh":
        return "、".join(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count(ctx: Ctx, lo: int, hi: int) -> int:
    return ctx.rng.randint(lo, hi)


# ---- text ------------------------------------------------------------------------------------------

def summarize_docs(ctx: Ctx) -> str:
    docs, path = ctx.file("folder")
    n = _count(ctx, 2, 8) if ctx.rng.random() < 0.5 else None
    ctx.node("load", "text.load", path=path)
    ctx.node("summary", "text.summarize", text=ref("load", "text"), max_sentences=n)
    if n:
        return ctx.say(["[Summarise|Sum up|Give me a summary of] {d} in {n} sentences",
                        "[Write|Produce|Draft] a summary of {d}[ that is| in] {n} sentences[ long|]",
                        "{n} sentences [on|about] [what|what's in] {d}[, please|]",
                        "[Recap|Summarize|Digest] {d}[ for me|] [using|in] {n} sentences",
                        "Read through {d} and [sum it up|recap it] in [no more than |at most |]{n} sentences",
                        "Read {d} and [write|give me] a {n}-sentence summary",
                        "I need a {n} sentence summary of {d}",
                        "H:Condense {d} down to {n} sentences", "H:Can I get {d} in {n} sentences?"],
                       ["用{n}句话[总结|概括]{d}", "[请|]把{d}[总结|概括|归纳]成{n}句话",
                        "[帮我|]读完{d}后用{n}句话[说说|讲讲]要点",
                        "{d}的[内容|要点]，[用|控制在]{n}句[话|]以内[总结|概括]",  "读一下{d}，写一个{n}句的摘要",
                        "H:把{d}压缩成{n}句话", "H:{d}太长了，精简到{n}句"],
                       d=docs, n=str(n))
    return ctx.say(["[Summarise|Sum up|Summarize] {d}", "[Recap|Digest|Outline] {d}[ for me|]",
                    "What's [in|the gist of] {d}?",
                    "[Read|Go through] {d} and [tell me|summarise] [what it says|the main points]",
                    "I [need|want] [a summary|an overview|the key points] of {d}",
                    "[Summary|Overview] of {d}[ please|]",  "Give me a [short|quick|brief] summary of {d}",
                    "What do {d} say? [Summarise them|Give me the gist]", "H:Boil {d} down to the essentials",
                    "H:Too long, didn't read: {d}. What matters?"],
                   ["[总结|概括]一下{d}", "[帮我|请|]读一下{d}[并|，]说说[重点|要点|主要内容]",
                    "{d}[讲了什么|说了些什么][？|，总结一下]",
                    "[归纳|梳理]{d}的[主要内容|要点]",  "给我{d}的[简短|快速]摘要", "H:提炼{d}的要点",
                    "H:{d}太长了，说重点"], d=docs)


def keywords(ctx: Ctx) -> str:
    docs, path = ctx.file("folder")
    n = _count(ctx, 3, 20)
    ctx.node("load", "text.load", path=path)
    ctx.node("keywords", "text.keywords", documents=ref("load", "documents"), top_k=n)
    return ctx.say(["[Find|Extract|List] the top {n} keywords [in|from] {d}",
                    "[Give me|Show] {n} [key terms|keywords|main topics] [of|for|in] {d}",
                    "[Pull|Get] the {n} most important [words|terms] out of {d}",
                    "Rank the [terms|keywords] in {d} and [keep|give me] the top {n}",
                    "[Tag|Label] {d} with {n} keywords",  "What are the {n} main terms in {d}?",
                    "Pick {n} keywords from {d}", "H:Which {n} terms come up most in {d}?",
                    "H:Surface the {n} terms that matter most across {d}"],
                   ["[找出|提取]{d}中最重要的{n}个关键词", "[给|为]{d}[打|提取]{n}个[标签|关键词]",
                    "[列出|统计]{d}里的前{n}个[高频词|核心词|关键术语]",
                    "{d}的{n}个关键[词|术语]是[什么|哪些]",  "{d}里有哪{n}个主要术语？",
                    "H:{d}里出现最多的{n}个词是什么", "H:帮{d}挑{n}个最能代表内容的词"],
                   d=docs, n=str(n))


def digest(ctx: Ctx) -> str:
    docs, path = ctx.file("folder")
    n = _count(ctx, 3, 12)
    title = ctx.pick("title")
    ctx.node("load", "text.load", path=path)
    ctx.node("summary", "text.summarize", text=ref("load", "text"))
    ctx.node("keywords", "text.keywords", documents=ref("load", "documents"), top_k=n)
    ctx.node("report", "text.report", title=title,
             sections=[{"heading": "Summary", "body": ref("summary", "summary")},
                       {"heading": "Keywords", "body": ref("keywords", "terms")}])
    return ctx.say(["Read {d}, summarise [them|it] and pick {n} keywords, then write a [Markdown |]report titled "
                    "'{t}'", "Make a report called '{t}' with a summary and the top {n} keywords of {d}",
                    "[Summarise|Go through] {d}, [extract|find] {n} keywords and [save|write] [it all|both] as a "
                    "report [named|called|titled] '{t}'",
                    "I need a report '{t}' on {d}: [a summary|an overview] and {n} [key terms|keywords]",
                    "[Create|Compile|Prepare] '{t}' from {d} with [a summary|the gist] and {n} keywords",
                    "[Build|Write] a digest of {d} titled '{t}': summary plus {n} keywords",
                    "H:Put together '{t}', a write-up of {d} with a summary and {n} key terms",
                    "H:Turn {d} into a report '{t}' holding a summary and {n} keywords"],
                   ["读{d}，做摘要并挑出{n}个关键词，然后写一份名为“{t}”的报告",
                    "为{d}生成一份题为“{t}”的报告，包含摘要和前{n}个关键词",
                    "[总结|概括]{d}并[提取|找出]{n}个关键词，[整理|汇总]成报告“{t}”",
                    "[帮我|]把{d}做成一份[报告|文档]“{t}”，[要有|包括]摘要和{n}个关键词",
                    "H:整理一份“{t}”：{d}的摘要加{n}个关键词", "H:基于{d}出一份“{t}”，写摘要，挑{n}个关键词"], d=docs,
                    n=str(n), t=title)


# ---- research --------------------------------------------------------------------------------------

def investigate(ctx: Ctx) -> str:
    q = ctx.pick("question")
    docs, corpus = ctx.file("folder")
    ctx.node("research", "research.investigate", question=q, corpus=corpus)
    return ctx.say(["[Research|Investigate|Look into] {q} using {d}",
                    "[Find out|Figure out|Work out] {q}[ from| based on| using] {d}[, citing the evidence| with "
                    "sources|]",
                    "[What do|What does] {d} say about {q}? [Cite|Quote] the evidence",
                    "[I want to know|Tell me|Explain] {q}; [the sources are|use] {d}",
                    "[Do|Run] [deep |]research on {q} [across|over|in] {d}",
                    "Question: {q}. [Sources|Documents|Corpus]: {d}. [Give|Show] [evidence and conclusions|the "
                    "evidence chain]",
                    "Using {d}, find out {q}[ and show the evidence|]",
                    "Build a question-evidence-conclusion chain on {q} from {d}",
                    "H:Dig through {d} and tell me {q}, with citations",
                    "H:My question is {q}. Answer it with evidence from {d}"],
                   ["根据{d}研究{q}", "[请|帮我|]调研一下{q}，[资料|参考资料|文档]在{d}",
                    "{d}[里|中]关于{q}[是怎么说的|有什么证据]？[给出|附上][出处|引用]",
                    "[弄清楚|查明|分析]{q}[，依据|，根据|，用]{d}",
                    "问题：{q}。[资料|文档]：{d}。[请给出证据和结论|需要证据链]",  "用{d}调查{q}，并给出证据",
                    "基于{d}建立“问题-证据-结论”链：{q}",
                    "H:翻阅{d}，告诉我{q}，附上引用", "H:我想搞清楚{q}，请从{d}里找证据回答"], q=q, d=docs)


def compare(ctx: Ctx) -> str:
    opts = ctx.picks("option", ctx.rng.choice([2, 2, 3]))
    crits = ctx.picks("criterion", ctx.rng.choice([2, 3, 3, 4]))
    docs, corpus = ctx.file("folder")
    ctx.node("compare", "research.compare", options=opts, criteria=crits, corpus=corpus)
    o, c = _join(opts, ctx.lang), _join(crits, ctx.lang)
    return ctx.say(["Compare {o} on {c} using {d}[, with a risk assessment|]",
                    "[How do|How does] {o} [compare|stack up] [on|in terms of] {c}? [Use|Base it on|Check] {d}",
                    "[Evaluate|Assess|Rate] {o} [against|on|for] {c} [from|using|with] {d}[ and list the risks|, "
                    "risks included|]",
                    "[Pick|Choose|Recommend] between {o}: [criteria|judge on] {c}, [sources|evidence] in {d}",
                    "{o}: [which wins|who wins|what are the trade-offs] on {c}? [See|Use|Read] {d}",
                    "[Which is better|Weigh up] {o}? Judge {c} from {d}",
                    "Make a comparison matrix of {o} against {c} based on {d} and list the risks",
                    "H:Using {d}, rate {o} for {c} and flag the risks",
                    "H:Should we go with {o}? Score them on {c} with evidence from {d}"],
                   ["根据{d}从{c}方面比较{o}[，并做风险评估|]",
                    "[对比|比较|评估]{o}[的|在]{c}[表现|方面][，资料|，依据|，参考]{d}",
                    "{o}[哪个更好|怎么选|各有什么优劣]？[从|按]{c}[来看|比较]，[资料|参考]{d}",
                    "[帮我|请|]在{o}之间做[技术|]选型，[标准|维度]是{c}，[资料|参考]在{d}",
                     "基于{d}做{o}在{c}上的对比矩阵并列出风险",
                    "H:用{d}评估{o}的{c}，并指出风险", "H:{o}该选哪个？按{c}打分，证据来自{d}"], o=o, c=c, d=docs)


def trace(ctx: Ctx) -> str:
    doc, document = ctx.file("document")
    docs, corpus = ctx.file("folder")
    ctx.node("trace", "research.trace", document=document, corpus=corpus)
    return ctx.say(["Trace the sources of the claims in {a} against {d}[ and give me a reference list|]",
                    "[Check|Verify|Fact-check] [where|what] the claims in {a} [come from|are based on] "
                    "[using|in|against] {d}",
                    "[Find|Locate|List] the [sources|references|origins] for [each|every] [claim|statement] [of|in] "
                    "{a}; [search|look in|use] {d}",
                    "[Source-trace|Trace] {a}[ with| using| against] {d}[ and summarise it| and build a reference "
                    "list|]",
                    "Which [documents|sources] in {d} back up {a}?",
                    "Where do the claims in {a} come from? Check them against {d}",
                    "Find citations in {d} for every claim in {a} and summarise",
                    "H:Fact-source {a} using {d} and list the references",
                    "H:Back every claim of {a} with a source from {d}"],
                   ["对照{d}追溯{a}中各项说法的来源[并给出参考文献|]",
                    "[核查|核对|溯源]{a}[里|中]的[说法|论断|观点][，资料|，来源库|，依据]{d}",
                    "[找出|列出]{a}[每个|各个][论断|观点|说法]在{d}中的[出处|来源][，并整理参考文献|]",
                    "{d}里[哪些|什么][文档|资料][支持|佐证]{a}的[说法|观点]？",
                     "{a}里的说法出自哪里？用{d}核对",
                    "H:用{d}为{a}的每个论断找出处并列出参考文献", "H:{a}的观点都有出处吗？到{d}里查"], a=doc, d=docs)


# ---- voice -----------------------------------------------------------------------------------------

def transcribe(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    return ctx.say(["Transcribe {a}", "[Convert|Turn] {a} [into|to] [text|a transcript]",
                    "What is said in {a}? [Write it down|Transcribe it]",
                    "[Make|Produce|Create] a [transcript|text version] of {a}[ with speakers and times|]",
                    "[Speech to text|STT|Transcription] for {a}[ please|]",
                    "[Write down|Type out] [everything|what people said] in {a}",
                     "[Write out|Type up] what is said in {a}", "Turn {a} into text",
                    "H:Give me a transcript of {a}", "H:I need the words spoken in {a} as text"],
                   ["转写{a}", "[把|将]{a}[转成|转写成|变成][文字|文本]", "{a}里[说了什么|讲了什么]？[帮我|]转成文字",
                    "[给|为]{a}[做|生成]一份[文字稿|转录]",
                     "把{a}转成文字", "H:给我{a}的文字稿", "H:{a}需要一份逐字稿"], a=audio)


def meeting_summary(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    ctx.node("summary", "voice.summarize", segments=ref("transcribe", "segments"))
    return ctx.say(["Summarise the meeting in {a}[: who said what, and the action items|]",
                    "[Give me|Write|Produce] [the minutes|a summary|meeting notes] [of|for] {a}[ with the action "
                    "items| with to-dos|]",
                    "[What were the|List the] action items [from|in] {a}[ and who owns them|], [plus|with] a summary",
                    "[Recap|Summarise|Sum up] the [call|discussion|conversation|standup] in {a} by speaker",
                    "[Who said what|Who owns what] in {a}? [Summary and action items|Give me a recap with to-dos]",
                    "Separate the speakers in {a}, summarise it and list the action items",
                    "[What was decided in|Give me the minutes of] {a}, with action items",
                    "H:Who committed to what in {a}? Summary and to-dos please",
                    "H:Recap {a} for people who missed the meeting, with the to-dos"],
                   ["总结{a}里的会议[：谁说了什么，以及待办事项|]", "[帮我|请|]整理{a}的会议纪要[和待办|，列出行动项|]",
                    "{a}[里|中]的[讨论|会议|通话][谁说了什么|有哪些待办]？[分说话人|]总结一下",
                    "[根据|按]{a}[写|出]一份[会议纪要|会议总结]，[列出|包含]行动项和负责人",
                     "区分{a}中的说话人，做摘要并列出行动项",
                    "H:{a}里每个人答应了做什么？请给出摘要和待办", "H:没参加会议的人需要{a}的总结和待办清单"], a=audio)


def voice_question(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    docs, corpus = ctx.file("folder")
    spoken = ctx.rng.random() < 0.5
    ctx.node("command", "voice.command", audio=value)
    ctx.node("research", "research.investigate", question=ref("command", "request"), corpus=corpus)
    ctx.node("summary", "text.summarize", text=ref("research", "report"))
    if spoken:
        ctx.node("speak", "voice.speak", text=ref("summary", "summary"))
        return ctx.say(["Answer the question asked in {a} from {d} and say the answer out loud",
                        "[Listen to|Play|Hear] {a}, [find|look up|research] [the answer|it] in {d} and [speak|read] "
                        "[the answer|it] [aloud|out loud|back to me]",
                        "[Take|Use] the [question|spoken request|voice question] in {a}, [answer it|research it] "
                        "[with|from|using] {d}, then [reply by voice|answer with speech|say it]",
                        "Voice question in {a}; sources {d}; [reply|answer] [in speech|out loud|with audio]",
                        "Listen to {a}, search {d} for it, summarise and reply with speech",
                        "H:Hear the request in {a}, look it up in {d} and answer it aloud",
                        "H:Reply out loud to the question recorded in {a}, drawing on {d}"],
                       ["回答{a}里提出的问题，资料用{d}，并语音播报答案",
                        "[听|听一下]{a}里的问题，[在|从]{d}[里|中][查|找]答案，[再|然后]用语音[回答|读出来]",
                        "{a}里[问了|提了]个问题，[用|根据]{d}[回答|作答]并[朗读|播报|说出]答案",
                         "听{a}，在{d}里检索，总结后用语音回复",
                        "H:听取{a}中的请求，在{d}中查找并朗读答案", "H:{a}里有人提问，查{d}后用语音答复"], a=audio,
                        d=docs)
    return ctx.say(["Answer the question asked in {a} using {d}, with key points",
                    "[Listen to|Play|Hear] {a} and [answer|research] [the question|what it asks] [from|using|with] "
                    "{d}[; list the key points|, with key points|]",
                    "[Take|Use] the [question|spoken request|voice question] in {a}, [look it up|search|research it] "
                    "in {d} and [summarise|sum up] [the answer|what you find]",
                    "[The question is in|Question recorded in] {a}: [answer it|find the answer] [from|in] {d}[ with a "
                    "short summary|]",
                    "Listen to {a}, search {d} for the answer and summarise it",
                    "Take the spoken command in {a}, research it in {d} and give me a summary",
                    "H:Hear the request in {a}, look it up in {d} and give a short answer",
                    "H:Someone asked a question in {a}; answer it briefly from {d}"],
                   ["用{d}回答{a}里的问题并列出要点",
                    "[听|听一下]{a}里的[问题|请求]，[在|从]{d}[里|中][检索|查找|搜]答案[并|，然后][总结|概括|列出要点]",
                    "{a}里[问了|提了]个问题，[用|根据]{d}[回答|作答][，给出要点|，再总结一下|]",
                     "听{a}，在{d}中搜索答案并总结",
                    "H:听取{a}中的请求，查阅{d}后给个简短回答", "H:{a}里有人提问，查{d}后简要回答"], a=audio, d=docs)


def voice_app(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    site, url = ctx.file("url")
    ctx.node("command", "voice.command", audio=value)
    ctx.node("act", "gui.do", url=url, goal=ref("command", "request"))
    return ctx.say(["Do what {a} says in {u}",
                    "[Follow|Execute|Carry out] the [voice|spoken|recorded] [command|instruction|request] [in|from] "
                    "{a} [on|in] {u}",
                    "[Listen to|Play] {a} and [do|perform] [it|what it asks|that] [on|in] {u}",
                    "{a} [has|contains] [an instruction|a command] for {u}; [do it|carry it out]",
                    "[Use|Take] {a} as [the|my] [command|instruction] and [operate|drive|run] {u}",
                     "Carry out the spoken instruction in {a} on {u}",
                    "Listen to {a} and operate {u} accordingly",
                    "H:Follow the voice command in {a} using {u}", "H:Whatever {a} asks for, do it on {u}"],
                   ["按照{a}里说的在{u}上操作",
                    "[听|听一下]{a}[里的|的][指令|命令|要求]，[然后|再|并][在|去]{u}[上|里][执行|操作|完成]",
                    "{a}里[有|是]一条[语音|]指令，[请|帮我|]在{u}上[执行|完成]",
                    "[根据|按照]{a}的[语音|]指令[操作|控制]{u}",  "在{u}上执行{a}中的语音指令",
                    "H:听{a}的指令去操作{u}", "H:{a}说要做什么，就在{u}上做什么"],
                   a=audio, u=site)


def speak(ctx: Ctx) -> str:
    if ctx.rng.random() < 0.5:
        doc, path = ctx.file("document")
        ctx.node("load", "text.load", path=path)
        ctx.node("speak", "voice.speak", text=ref("load", "text"))
        return ctx.say(["Read {a} aloud", "Turn {a} into speech", "[Narrate|Voice|Speak] {a}",
                        "[Create|Produce] [an audio|a spoken|a speech] [version|reading|recording] of {a}",
                        "[Convert|Change] {a} [to|into] [audio|speech|an mp3]",
                        "I [want|need] to [hear|listen to] {a}[; read it out|, read it to me|]",
                         "H:Make an audio version of {a}", "H:I'd rather listen to {a} than read it"],
                       ["朗读{a}", "把{a}转成语音", "[把|将]{a}[读出来|念出来|转成音频]", "[给|为]{a}[配音|生成语音]",
                        "我想听{a}[，帮我读一下|，念给我听|]",
                         "H:给{a}做一个音频版", "H:我想用耳朵听{a}"], a=doc)
    phrase = ctx.pick("headline")
    ctx.node("speak", "voice.speak", text=phrase)
    return ctx.say(["Say '{p}' out loud", "Read out '{p}'", "[Speak|Voice|Pronounce] '{p}'",
                    "[Make|Generate|Record] [audio|speech|a voice clip] [saying|of] '{p}'",
                    "[Announce|Read] '{p}'[ out loud| aloud| to the room|]",  "H:Speak the words '{p}'",
                    "H:Let me hear '{p}' spoken"],
                   ["大声说出“{p}”", "朗读“{p}”", "[播报|念出|读出]“{p}”", "[用语音|语音]说“{p}”",
                    "[生成|录]一段说“{p}”的[语音|音频]",
                     "H:把“{p}”念出来", "H:用声音说一遍“{p}”"], p=phrase)


# ---- gui -------------------------------------------------------------------------------------------

def gui_do(ctx: Ctx) -> str:
    site, url = ctx.file("url")
    goal = ctx.pick("gui_goal")
    ctx.node("act", "gui.do", url=url, goal=goal)
    return ctx.say(["On {u}, {g}", "In the browser, open {u} and {g}", "Go to {u} and {g}",
                    "[Open|Visit|Navigate to|Browse to] {u}[, then| and then| and] {g}", "[Using|In|With] {u}: {g}",
                    "{g} [on|in|at|via] {u}", "[Log into|Sign in to] {u} and {g}",
                    "[Automate this|Do this in the browser|Browser task]: {g} ([site|url|app]: {u})",
                    "H:Use {u} to {g}", "H:Head over to {u}; once there, {g}"],
                   ["在{u}上{g}", "打开浏览器访问{u}，{g}", "[打开|访问|进入|登录]{u}[，然后|，再|后|并]{g}",
                    "[在|去]{u}[里|中|上]{g}",
                    "[浏览器任务|网页操作|自动化操作]：{g}（[网址|地址|站点]：{u}）",  "H:用{u}来{g}",
                    "H:到{u}去，{g}"], u=site, g=goal)


def gui_tutorial(ctx: Ctx) -> str:
    site, url = ctx.file("url")
    goal = ctx.pick("tutorial_goal")
    ctx.node("tutorial", "gui.tutorial", url=url, goal=goal)
    return ctx.say(["Make a step-by-step tutorial with annotated screenshots on how to {g} in {u}",
                    "[Write|Create|Produce|Build] a [tutorial|how-to|walkthrough|guide] [for|on|about] [how to |]{g} "
                    "[in|on|using] {u}[ with screenshots| with annotated screenshots|]",
                    "[Document|Capture|Screenshot] [the steps|each step|how] to {g} [in|on] {u}[ as a tutorial| as a "
                    "guide|]",
                    "[Teach|Show] [new users|the team|people] how to {g} [in|on] {u}[, step by step| with pictures|]",
                    "I need [a walkthrough|docs|a guide] [of|for] [how to |]{g} [in|on] {u}",
                    "Record how to {g} on {u} as a tutorial", "Show people how to {g} in {u}, with screenshots",
                    "H:Write a how-to guide for {g} using {u}",
                    "H:New hires keep asking how to {g} in {u}; write them an illustrated guide"],
                   ["制作一份带标注截图的分步教程，演示如何在{u}中{g}",
                    "[写|做|制作|生成]一份[在|关于在]{u}[中|里|上]{g}的[教程|操作指南|使用说明][，带截图|，带标注截"
                    "图|]",
                    "[截图|录屏|记录][演示|展示]如何在{u}[中|里|上]{g}[，做成教程|，生成分步说明|]",
                    "[教|演示给][新同事|团队|大家]怎么在{u}[里|上]{g}[，要分步骤|，带截图|]",
                     "把在{u}上{g}的步骤录成教程",
                    "H:为在{u}里{g}写一份操作指南", "H:新人总问怎么在{u}里{g}，做一份图文教程"], u=site, g=goal)


def gui_configure(ctx: Ctx) -> str:
    table, settings = ctx.file("settings")
    site, url = ctx.file("url")
    ctx.node("configure", "gui.configure", url=url, settings=settings)
    return ctx.say(["Apply {s} to {u} and report what changed", "Configure {u} with every setting in {s}",
                    "[Batch-configure|Bulk-apply|Set up] {u} [from|using|with] {s}[ and show the diff| and report "
                    "failures|]",
                    "[Go through|Apply] [each|every|all] [setting|option|row] [in|of|from] {s} [on|to|in] {u}[ and "
                    "read them back|]",
                    "[Update|Change] the [settings|configuration|options] of {u} to match {s}",
                    "[Make|Get] {u} [match|follow] {s}[; tell me what changed| and list what failed|]",
                    "Set all the options in {s} on {u} and read them back",
                    "H:Push {s} into the settings of {u} and show the diff",
                    "H:Bring {u} in line with {s}, then tell me what differed"],
                   ["把{s}应用到{u}并报告改动", "按{s}批量配置{u}",
                    "[按照|根据|依据]{s}[修改|更新|设置]{u}的[配置|设置|选项][，并回读核对|，报告差异|]",
                    "[把|将]{s}[里|中]的[每一项|所有][设置|配置][应用|写入]到{u}",
                    "让{u}的[配置|设置]和{s}[一致|保持一致][，列出改动|，告诉我哪些失败了|]",
                     "H:将{s}写入{u}的设置并给出差异", "H:让{u}的选项与{s}对齐，再告诉我改了哪些"],
                   s=table, u=site)


# ---- image -----------------------------------------------------------------------------------------

def keyvisual(ctx: Ctx) -> str:
    brand, headline = ctx.pick("brand"), ctx.pick("headline")
    n = ctx.rng.choice([2, 3, 3, 4])
    with_style = ctx.rng.random() < 0.5
    style_text, style = ctx.file("style") if with_style else ("", None)
    ctx.node("visual", "image.keyvisual", brand=brand, headline=headline, style_reference=style)
    ctx.node("variants", "image.variants", image=ref("visual", "image"), count=n)
    if with_style:
        return ctx.say(["Design a key visual for {b} with the headline '{h}' in the style of {s}, then make {n} "
                        "variants", "Make a {b} key visual ('{h}') that follows {s}, plus {n} variants",
                        "[Create|Make|Design] a [poster|banner|key visual|campaign visual] for {b} [saying|with the "
                        "copy|that reads] '{h}', [styled like|matching|in the look of|based on] {s}, [plus|then|and] "
                        "{n} [variants|variations|alternatives]",
                        "{b} [needs|wants] a [key visual|poster] [reading|with] '{h}' [that matches|in the style "
                        "of|following] {s}; [add|make|give me] {n} [versions|options|variants]",
                        "H:Draft a {b} visual reading '{h}', styled after {s}, and {n} alternatives",
                        "H:Borrow the look of {s} for a {b} piece that says '{h}'; {n} alternatives too"],
                       ["参照{s}为{b}设计主视觉，标题“{h}”，再出{n}个变体",
                        "按{s}的风格做{b}的主视觉“{h}”并生成{n}个版本",
                        "[参考|按照|沿用]{s}[的风格|的调性|]，[给|为]{b}[做|设计|出]一[张|版][海报|主视觉]，[文案|"
                        "标题]“{h}”，[再|并][出|做]{n}个[变体|版本|备选]",
                        "H:以{s}为风格参考，给{b}做一版写着“{h}”的视觉，外加{n}个备选",
                        "H:借用{s}的感觉，给{b}出一张“{h}”的宣传图，再多给{n}种"],
                       b=brand, h=headline, s=style_text, n=str(n))
    return ctx.say(["Design a key visual for {b} with the headline '{h}', then [make|generate] {n} variants",
                    "[Create|Make|Design|Produce] a [poster|banner|key visual|campaign visual|hero image] for {b} "
                    "[saying|with the copy|with the headline|that reads] '{h}'[,| and] [plus|then|with] {n} "
                    "[variants|variations|alternatives|versions]",
                    "{b} [needs|wants] a [key visual|poster|banner] [with|reading] '{h}'; [give me|make|add] {n} "
                    "[variants|options|versions] [too|as well|]",
                    "[Brand|Campaign] [visual|poster] for {b}: [headline|copy|tagline] '{h}', {n} "
                    "[variants|alternatives]",
                    "Create a brand visual for {b} saying '{h}' and {n} variations of it",
                    "H:Draft a {b} poster reading '{h}' and {n} alternatives",
                    "H:We need artwork for {b} with the line '{h}'; show me {n} takes on it"],
                   ["为{b}设计主视觉，标题是“{h}”，然后自动生成{n}个变体",
                    "[给|为|帮]{b}[做|设计|出]一[张|版][海报|主视觉|横幅|广告图]，[文案|标题|口号]“{h}”，[再|并|另"
                    "外][出|做|生成]{n}个[变体|版本|备选]",
                    "{b}[要|需要]一张[主视觉|海报]，[写着|文案是]“{h}”，[外加|再来|附带]{n}个[版本|变体]",
                    "给{b}做一张写着“{h}”的品牌海报，再出{n}个版本",
                    "H:起草一张{b}的海报，文案“{h}”，外加{n}个备选", "H:{b}要一张宣传图，口号“{h}”，多给{n}种方案"],
                    b=brand, h=headline, n=str(n))


def materials(ctx: Ctx) -> str:
    subject = ctx.pick("subject")
    mats = ctx.picks("material", ctx.rng.choice([2, 3, 3]))
    ctx.node("materials", "image.materials", subject=subject, materials=mats)
    m = _join(mats, ctx.lang)
    return ctx.say(["Render {s} in {m}, keeping the composition", "Show {s} made of {m}, same scene each time",
                    "[Render|Draw|Show|Make] {s} [as|in] {m}[ versions|][, keeping everything else the same| with the "
                    "same composition| without changing the framing|]",
                    "[What would|How would] {s} look in {m}? [Same scene|Keep the composition|Same framing]",
                    "[Material study|Material variants|Material swap]: {s} in {m}",
                    "[Give me|Produce|Create] {s} in [each of |]{m}[, consistent composition| with the subject "
                    "unchanged|]",
                    "Make versions of {s} in {m} with the subject and framing unchanged",
                    "H:Swap the material of {s} to {m} without moving anything",
                    "H:Keep the shot of {s} but try it in {m}"],
                   ["把{s}分别渲染成{m}材质，保持构图", "同一场景里的{s}，分别用{m}做材质",
                    "[把|将]{s}[做成|换成|渲染成]{m}[几种|不同]材质[的版本|][，构图不变|，主体不变|]",
                    "{s}[如果是|换成]{m}[材质|]会是什么样？[保持|同样的][构图|场景]",
                    "[材质研究|材质替换|材质变体]：{s}，[用|换成]{m}",
                    "H:把{s}的材质换成{m}，其余不变", "H:{s}的画面不动，只把材质换成{m}"], s=subject, m=m)


def infographic(ctx: Ctx) -> str:
    table, value = ctx.file("table")
    titled = ctx.rng.random() < 0.4
    title = ctx.pick("title") if titled else None
    ctx.node("infographic", "image.infographic", table=value, title=title)
    if titled:
        return ctx.say(["Turn {t} into an infographic titled '{n}'", "Make an infographic called '{n}' from {t}",
                        "[Create|Design|Build|Produce] an infographic [named|called|titled|with the title] '{n}' "
                        "[from|based on|using|out of] {t}",
                        "[Chart|Present|Render] {t} as an infographic [with the title|titled|called] "
                        "'{n}'",
                        "Infographic '{n}' [from|of|for] {t}[ please|, with editable layers|]",
                        "H:Visualise {t} as an infographic named '{n}'", "H:Lay out {t} visually, headed '{n}'"],
                       ["把{t}做成题为“{n}”的信息图",
                        "[根据|用|基于]{t}[做|生成|设计]一张[名为|标题为|叫]“{n}”的信息图",
                        "信息图“{n}”，[数据|内容]来自{t}",
                         "H:将{t}可视化为一张名为“{n}”的信息图", "H:{t}做成图解，标题“{n}”"], t=table, n=title or "")
    return ctx.say(["Turn {t} into an infographic[ with editable layers|]", "Make an infographic from {t}",
                    "[Create|Design|Build|Produce|Draw] an infographic [from|based on|using|out of|for] {t}[ with "
                    "editable layers| with layers I can edit|]",
                    "[Chart|Present|Render] {t} as an infographic",
                    "{t} [as|into] an infographic[, please| with layers|]",
                    "I need an infographic [of|showing|that explains] {t}",
                    "Generate an infographic of {t}", "H:Visualise {t} as an infographic",
                    "H:Lay out the numbers in {t} as a graphic people can read at a glance"],
                   ["把{t}做成信息图[，要可编辑的图层|]", "根据{t}生成一张信息图",
                    "[用|基于|根据]{t}[做|画|设计|生成]一张信息图[，图层可编辑|，分图层|]",
                    "[把|将]{t}[画成|可视化成|转成]信息图", "{t}[做个|出一张]信息图",  "H:将{t}可视化为信息图",
                    "H:{t}的数字做成一目了然的图解"],
                    t=table)


def generate(ctx: Ctx) -> str:
    prompt = ctx.pick("prompt")
    ctx.node("image", "image.generate", prompt=prompt)
    return ctx.say(["Generate an image of {p}", "Draw {p}", "Make a picture of {p}",
                    "[Create|Render|Produce|Sketch|Illustrate] [an image|a picture|an illustration|artwork] of {p}",
                    "[I want|I need|Show me] [an image|a picture|a drawing] of {p}",
                    "[Text to image|Image prompt|Picture]: {p}",
                    "[Draw|Sketch|Illustrate] {p}[ for me| in high detail|]",  "H:Paint {p} for me",
                    "H:Could I see a picture showing {p}?"],
                   ["生成一张{p}的图片", "画{p}", "[画|生成|做|创作]一[张|幅]{p}[的图|的插画|的图片|]",
                    "[我要|给我|来]一张{p}的[图|图片|插画]",
                    "[文生图|图片提示词|画图]：{p}",  "H:帮我画一幅{p}", "H:想要一张画着{p}的图"], p=prompt)


# ---- compositions ----------------------------------------------------------------------------------

def research_infographic(ctx: Ctx) -> str:
    opts, crits = ctx.picks("option", 2), ctx.picks("criterion", ctx.rng.choice([2, 3]))
    docs, corpus = ctx.file("folder")
    ctx.node("compare", "research.compare", options=opts, criteria=crits, corpus=corpus)
    ctx.node("infographic", "image.infographic", table=ref("compare", "matrix"))
    o, c = _join(opts, ctx.lang), _join(crits, ctx.lang)
    return ctx.say(["Compare {o} on {c} using {d} and turn the comparison into an infographic",
                    "[Weigh|Evaluate|Assess] {o} [on|against|for] {c} [from|with|using] {d}, then "
                    "[chart|draw|visualise] the [result|matrix|comparison] as an infographic",
                    "[An|I need an|Make an] infographic [comparing|of] {o} [on|by|across] {c}; [research it "
                    "in|evidence from|use] {d}",
                    "[Research|Compare] {o} ({c}) [in|from|with] {d} and [present|show] [it|the comparison] as an "
                    "infographic",
                    "Research {o} against {c} in {d}, then visualise the matrix as an infographic",
                    "H:Make an infographic of how {o} stack up on {c}, based on {d}",
                    "H:Chart the trade-offs of {o} on {c}, with {d} as the evidence"],
                   ["用{d}比较{o}的{c}，并把对比结果做成信息图",
                    "[根据|基于|用]{d}[对比|比较|评估]{o}在{c}上的[表现|差异]，[然后|再|并][画成|做成|生成]信息图",
                    "[做|画]一张信息图，[对比|比较]{o}的{c}，[资料|依据]来自{d}",
                     "H:基于{d}，把{o}在{c}上的对比画成信息图", "H:{o}在{c}上谁强谁弱？查{d}后画成图解"],
                   o=o, c=c, d=docs)


def research_speak(ctx: Ctx) -> str:
    q = ctx.pick("question")
    docs, corpus = ctx.file("folder")
    ctx.node("research", "research.investigate", question=q, corpus=corpus)
    ctx.node("speak", "voice.speak", text=ref("research", "answer"))
    return ctx.say(["Research {q} in {d} and read the answer aloud", "Find out {q} from {d} and tell me out loud",
                    "[Look up|Research|Investigate|Find out] {q} [in|from|using] {d} and [say|speak|read] the answer "
                    "[aloud|out loud|to me]",
                    "[Answer|Tell me] {q} [by voice|out loud|in speech] [based on|from|using] {d}",
                    "[Using|With|From] {d}, [work out|find out] {q}[ and| then] [speak|voice|narrate] the "
                    "[answer|conclusion]",
                    "H:Look into {q} with {d} and give me a spoken answer",
                    "H:Read me the answer to {q}, using {d} as the source"],
                   ["在{d}中研究{q}并朗读答案",
                    "[用|根据|基于]{d}[研究|调查|查一下]{q}，[然后|再|并][用语音|语音][回答|播报|读出答案]",
                    "[语音|朗读]回答：{q}，[资料|依据]{d}",  "H:用{d}查明{q}，然后语音告诉我",
                    "H:{q}？查{d}后念给我听"], q=q, d=docs)


def tutorial_summary(ctx: Ctx) -> str:
    site, url = ctx.file("url")
    goal = ctx.pick("tutorial_goal")
    ctx.node("tutorial", "gui.tutorial", url=url, goal=goal)
    ctx.node("summary", "text.summarize", text=ref("tutorial", "markdown"))
    return ctx.say(["Make a tutorial on how to {g} in {u} and a short summary of it",
                    "[Write|Create|Produce] a [tutorial|guide|walkthrough] [for|on] [how to |]{g} [in|on] {u}, "
                    "[then|and] [summarise|sum up|recap] it[ briefly| in a few sentences|]",
                    "[Document|Capture] how to {g} [in|on] {u} [as a tutorial|with screenshots] and [give "
                    "me|add|write] a [short |brief |]summary",
                    "Tutorial [for|on] {g} [in|on] {u}, plus a [summary|recap|TL;DR]",
                    "Record the steps to {g} on {u} as a tutorial, then summarise the steps",
                    "H:Capture how to {g} in {u} with screenshots and give me the gist",
                    "H:Walk through how to {g} on {u}, screenshot it, and summarise the walkthrough"],
                   ["制作在{u}中{g}的教程，并写一段简短总结",
                    "[写|做|生成]一份在{u}[上|里|中]{g}的[教程|指南]，[然后|再|并][总结|概括]一下[要点|步骤|]",
                    "[录|截图记录]{u}上{g}的步骤[做成教程|]，再[给|写]个[摘要|总结]",
                     "H:截图记录在{u}里{g}的步骤，再给个要点总结", "H:演示在{u}上{g}的过程并截图，最后概括一下"],
                   u=site, g=goal)


def meeting_and_research(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    q = ctx.pick("question")
    docs, corpus = ctx.file("folder")
    title = ctx.pick("title")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    ctx.node("research", "research.investigate", question=q, corpus=corpus)
    ctx.node("report", "text.report", title=title,
             sections=[{"heading": "Meeting", "body": ref("transcribe", "text")},
                       {"heading": "Research", "body": ref("research", "report")}])
    return ctx.say(["Transcribe {a} and research {q} in {d}, then write a report titled '{t}' with both",
                    "[Write|Prepare|Compile] a report [called|titled|named] '{t}' [from|combining|with] [the "
                    "transcript of |a transcript of |]{a} and [research|findings] on {q} [from|in|using] {d}",
                    "[Get|Make] a transcript of {a}, [research|look into|investigate] {q} [with|in|using] {d}, and "
                    "[merge|combine|put] [them|both] [into|in] '{t}'",
                    "Report '{t}': [section one|first], [the transcript of|what was said in] {a}; [section "
                    "two|second], [research on|evidence about] {q} from {d}",
                    "In parallel: transcribe {a} and look into {q} using {d}; combine them in a report '{t}'",
                    "H:Write '{t}', combining a transcript of {a} with research on {q} from {d}",
                    "H:'{t}' should hold the transcript of {a} next to what {d} says about {q}"],
                   ["转写{a}，同时用{d}研究{q}，然后写一份包含两者的报告“{t}”",
                    "[把|将]{a}[转成文字|转写]，[再|并|同时][用|根据|基于]{d}[调研|研究|调查]{q}，[最后|然后][合成|"
                    "整理成|汇总成]报告“{t}”",
                    "[写|出]一份报告“{t}”：[一部分是|包括]{a}的[文字稿|转写]，[另一部分是|以及][基于|用]{d}对{q}的["
                    "研究|调研]",
                    "H:写一份“{t}”，结合{a}的文字稿和基于{d}对{q}的研究",
                    "H:“{t}”里放{a}的文字稿，再放{d}中关于{q}的研究"], a=audio, q=q, d=docs, t=title)


def two_summaries(ctx: Ctx) -> str:
    first, p1 = ctx.file("folder")
    second, p2 = ctx.file("folder")
    title = ctx.pick("title")
    ctx.node("load_a", "text.load", path=p1)
    ctx.node("load_b", "text.load", path=p2)
    ctx.node("summary_a", "text.summarize", text=ref("load_a", "text"))
    ctx.node("summary_b", "text.summarize", text=ref("load_b", "text"))
    ctx.node("report", "text.report", title=title,
             sections=[{"heading": "First", "body": ref("summary_a", "summary")},
                       {"heading": "Second", "body": ref("summary_b", "summary")}])
    return ctx.say(["Summarise {x} and {y} separately and put both in a report titled '{t}'",
                    "[Write|Make|Produce] [one summary|a summary] [for|of] {x} and [one|another] [for|of] {y}, "
                    "[then|and] [combine|put] them [in|into] [a report |]'{t}'",
                    "[Create|Compile|Prepare] '{t}' with [separate |individual |]summaries of {x} and {y}",
                    "[Sum up|Summarise|Recap] {x}[, then| and then| and] {y}, [each on its own|separately|one by "
                    "one], [into|in] a report [named|titled|called] '{t}'",
                    "Write '{t}': one summary of {x}, one of {y}",
                    "H:Give me side-by-side summaries of {x} and {y} in a report named '{t}'",
                    "H:'{t}' should summarise {x} first and then {y}"],
                   ["分别总结{x}和{y}，合成一份题为“{t}”的报告",
                    "[把|将]{x}和{y}[各自|分别][总结|概括]一下，[放进|汇总到|整理成][报告|文档]“{t}”",
                    "[写|做]一份“{t}”，[包含|里面有]{x}的摘要和{y}的摘要",  "H:把{x}和{y}各自的摘要并排放进报告“{t}”",
                    "H:“{t}”先写{x}的摘要，再写{y}的摘要"],
                   x=first, y=second, t=title)


def meeting_translate(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    lang = ctx.pick("language")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    ctx.node("summary", "voice.summarize", segments=ref("transcribe", "segments"))
    ctx.node("translate", "translate.text", text=ref("summary", "summary"), target_language=lang)
    return ctx.say(["Summarise the meeting in {a} and translate the summary into {l}",
                    "[Give me|Write|Produce] [the minutes|a summary|meeting notes] [of|for] {a} [in|translated into] "
                    "{l}",
                    "[Recap|Summarise|Sum up] {a}[, then| and] translate [it|the recap|the summary] [into|to] "
                    "{l}",
                    "[Meeting summary|Minutes] of {a}, [in|translated to] {l}[ please|]",
                    "Give me the minutes of {a} in {l}", "H:Summarise {a}, then put the summary into {l}",
                    "H:Colleagues who read {l} need the meeting notes of {a}"],
                   ["总结{a}里的会议，并把摘要翻译成{l}",
                    "[整理|总结]{a}的会议[纪要|要点]，[再|然后|并][翻译|译]成{l}",
                    "[用|以]{l}[给|写|出]{a}的会议[纪要|总结]",
                     "H:给我{a}的会议纪要，用{l}", "H:{a}的会议纪要要给看{l}的同事"], a=audio, l=lang)


def summary_mail(ctx: Ctx) -> str:
    docs, path = ctx.file("folder")
    person = ctx.pick("person")
    ctx.node("load", "text.load", path=path)
    ctx.node("summary", "text.summarize", text=ref("load", "text"))
    ctx.node("mail", "mail.send", to=person, subject="Summary", body=ref("summary", "summary"))
    return ctx.say(["Summarise {d} and email the summary to {p}", "Send {p} a summary of {d}",
                    "[Email|Send] {p} [a summary|the gist|a recap|an overview] of {d}",
                    "[Summarise|Sum up|Recap] {d} [and send it|then mail it|and email it] to {p}",
                    "[Let|Keep] {p} [know|informed|posted] [what's in|about] {d}[ by email| via email| with a summary "
                    "email]",
                    "H:Mail {p} the gist of {d}", "H:Drop {p} a note with the highlights of {d}"],
                   ["总结{d}并把摘要发邮件给{p}", "[把|将]{d}的[摘要|总结|要点][发给|邮件发给|发送给]{p}",
                    "[总结|概括]{d}[，然后|，再|并][用邮件|邮件][发给|通知]{p}",  "H:把{d}的要点用邮件发给{p}",
                    "H:{p}需要{d}的要点，发邮件给他"],
                    d=docs, p=person)


# ---- requests nothing in any catalogue does --------------------------------------------------------

def out_of_scope(ctx: Ctx) -> str:
    city = ctx.pick("city")
    return ctx.say(["Book me a flight to {c} for tomorrow", "Order a pizza to my office",
                    "[Book|Reserve|Get] [me |][a hotel|a room|a hotel room] in {c}",
                    "[Call|Phone|Text] my [mom|dentist|landlord]",
                    "[Buy|Order] [some|new] [shoes|groceries|flowers] online",
                    "[Hack|Break into|Crack] [my ex's|someone's|the company] [email|account|server]",
                    "What's the weather in {c}[ tomorrow|]?", "Pay my [electricity|phone|water] bill",
                    "[Play|Put on] some [music|jazz|a song]", "[Wake me up|Set an alarm] at 7",
                    "[Drive|Send an uber|Get a taxi] to {c} airport",
                    "Transfer 500 dollars to my landlord", "Predict next week's lottery numbers",
                    "Break into my neighbour's wifi", "Delete every file on the production server",
                    "Reserve a table for two in {c} tonight",
                    "[Renew|Extend] my [passport|driving licence|gym membership]",
                    "[Walk|Feed] my dog at noon", "[Fix|Repair] my [bike|dishwasher|car]",
                    "[Cancel|Pause] my [phone contract|newspaper subscription]",
                    "Sell my old [sofa|laptop|bike] [online|on a marketplace]",
                    "[Cook|Make] me dinner tonight", "[Water|Look after] my plants while I'm in {c}",
                    "Tell me tomorrow's stock prices", "[Invest|Put] my savings in crypto",
                    "Get me a visa for {c}", "Win this chess game for me",
                    "Write my exam for me tomorrow", "[Ship|Send] a parcel to {c}",
                    "H:Buy me a train ticket to {c}", "H:Find me a cheap apartment in {c}",
                    "H:Guess my coworker's password"],
                   ["帮我订一张明天去{c}的机票", "给我办公室点一份披萨", "[帮我|请|]订一[间|个]{c}的酒店",
                    "给我[妈妈|房东|牙医]打电话", "[帮我|]在网上买[一双鞋|点菜|一束花]",
                    "[黑进|入侵|破解][别人的|公司的|前任的][邮箱|账号|服务器]", "{c}明天天气怎么样？",
                    "[帮我|]交[电费|话费|水费]", "[放|播放]一首[歌|音乐]",
                    "[设|定]一个早上7点的闹钟",  "给房东转账500元", "预测下周的彩票号码",
                    "[帮我|]续[签证|护照|健身卡]", "中午[帮我|]遛狗", "[帮我|]修[自行车|洗碗机|汽车]",
                    "[取消|暂停]我的[手机套餐|报纸订阅]", "把我的旧[沙发|电脑]卖掉",
                    "今晚给我做饭", "我去{c}的时候帮我浇花", "告诉我明天的股价",
                    "把我的存款都投进加密货币", "帮我寄个包裹到{c}", "替我考明天的试",
                    "H:帮我买一张去{c}的火车票", "H:帮我在{c}租一套便宜的公寓", "H:猜出我同事的密码"], c=city)


Intent = Callable[[Ctx], str]

# name -> (intent, weight): the showcase samples weigh most
INTENTS: dict[str, tuple[Intent, float]] = {
    "text-summarize": (summarize_docs, 1.0), "text-keywords": (keywords, 0.7), "text-digest": (digest, 1.0),
    "research-a": (investigate, 1.2), "research-b": (compare, 1.2), "research-c": (trace, 1.0),
    "voice-transcribe": (transcribe, 0.7), "voice-c": (meeting_summary, 1.2), "voice-a": (voice_question, 1.2),
    "voice-b": (voice_app, 1.0), "voice-speak": (speak, 0.6),
    "gui-a": (gui_do, 1.2), "gui-b": (gui_tutorial, 1.0), "gui-c": (gui_configure, 1.0),
    "image-a": (keyvisual, 1.2), "image-b": (materials, 1.0), "image-c": (infographic, 1.0),
    "image-generate": (generate, 0.6),
    "research-infographic": (research_infographic, 0.8), "research-speak": (research_speak, 0.6),
    "gui-tutorial-summary": (tutorial_summary, 0.6), "voice-research-report": (meeting_and_research, 0.8),
    "text-two-summaries": (two_summaries, 0.7), "voice-translate": (meeting_translate, 0.6),
    "text-mail": (summary_mail, 0.5),
}
