"""Slot values for the planning data: train pools and disjoint held-out pools, in English and Chinese.

A held-out example draws every value from the `held` pool, so the benchmark scores requests whose
files, URLs, topics and names the model never saw in training.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]

# kind -> (train values, held-out values); the same for both languages unless ZH_POOLS overrides
POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "folder": (("notes/", "reports/", "papers/", "docs/q3/", "minutes/", "specs/", "research/batteries/",
                "corpus/", "sources/", "library/climate/", "wiki/", "interviews/"),
               ("archive/2025/", "briefs/", "evidence/", "readings/")),
    "document": (("article.md", "press_release.md", "blog_post.txt", "whitepaper.md", "essay.md", "memo.txt",
                  "claims.md", "news_story.md", "draft.md", "report_v2.md"),
                 ("op-ed.md", "statement.txt", "column.md")),
    "audio": (("meeting.wav", "standup.mp3", "call_0312.flac", "interview.ogg", "question.wav", "memo.wav",
               "review_call.mp3", "sync.flac", "kickoff.wav", "voice_note.ogg", "command.wav", "ask.mp3"),
              ("townhall.wav", "retro.mp3", "briefing.ogg", "request.flac")),
    "url": (("http://localhost:8080", "http://127.0.0.1:5000/admin", "http://localhost:3000/login",
             "http://localhost:8000/app", "http://127.0.0.1:8080/settings", "http://localhost:4200/dashboard",
             "http://intranet.local/reports", "http://localhost:7000/crm"),
            ("http://localhost:9000/portal", "http://127.0.0.1:8765/console", "http://localhost:5173/hr")),
    "settings": (("settings.yaml", "router_config.csv", "prefs.json", "config_table.md", "options.csv"),
                 ("batch_settings.yaml", "policy.csv")),
    "table": (("spec.csv", "product_specs.md", "phone_spec.yaml", "specs.csv", "ebike_table.md", "sensor_spec.csv"),
              ("table.csv", "laptop_spec.yaml", "drone_specs.md")),
    "image": (("draft.png", "keyvisual.png", "poster.png", "banner.png", "hero.jpg"),
              ("cover.png", "flyer.jpg")),
    "style": (("style.png", "moodboard.jpg", "reference.png", "brand_style.png"), ("ref_style.jpg", "look.png")),
    "brand": (("Aurora Coffee", "Nimbus Cloud", "Kite Bikes", "Lumen Lamps", "Vela Shoes", "Quill Notes",
               "Harbor Bank", "Maple Market"),
              ("Orbit Tea", "Pixel Paws", "Cedar Homes")),
    "headline": (("Wake up to better mornings", "Ride the city", "Light that follows you", "Fresh every day",
                  "Write more, worry less", "Banking made simple", "Step into comfort"),
                 ("Made for tomorrow", "Home, reimagined", "Every cup a journey")),
    "subject": (("a teapot", "a chess knight", "a desk lamp", "a sneaker", "a bicycle bell", "a coffee cup",
                 "a paper crane", "a camera"),
                ("a vase", "a robot toy", "a headphone stand")),
    "material": (("glass", "metal", "paper", "wood", "ceramic", "plastic", "marble", "gold"),
                 ("copper", "rubber", "stone")),
    "question": (("how solid-state batteries affect EV range", "why the 2023 pilot missed its targets",
                  "what drives churn in the mobile app", "which cooling method suits small data centres",
                  "how remote work changed office energy use", "what the evidence says about four-day weeks",
                  "how microplastics reach drinking water", "why sodium-ion cells are getting cheaper",
                  "what limits wind power in winter", "how the new tariff affects suppliers"),
                 ("how heat pumps perform in cold climates", "what limits perovskite solar cell lifetime",
                  "why urban bees are declining")),
    "option": (("LoRa", "NB-IoT", "Zigbee", "PostgreSQL", "MongoDB", "SQLite", "React", "Vue", "Svelte",
                "hydrogen trucks", "battery trucks", "Rust", "Go", "Kubernetes", "Nomad", "5G", "Wi-Fi 6"),
               ("Kafka", "RabbitMQ", "TPU", "GPU", "Flutter", "SwiftUI")),
    "criterion": (("cost", "latency", "power use", "maturity", "security", "scalability", "ecosystem", "range",
                   "reliability", "ease of use", "throughput"),
                  ("licensing", "vendor lock-in", "carbon footprint")),
    "gui_goal": (("log in as alice, fill in the expense form and download the monthly report",
                  "create a new project called demo and invite bob", "export the sales report as CSV",
                  "sign in, open the orders page and download last week's invoice",
                  "fill the contact form with my details and submit it", "add a new customer named Dana Lee",
                  "log in and change the notification email", "open the reports tab and download the Q3 summary"),
                 ("reset the password for user carol", "archive last year's invoices",
                  "log in and download the audit log")),
    "tutorial_goal": (("add a user", "create a filter rule", "export a report", "invite a teammate",
                       "set up two-factor login", "create an invoice", "drag files into a shared folder"),
                      ("change the billing address", "rename a workspace")),
    "prompt": (("a fox reading a book in a library", "a city skyline at dusk", "a lighthouse in a storm",
                "a bowl of ramen on a wooden table", "a robot watering plants", "mountains reflected in a lake"),
               ("a whale swimming through clouds", "a red tram in the snow")),
    "title": (("Weekly digest", "Battery research notes", "Meeting brief", "Project update", "Market scan",
               "Reading notes"),
              ("Quarterly overview", "Field notes")),
    "language": (("French", "German", "Japanese", "Spanish", "Italian", "Korean"), ("Portuguese", "Dutch")),
    "person": (("bob@example.com", "the team", "alice@example.com", "my manager"), ("carol@example.com",)),
    "city": (("Paris", "Tokyo", "Berlin", "Lima"), ("Oslo", "Cairo")),
}

ZH_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "subject": (("一个茶壶", "一个国际象棋马", "一盏台灯", "一只运动鞋", "一个咖啡杯", "一只纸鹤", "一台相机"),
                ("一个花瓶", "一个机器人玩具")),
    "material": (("玻璃", "金属", "纸", "木头", "陶瓷", "塑料", "大理石"), ("铜", "橡胶", "石头")),
    "question": (("固态电池如何影响电动车续航", "2023年试点为什么没有达标", "移动应用用户流失的原因是什么",
                  "小型数据中心适合哪种冷却方式", "远程办公如何改变办公室能耗", "微塑料如何进入饮用水",
                  "钠离子电池为什么越来越便宜", "新关税如何影响供应商"),
                 ("热泵在寒冷气候下表现如何", "钙钛矿太阳能电池寿命受什么限制", "城市蜜蜂为什么减少")),
    "criterion": (("成本", "延迟", "功耗", "成熟度", "安全性", "可扩展性", "生态", "续航", "可靠性", "易用性"),
                  ("许可证", "供应商锁定", "碳足迹")),
    "option": (("LoRa", "NB-IoT", "Zigbee", "PostgreSQL", "MongoDB", "React", "Vue", "氢能卡车", "电池卡车",
                "Rust", "Go", "5G", "Wi-Fi 6"),
               ("Kafka", "RabbitMQ", "TPU", "GPU")),
    "gui_goal": (("以 alice 身份登录，填写报销表单并下载月度报告", "新建一个名为 demo 的项目并邀请 bob",
                  "把销售报告导出为 CSV", "登录后打开订单页面并下载上周的发票", "用我的信息填写联系表单并提交",
                  "新增一个名为李娜的客户"),
                 ("重置用户 carol 的密码", "归档去年的发票")),
    "tutorial_goal": (("添加用户", "创建筛选规则", "导出报告", "邀请同事", "开启两步验证", "创建发票"),
                      ("修改账单地址", "重命名工作区")),
    "prompt": (("一只在图书馆看书的狐狸", "黄昏时的城市天际线", "暴风雨中的灯塔", "木桌上的一碗拉面"),
               ("在云中游动的鲸鱼", "雪中的红色电车")),
    "headline": (("唤醒更好的早晨", "骑行城市", "光随你行", "每天都新鲜", "让银行更简单"),
                 ("为明天而生", "重新想象家")),
    "brand": (("极光咖啡", "云雀科技", "风筝单车", "流明灯具", "枫叶超市"), ("轨道茶饮", "像素宠物")),
    "title": (("每周摘要", "电池研究笔记", "会议简报", "项目进展", "市场扫描"), ("季度概览", "实地笔记")),
    "language": (("英文", "日文", "法文", "德文", "西班牙文"), ("葡萄牙文", "荷兰文")),
    "person": (("bob@example.com", "团队", "alice@example.com", "我的经理"), ("carol@example.com",)),
    "city": (("巴黎", "东京", "柏林"), ("奥斯陆", "开罗")),
}

# how a request refers to a value it passes as a task input, or leaves out (then the planner asks)
GENERIC: dict[str, dict[Lang, tuple[str, ...]]] = {
    "folder": {"en": ("the documents", "the attached documents", "my notes", "the notes", "the files", "the corpus",
                      "the sources"),
               "zh": ("这些文档", "附件里的文档", "我的笔记", "这些笔记", "这些文件", "资料库")},
    "document": {"en": ("the article", "this text", "the attached document", "the post"),
                 "zh": ("这篇文章", "这段文字", "附件文档", "这篇帖子")},
    "audio": {"en": ("the recording", "this audio", "the attached recording", "the voice memo"),
              "zh": ("这段录音", "这个音频", "附件里的录音", "这条语音")},
    "url": {"en": ("the admin site", "our web app", "the portal", "the dashboard"),
            "zh": ("管理后台", "我们的网页应用", "门户网站", "控制台")},
    "settings": {"en": ("the settings table", "these settings", "the attached configuration"),
                 "zh": ("这张设置表", "这些设置", "附件里的配置")},
    "table": {"en": ("the spec table", "this product table", "the attached specs"),
              "zh": ("这张参数表", "这个产品表格", "附件里的规格")},
    "image": {"en": ("the draft", "this visual", "the attached image"),
              "zh": ("这张草图", "这个视觉稿", "附件里的图片")},
    "style": {"en": ("the style reference", "the moodboard"), "zh": ("风格参考图", "情绪板")},
}

# names a task file gives such inputs
INPUT_NAMES: dict[str, tuple[str, ...]] = {
    "folder": ("docs", "corpus", "notes", "sources", "documents"),
    "document": ("article", "document", "text", "post"),
    "audio": ("audio", "recording", "meeting", "clip", "voice"),
    "url": ("url", "site", "app_url", "portal"),
    "settings": ("settings", "config", "table"),
    "table": ("spec", "table", "specs", "data"),
    "image": ("image", "draft", "visual"),
    "style": ("style", "reference", "style_ref"),
}

CLARIFY: dict[str, str] = {
    "folder": "which documents should I use? add them to the task inputs",
    "document": "which document do you mean? add it to the task inputs",
    "audio": "which recording do you mean? add the audio file to the task inputs",
    "url": "which web address should I open? add the url to the task inputs",
    "settings": "which settings table should I apply? add it to the task inputs",
    "table": "which spec table should I use? add it to the task inputs",
    "image": "which image do you mean? add it to the task inputs",
    "style": "which style reference do you mean? add it to the task inputs",
}
REFUSE = "no capability in the catalogue can do this"


def pool(kind: str, lang: Lang, held: bool) -> tuple[str, ...]:
    pools = ZH_POOLS.get(kind) if lang == "zh" else None
    train, heldout = pools or POOLS[kind]
    return heldout if held else train
