"""Slot values made up on the spot, for the training split only.

A model trained on a few dozen file names and topics learns to recall them instead of copying what
the request says (the first step3p5-mini did: its argument accuracy on held-out values was 0.21).
Training examples therefore draw most values from these generators, which combine word lists into
names, URLs, questions and goals no pool holds; the held-out split keeps its curated pools.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from agentos.planning.slots import Lang

WORDS = ["budget", "sales", "climate", "energy", "churn", "pricing", "hiring", "supply", "fleet", "solar", "battery",
         "water", "soil", "traffic", "retail", "privacy", "safety", "payroll", "audit", "vendor", "cloud", "network",
         "mobile", "search", "onboarding", "support", "billing", "invoice", "legal", "risk", "quality", "roadmap",
         "launch", "campaign", "partner", "grant", "policy", "health", "school", "transit", "housing", "farm",
         "harvest", "ocean", "forest", "coffee", "tea", "bakery", "garden", "bicycle", "rocket", "satellite", "drone",
         "sensor", "camera", "printer", "robot", "factory", "warehouse", "shipping", "port", "bridge", "tunnel",
         "museum", "library", "theatre", "festival", "market", "bank", "insurance", "tax", "loan", "credit",
         "inventory", "recipe", "menu", "kitchen", "hotel", "travel", "airline", "tourism", "weather", "storm",
         "flood", "drought", "wildfire", "vaccine", "clinic", "hospital", "nursing", "pharmacy", "genome", "protein",
         "enzyme", "laser", "chip", "memory", "storage", "backup", "compiler", "kernel", "browser", "plugin", "widget",
         "dashboard", "portal", "gateway", "cache", "queue", "ledger", "token", "wallet", "exchange", "auction",
         "lottery", "stadium", "league", "coach", "player", "ticket", "concert", "album", "podcast", "video", "studio",
         "gallery", "fashion", "textile", "leather", "paper", "glassware", "furniture", "lamp", "mirror", "window",
         "roof", "elevator", "parking", "scooter", "tram", "ferry", "cargo"]
ADJECTIVES = ["quiet", "bright", "rapid", "green", "urban", "rural", "early", "late", "hidden", "open", "shared",
              "remote", "local", "global", "small", "large", "hybrid", "manual", "digital", "modular"]
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken", "lena", "mia",
         "noah", "omar", "priya", "quinn", "ravi", "sara", "tom", "uma", "victor", "wendy", "xin", "yuki", "zoe"]
ZH_WORDS = ["预算", "销售", "气候", "能源", "流失", "定价", "招聘", "供应", "车队", "光伏", "电池", "水质", "土壤",
            "交通", "零售", "隐私", "安全", "薪资", "审计", "供应商", "云端", "网络", "移动端", "搜索", "客服", "账单",
            "发票", "法务", "风险", "质量", "路线图", "发布", "营销", "合作", "补贴", "政策", "医疗", "学校", "公交",
            "住房", "农场", "海洋", "森林", "咖啡", "茶叶", "烘焙", "花园", "单车", "火箭", "卫星", "无人机", "传感器",
            "相机", "打印机", "机器人", "工厂", "仓库", "物流", "港口", "桥梁", "博物馆", "图书馆", "剧院", "市场",
            "银行", "保险", "税务", "贷款", "库存", "菜单", "酒店", "旅游", "航空", "天气", "洪水", "干旱", "疫苗",
            "诊所", "医院", "芯片", "存储", "备份", "浏览器", "插件", "仪表盘", "网关", "缓存", "账本", "钱包", "拍卖",
            "球队", "门票", "音乐会", "播客", "视频", "工作室", "画廊", "时装", "纺织", "家具", "台灯", "电梯", "停车",
            "电车", "渡轮"]
ZH_NAMES = ["张伟", "王芳", "李强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷", "徐明", "孙丽", "马超",
            "朱琳", "胡斌", "郭晶"]


def _w(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _z(rng: random.Random) -> str:
    return rng.choice(ZH_WORDS)


def _stem(rng: random.Random) -> str:
    """A file or folder stem: one or two words, sometimes with a number."""
    stem = _w(rng) if rng.random() < 0.5 else f"{_w(rng)}{rng.choice('_-')}{_w(rng)}"
    if rng.random() < 0.3:
        stem += f"_{rng.choice([rng.randint(1, 12), rng.randint(2019, 2026), rng.randint(100, 9999)])}"
    return stem


def _file(extensions: tuple[str, ...], suffixes: tuple[str, ...] = ()) -> Callable[[random.Random, Lang], str]:
    def make(rng: random.Random, lang: Lang) -> str:
        stem = _stem(rng)
        if suffixes and rng.random() < 0.5:
            stem += "_" + rng.choice(suffixes)
        return f"{stem}.{rng.choice(extensions)}"
    return make


def folder(rng: random.Random, lang: Lang) -> str:
    shape = rng.random()
    if shape < 0.5:
        return f"{_stem(rng)}/"
    if shape < 0.8:
        return f"{_w(rng)}/{_stem(rng)}/"
    return f"{rng.choice(['data', 'docs', 'shared', 'projects', 'archive'])}/{_w(rng)}/{rng.randint(2019, 2026)}/"


def url(rng: random.Random, lang: Lang) -> str:
    path = "/".join(_w(rng) for _ in range(rng.randint(0, 2)))
    host = rng.choice([f"localhost:{rng.randint(1024, 65535)}", f"127.0.0.1:{rng.randint(1024, 65535)}",
                       f"{_w(rng)}.local", f"{_w(rng)}.internal:{rng.randint(3000, 9999)}"])
    return f"http://{host}/{path}".rstrip("/") if path or rng.random() < 0.5 else f"http://{host}"


def brand(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return _z(rng) + rng.choice(["科技", "咖啡", "单车", "超市", "茶饮", "家居", "服饰", "宠物", "书店", "灯具"])
    return f"{_w(rng).capitalize()} {rng.choice([*WORDS, 'labs', 'works', 'co', 'studio']).capitalize()}"


def headline(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice([f"让{_z(rng)}更简单", f"更好的{_z(rng)}", f"{_z(rng)}，从此不同", f"为{_z(rng)}而生",
                           f"每天的{_z(rng)}", f"{_z(rng)}与{_z(rng)}"])
    a, b = _w(rng), _w(rng)
    return rng.choice([f"{rng.choice(ADJECTIVES).capitalize()} {a} for every {b}", f"Rethink your {a}",
                       f"The {a} you deserve", f"{a.capitalize()} made {rng.choice(ADJECTIVES)}",
                       f"From {a} to {b}", f"Your {a}, your {b}"])


def subject(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice(["一个", "一只", "一台", "一把"]) + _z(rng) + rng.choice(["模型", "摆件", "", "玩具"])
    if rng.random() < 0.5:
        return f"a {rng.choice(ADJECTIVES)} {_w(rng)}"
    return f"a {_w(rng)} {rng.choice(['model', 'toy', 'figure', 'lamp', 'box'])}"


def question(rng: random.Random, lang: Lang) -> str:
    a, b = (_z(rng), _z(rng)) if lang == "zh" else (_w(rng), _w(rng))
    if lang == "zh":
        return rng.choice([f"{a}如何影响{b}", f"{a}为什么越来越贵", f"什么限制了{a}的发展", f"{a}和{b}有什么关系",
                           f"哪种{a}方案最适合{b}", f"{a}的主要风险是什么", f"{a}对{b}有多大影响"])
    return rng.choice([f"how {a} affects {b}", f"why {a} costs keep rising", f"what limits {a} in {b}",
                       f"which {a} approach suits {b}", f"what drives {a} churn", f"whether {a} reduces {b} risk",
                       f"how {a} and {b} are related", f"what the evidence says about {a}"])


def option(rng: random.Random, lang: Lang) -> str:
    shape = rng.random()
    if shape < 0.4:
        return _w(rng).capitalize() + rng.choice(["DB", "JS", "OS", "", "ly", "io", " Pro"])
    if shape < 0.7:
        return "".join(rng.choice("ABCDEFGHKLMNPRSTVWXZ") for _ in range(rng.randint(2, 4))) + \
            rng.choice(["", "-" + str(rng.randint(2, 9)), str(rng.randint(1, 5))])
    return f"{_z(rng)}方案" if lang == "zh" else f"{_w(rng)} {rng.choice(['trucks', 'cells', 'pumps', 'servers'])}"


def criterion(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return _z(rng) + rng.choice(["成本", "风险", "效率", "合规性", "体验", ""])
    return rng.choice([f"{_w(rng)} cost", f"{_w(rng)} risk", "uptime", "support", "documentation", "hiring pool",
                       "upgrade path", "memory use", "startup time", "accuracy", "battery life", "weight", "noise"])


def gui_goal(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        who = rng.choice(ZH_NAMES)
        return rng.choice([f"登录后打开{_z(rng)}页面并下载{_z(rng)}报告", f"新建一个名为{_z(rng)}的项目",
                           f"把{_z(rng)}列表导出为 CSV", f"新增一个名为{who}的客户", f"把{_z(rng)}设置改为开启",
                           f"以 {rng.choice(NAMES)} 身份登录并提交{_z(rng)}表单"])
    who = rng.choice(NAMES)
    return rng.choice([f"log in as {who}, open the {_w(rng)} page and download the {_w(rng)} report",
                       f"create a new project called {_w(rng)} and invite {rng.choice(NAMES)}",
                       f"export the {_w(rng)} list as {rng.choice(['CSV', 'PDF', 'Excel'])}",
                       f"add a new customer named {who.capitalize()} {rng.choice(NAMES).capitalize()}",
                       f"turn on {_w(rng)} alerts", f"submit the {_w(rng)} form as {who}",
                       f"sign in and download the {_w(rng)} invoice"])


def tutorial_goal(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice(["添加", "创建", "删除", "导出", "分享", "归档", "编辑"]) + _z(rng) + rng.choice(["", "记录",
                           "规则", "报表"])
    return f"{rng.choice(['add', 'create', 'delete', 'export', 'share', 'archive', 'edit', 'import'])} a {_w(rng)} " \
        + rng.choice(["", "rule", "record", "report", "entry"])


def prompt(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice([f"{_z(rng)}里的{_z(rng)}", f"夜晚的{_z(rng)}", f"一只守着{_z(rng)}的猫", f"雨中的{_z(rng)}"])
    return f"a {rng.choice(ADJECTIVES)} {_w(rng)} {rng.choice(['in', 'beside', 'above', 'under', 'near'])} a {_w(rng)}"


def title(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return _z(rng) + rng.choice(["简报", "周报", "笔记", "综述", "调研", "月报"])
    kind = rng.choice(["notes", "digest", "brief", "update", "review", "overview", "report"])
    return f"{_w(rng).capitalize()} {kind}"


def language(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice(["俄文", "阿拉伯文", "意大利文", "韩文", "瑞典文", "波兰文", "土耳其文", "越南文", "泰文"])
    return rng.choice(["Russian", "Arabic", "Hindi", "Swedish", "Polish", "Turkish", "Greek", "Vietnamese", "Thai",
                       "Czech", "Finnish", "Indonesian", "Chinese", "English"])


def person(rng: random.Random, lang: Lang) -> str:
    name = rng.choice(NAMES)
    if rng.random() < 0.7:
        return f"{name}@{_w(rng)}.{rng.choice(['com', 'org', 'io', 'example.com'])}"
    if lang == "zh":
        return rng.choice(["市场部", "财务组", "产品团队", "我的同事", rng.choice(ZH_NAMES)])
    return rng.choice([f"the {_w(rng)} team", "my boss", "my colleagues", name.capitalize()])


def city(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice(["上海", "北京", "深圳", "伦敦", "纽约", "首尔", "罗马", "悉尼"])
    return rng.choice(["London", "Madrid", "Seoul", "Rome", "Sydney", "Boston", "Delhi", "Nairobi"])


def material(rng: random.Random, lang: Lang) -> str:
    if lang == "zh":
        return rng.choice(["银", "青铜", "皮革", "陶土", "冰", "布料", "竹子", "水泥", "水晶", "丝绸"])
    return rng.choice(["silver", "bronze", "velvet", "leather", "clay", "ice", "fabric", "bamboo", "concrete",
                       "crystal", "carbon fibre", "porcelain", "felt", "brass"])


GENERATORS: dict[str, Callable[[random.Random, Lang], str]] = {
    "folder": folder, "url": url, "brand": brand, "headline": headline, "subject": subject,
    "question": question, "option": option, "criterion": criterion, "gui_goal": gui_goal,
    "tutorial_goal": tutorial_goal, "prompt": prompt, "title": title, "language": language, "person": person,
    "city": city, "material": material,
    "document": _file(("md", "txt", "html", "pdf")),
    "audio": _file(("wav", "mp3", "flac", "ogg", "m4a"), ("call", "meeting", "memo", "sync")),
    "settings": _file(("yaml", "csv", "json"), ("settings", "config", "prefs", "options")),
    "table": _file(("csv", "md", "yaml", "xlsx"), ("spec", "specs", "table", "data")),
    "image": _file(("png", "jpg")),
    "style": _file(("png", "jpg"), ("style", "mood", "ref")),
}


def fresh(kind: str, lang: Lang, rng: random.Random) -> str:
    """A made-up value of `kind` for a training example."""
    return GENERATORS[kind](rng, lang)
