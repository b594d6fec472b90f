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

from agentos.planning.slots import GENERIC, INPUT_NAMES, Lang, pool


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
        return self.rng.choice(pool(kind, self.lang, self.held))

    def picks(self, kind: str, n: int) -> list[str]:
        values = pool(kind, self.lang, self.held)
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
        return " ".join(text.format(**slots).split())


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
                        "Read {d} and [write|give me] a {n}-sentence summary",
                        "I need a {n} sentence summary of {d}",
                        "H:Condense {d} down to {n} sentences"],
                       ["用{n}句话[总结|概括]{d}", "读一下{d}，写一个{n}句的摘要", "H:把{d}压缩成{n}句话"],
                       d=docs, n=str(n))
    return ctx.say(["[Summarise|Sum up|Summarize] {d}", "Give me a [short|quick|brief] summary of {d}",
                    "What do {d} say? [Summarise them|Give me the gist]", "H:Boil {d} down to the essentials"],
                   ["[总结|概括]一下{d}", "给我{d}的[简短|快速]摘要", "H:提炼{d}的要点"], d=docs)


def keywords(ctx: Ctx) -> str:
    docs, path = ctx.file("folder")
    n = _count(ctx, 3, 20)
    ctx.node("load", "text.load", path=path)
    ctx.node("keywords", "text.keywords", documents=ref("load", "documents"), top_k=n)
    return ctx.say(["[Find|Extract|List] the top {n} keywords [in|from] {d}", "What are the {n} main terms in {d}?",
                    "Pick {n} keywords from {d}", "H:Which {n} terms come up most in {d}?"],
                   ["[找出|提取]{d}中最重要的{n}个关键词", "{d}里有哪{n}个主要术语？",
                    "H:{d}里出现最多的{n}个词是什么"],
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
                    "[Build|Write] a digest of {d} titled '{t}': summary plus {n} keywords",
                    "H:Put together '{t}', a write-up of {d} with a summary and {n} key terms"],
                   ["读{d}，做摘要并挑出{n}个关键词，然后写一份名为“{t}”的报告",
                    "为{d}生成一份题为“{t}”的报告，包含摘要和前{n}个关键词",
                    "H:整理一份“{t}”：{d}的摘要加{n}个关键词"], d=docs, n=str(n), t=title)


# ---- research --------------------------------------------------------------------------------------

def investigate(ctx: Ctx) -> str:
    q = ctx.pick("question")
    docs, corpus = ctx.file("folder")
    ctx.node("research", "research.investigate", question=q, corpus=corpus)
    return ctx.say(["[Research|Investigate|Look into] {q} using {d}",
                    "Using {d}, find out {q}[ and show the evidence|]",
                    "Build a question-evidence-conclusion chain on {q} from {d}",
                    "H:Dig through {d} and tell me {q}, with citations"],
                   ["根据{d}研究{q}", "用{d}调查{q}，并给出证据", "基于{d}建立“问题-证据-结论”链：{q}",
                    "H:翻阅{d}，告诉我{q}，附上引用"], q=q, d=docs)


def compare(ctx: Ctx) -> str:
    opts = ctx.picks("option", ctx.rng.choice([2, 2, 3]))
    crits = ctx.picks("criterion", ctx.rng.choice([2, 3, 3, 4]))
    docs, corpus = ctx.file("folder")
    ctx.node("compare", "research.compare", options=opts, criteria=crits, corpus=corpus)
    o, c = _join(opts, ctx.lang), _join(crits, ctx.lang)
    return ctx.say(["Compare {o} on {c} using {d}[, with a risk assessment|]",
                    "[Which is better|Weigh up] {o}? Judge {c} from {d}",
                    "Make a comparison matrix of {o} against {c} based on {d} and list the risks",
                    "H:Using {d}, rate {o} for {c} and flag the risks"],
                   ["根据{d}从{c}方面比较{o}[，并做风险评估|]", "基于{d}做{o}在{c}上的对比矩阵并列出风险",
                    "H:用{d}评估{o}的{c}，并指出风险"], o=o, c=c, d=docs)


def trace(ctx: Ctx) -> str:
    doc, document = ctx.file("document")
    docs, corpus = ctx.file("folder")
    ctx.node("trace", "research.trace", document=document, corpus=corpus)
    return ctx.say(["Trace the sources of the claims in {a} against {d}[ and give me a reference list|]",
                    "Where do the claims in {a} come from? Check them against {d}",
                    "Find citations in {d} for every claim in {a} and summarise",
                    "H:Fact-source {a} using {d} and list the references"],
                   ["对照{d}追溯{a}中各项说法的来源[并给出参考文献|]", "{a}里的说法出自哪里？用{d}核对",
                    "H:用{d}为{a}的每个论断找出处并列出参考文献"], a=doc, d=docs)


# ---- voice -----------------------------------------------------------------------------------------

def transcribe(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    return ctx.say(["Transcribe {a}", "[Write out|Type up] what is said in {a}", "Turn {a} into text",
                    "H:Give me a transcript of {a}"],
                   ["转写{a}", "把{a}转成文字", "H:给我{a}的文字稿"], a=audio)


def meeting_summary(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    ctx.node("summary", "voice.summarize", segments=ref("transcribe", "segments"))
    return ctx.say(["Summarise the meeting in {a}[: who said what, and the action items|]",
                    "Separate the speakers in {a}, summarise it and list the action items",
                    "[What was decided in|Give me the minutes of] {a}, with action items",
                    "H:Who committed to what in {a}? Summary and to-dos please"],
                   ["总结{a}里的会议[：谁说了什么，以及待办事项|]", "区分{a}中的说话人，做摘要并列出行动项",
                    "H:{a}里每个人答应了做什么？请给出摘要和待办"], a=audio)


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
                        "Listen to {a}, search {d} for it, summarise and reply with speech",
                        "H:Hear the request in {a}, look it up in {d} and answer it aloud"],
                       ["回答{a}里提出的问题，资料用{d}，并语音播报答案", "听{a}，在{d}里检索，总结后用语音回复",
                        "H:听取{a}中的请求，在{d}中查找并朗读答案"], a=audio, d=docs)
    return ctx.say(["Answer the question asked in {a} using {d}, with key points",
                    "Listen to {a}, search {d} for the answer and summarise it",
                    "Take the spoken command in {a}, research it in {d} and give me a summary",
                    "H:Hear the request in {a}, look it up in {d} and give a short answer"],
                   ["用{d}回答{a}里的问题并列出要点", "听{a}，在{d}中搜索答案并总结",
                    "H:听取{a}中的请求，查阅{d}后给个简短回答"], a=audio, d=docs)


def voice_app(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    site, url = ctx.file("url")
    ctx.node("command", "voice.command", audio=value)
    ctx.node("act", "gui.do", url=url, goal=ref("command", "request"))
    return ctx.say(["Do what {a} says in {u}", "Carry out the spoken instruction in {a} on {u}",
                    "Listen to {a} and operate {u} accordingly",
                    "H:Follow the voice command in {a} using {u}"],
                   ["按照{a}里说的在{u}上操作", "在{u}上执行{a}中的语音指令", "H:听{a}的指令去操作{u}"],
                   a=audio, u=site)


def speak(ctx: Ctx) -> str:
    if ctx.rng.random() < 0.5:
        doc, path = ctx.file("document")
        ctx.node("load", "text.load", path=path)
        ctx.node("speak", "voice.speak", text=ref("load", "text"))
        return ctx.say(["Read {a} aloud", "Turn {a} into speech", "H:Make an audio version of {a}"],
                       ["朗读{a}", "把{a}转成语音", "H:给{a}做一个音频版"], a=doc)
    phrase = ctx.pick("headline")
    ctx.node("speak", "voice.speak", text=phrase)
    return ctx.say(["Say '{p}' out loud", "Read out '{p}'", "H:Speak the words '{p}'"],
                   ["大声说出“{p}”", "朗读“{p}”", "H:把“{p}”念出来"], p=phrase)


# ---- gui -------------------------------------------------------------------------------------------

def gui_do(ctx: Ctx) -> str:
    site, url = ctx.file("url")
    goal = ctx.pick("gui_goal")
    ctx.node("act", "gui.do", url=url, goal=goal)
    return ctx.say(["On {u}, {g}", "In the browser, open {u} and {g}", "Go to {u} and {g}",
                    "H:Use {u} to {g}"],
                   ["在{u}上{g}", "打开浏览器访问{u}，{g}", "H:用{u}来{g}"], u=site, g=goal)


def gui_tutorial(ctx: Ctx) -> str:
    site, url = ctx.file("url")
    goal = ctx.pick("tutorial_goal")
    ctx.node("tutorial", "gui.tutorial", url=url, goal=goal)
    return ctx.say(["Make a step-by-step tutorial with annotated screenshots on how to {g} in {u}",
                    "Record how to {g} on {u} as a tutorial", "Show people how to {g} in {u}, with screenshots",
                    "H:Write a how-to guide for {g} using {u}"],
                   ["制作一份带标注截图的分步教程，演示如何在{u}中{g}", "把在{u}上{g}的步骤录成教程",
                    "H:为在{u}里{g}写一份操作指南"], u=site, g=goal)


def gui_configure(ctx: Ctx) -> str:
    table, settings = ctx.file("settings")
    site, url = ctx.file("url")
    ctx.node("configure", "gui.configure", url=url, settings=settings)
    return ctx.say(["Apply {s} to {u} and report what changed", "Configure {u} with every setting in {s}",
                    "Set all the options in {s} on {u} and read them back",
                    "H:Push {s} into the settings of {u} and show the diff"],
                   ["把{s}应用到{u}并报告改动", "按{s}批量配置{u}", "H:将{s}写入{u}的设置并给出差异"],
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
                        "H:Draft a {b} visual reading '{h}', styled after {s}, and {n} alternatives"],
                       ["参照{s}为{b}设计主视觉，标题“{h}”，再出{n}个变体",
                        "按{s}的风格做{b}的主视觉“{h}”并生成{n}个版本",
                        "H:以{s}为风格参考，给{b}做一版写着“{h}”的视觉，外加{n}个备选"],
                       b=brand, h=headline, s=style_text, n=str(n))
    return ctx.say(["Design a key visual for {b} with the headline '{h}', then [make|generate] {n} variants",
                    "Create a brand visual for {b} saying '{h}' and {n} variations of it",
                    "H:Draft a {b} poster reading '{h}' and {n} alternatives"],
                   ["为{b}设计主视觉，标题是“{h}”，然后自动生成{n}个变体",
                    "给{b}做一张写着“{h}”的品牌海报，再出{n}个版本",
                    "H:起草一张{b}的海报，文案“{h}”，外加{n}个备选"], b=brand, h=headline, n=str(n))


def materials(ctx: Ctx) -> str:
    subject = ctx.pick("subject")
    mats = ctx.picks("material", ctx.rng.choice([2, 3, 3]))
    ctx.node("materials", "image.materials", subject=subject, materials=mats)
    m = _join(mats, ctx.lang)
    return ctx.say(["Render {s} in {m}, keeping the composition", "Show {s} made of {m}, same scene each time",
                    "Make versions of {s} in {m} with the subject and framing unchanged",
                    "H:Swap the material of {s} to {m} without moving anything"],
                   ["把{s}分别渲染成{m}材质，保持构图", "同一场景里的{s}，分别用{m}做材质",
                    "H:把{s}的材质换成{m}，其余不变"], s=subject, m=m)


def infographic(ctx: Ctx) -> str:
    table, value = ctx.file("table")
    titled = ctx.rng.random() < 0.4
    title = ctx.pick("title") if titled else None
    ctx.node("infographic", "image.infographic", table=value, title=title)
    if titled:
        return ctx.say(["Turn {t} into an infographic titled '{n}'", "Make an infographic called '{n}' from {t}",
                        "H:Visualise {t} as an infographic named '{n}'"],
                       ["把{t}做成题为“{n}”的信息图", "H:将{t}可视化为一张名为“{n}”的信息图"], t=table, n=title or "")
    return ctx.say(["Turn {t} into an infographic[ with editable layers|]", "Make an infographic from {t}",
                    "Generate an infographic of {t}", "H:Visualise {t} as an infographic"],
                   ["把{t}做成信息图[，要可编辑的图层|]", "根据{t}生成一张信息图", "H:将{t}可视化为信息图"], t=table)


def generate(ctx: Ctx) -> str:
    prompt = ctx.pick("prompt")
    ctx.node("image", "image.generate", prompt=prompt)
    return ctx.say(["Generate an image of {p}", "Draw {p}", "Make a picture of {p}", "H:Paint {p} for me"],
                   ["生成一张{p}的图片", "画{p}", "H:帮我画一幅{p}"], p=prompt)


# ---- compositions ----------------------------------------------------------------------------------

def research_infographic(ctx: Ctx) -> str:
    opts, crits = ctx.picks("option", 2), ctx.picks("criterion", ctx.rng.choice([2, 3]))
    docs, corpus = ctx.file("folder")
    ctx.node("compare", "research.compare", options=opts, criteria=crits, corpus=corpus)
    ctx.node("infographic", "image.infographic", table=ref("compare", "matrix"))
    o, c = _join(opts, ctx.lang), _join(crits, ctx.lang)
    return ctx.say(["Compare {o} on {c} using {d} and turn the comparison into an infographic",
                    "Research {o} against {c} in {d}, then visualise the matrix as an infographic",
                    "H:Make an infographic of how {o} stack up on {c}, based on {d}"],
                   ["用{d}比较{o}的{c}，并把对比结果做成信息图", "H:基于{d}，把{o}在{c}上的对比画成信息图"],
                   o=o, c=c, d=docs)


def research_speak(ctx: Ctx) -> str:
    q = ctx.pick("question")
    docs, corpus = ctx.file("folder")
    ctx.node("research", "research.investigate", question=q, corpus=corpus)
    ctx.node("speak", "voice.speak", text=ref("research", "answer"))
    return ctx.say(["Research {q} in {d} and read the answer aloud", "Find out {q} from {d} and tell me out loud",
                    "H:Look into {q} with {d} and give me a spoken answer"],
                   ["在{d}中研究{q}并朗读答案", "H:用{d}查明{q}，然后语音告诉我"], q=q, d=docs)


def tutorial_summary(ctx: Ctx) -> str:
    site, url = ctx.file("url")
    goal = ctx.pick("tutorial_goal")
    ctx.node("tutorial", "gui.tutorial", url=url, goal=goal)
    ctx.node("summary", "text.summarize", text=ref("tutorial", "markdown"))
    return ctx.say(["Make a tutorial on how to {g} in {u} and a short summary of it",
                    "Record the steps to {g} on {u} as a tutorial, then summarise the steps",
                    "H:Capture how to {g} in {u} with screenshots and give me the gist"],
                   ["制作在{u}中{g}的教程，并写一段简短总结", "H:截图记录在{u}里{g}的步骤，再给个要点总结"],
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
                    "In parallel: transcribe {a} and look into {q} using {d}; combine them in a report '{t}'",
                    "H:Write '{t}', combining a transcript of {a} with research on {q} from {d}"],
                   ["转写{a}，同时用{d}研究{q}，然后写一份包含两者的报告“{t}”",
                    "H:写一份“{t}”，结合{a}的文字稿和基于{d}对{q}的研究"], a=audio, q=q, d=docs, t=title)


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
                    "Write '{t}': one summary of {x}, one of {y}",
                    "H:Give me side-by-side summaries of {x} and {y} in a report named '{t}'"],
                   ["分别总结{x}和{y}，合成一份题为“{t}”的报告", "H:把{x}和{y}各自的摘要并排放进报告“{t}”"],
                   x=first, y=second, t=title)


def meeting_translate(ctx: Ctx) -> str:
    audio, value = ctx.file("audio")
    lang = ctx.pick("language")
    ctx.node("transcribe", "voice.transcribe", audio=value)
    ctx.node("summary", "voice.summarize", segments=ref("transcribe", "segments"))
    ctx.node("translate", "translate.text", text=ref("summary", "summary"), target_language=lang)
    return ctx.say(["Summarise the meeting in {a} and translate the summary into {l}",
                    "Give me the minutes of {a} in {l}", "H:Summarise {a}, then put the summary into {l}"],
                   ["总结{a}里的会议，并把摘要翻译成{l}", "H:给我{a}的会议纪要，用{l}"], a=audio, l=lang)


def summary_mail(ctx: Ctx) -> str:
    docs, path = ctx.file("folder")
    person = ctx.pick("person")
    ctx.node("load", "text.load", path=path)
    ctx.node("summary", "text.summarize", text=ref("load", "text"))
    ctx.node("mail", "mail.send", to=person, subject="Summary", body=ref("summary", "summary"))
    return ctx.say(["Summarise {d} and email the summary to {p}", "Send {p} a summary of {d}",
                    "H:Mail {p} the gist of {d}"],
                   ["总结{d}并把摘要发邮件给{p}", "H:把{d}的要点用邮件发给{p}"], d=docs, p=person)


# ---- requests nothing in any catalogue does --------------------------------------------------------

def out_of_scope(ctx: Ctx) -> str:
    city = ctx.pick("city")
    return ctx.say(["Book me a flight to {c} for tomorrow", "Order a pizza to my office",
                    "Transfer 500 dollars to my landlord", "Predict next week's lottery numbers",
                    "Break into my neighbour's wifi", "Delete every file on the production server",
                    "Reserve a table for two in {c} tonight",
                    "H:Buy me a train ticket to {c}", "H:Guess my coworker's password"],
                   ["帮我订一张明天去{c}的机票", "给我办公室点一份披萨", "给房东转账500元", "预测下周的彩票号码",
                    "H:帮我买一张去{c}的火车票", "H:猜出我同事的密码"], c=city)


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
