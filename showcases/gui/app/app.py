"""The GUI showcases' demo web app: a login, a report form with a download, a two-app board, settings.

Served by the GUI expert (`serve: app`) on a free localhost port for the node that drives it. It
is a real server: the login checks the password and sets a session cookie, the form posts to the
server, the report is generated there and sent as an attachment; on the board, dragging a mail
from the Mail app into the Tasks app makes a task on the server; the settings page spreads sixteen
settings over four tabs and saves them on the server. State lives in memory for the
life of the server. The demo account is ada@example.org with the password in `../demo.secrets`.
"""

from __future__ import annotations

import html
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

USERS = {"ada@example.org": "Ada Lovelace"}
_SECRETS = Path(__file__).resolve().parent.parent / "demo.secrets"
PERIODS = ["Q1", "Q2", "Q3", "Q4"]
REGIONS = ["Europe", "Americas", "Asia-Pacific"]
SESSIONS: dict[str, str] = {}  # token -> email
MAILS = ["Invoice from Northwind", "Team lunch on Friday", "Quarterly figures", "Server maintenance window"]
TASKS: dict[str, list[str]] = {}  # email -> mails turned into tasks, in order
REPORTS: dict[str, dict[str, str]] = {}  # report id -> fields


def _password() -> str:
    for line in _SECRETS.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "password":
            return value.strip()
    raise RuntimeError(f"{_SECRETS} has no password line")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}} label{{display:block;margin:.6em 0}}
input,select,textarea{{margin-left:.5em}} .error{{color:#b00}} nav a{{margin-right:1em}}</style></head>
<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>""")


def _user(request: Request) -> str | None:
    return SESSIONS.get(request.cookies.get("session", ""))


async def login(request: Request) -> Response:
    error = ""
    if request.method == "POST":
        form = await request.form()
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        if email in USERS and secrets.compare_digest(password, _password()):
            token = secrets.token_urlsafe(16)
            SESSIONS[token] = email
            response = RedirectResponse("/report", status_code=303)
            response.set_cookie("session", token, httponly=True, samesite="strict")
            return response
        error = '<p class="error" role="alert">Wrong e-mail or password.</p>'
    return _page("Sign in", f"""{error}<form method="post" action="/login">
<label>Email <input name="email" type="email" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>""")


def _options(values: list[str]) -> str:
    return "".join(f"<option>{html.escape(v)}</option>" for v in values)


async def report(request: Request) -> Response:
    email = _user(request)
    if email is None:
        return RedirectResponse("/login", status_code=303)
    if request.method == "POST":
        form = await request.form()
        fields = {k: str(form.get(k, "")) for k in ("customer", "period", "region", "notes")}
        fields["charts"] = "yes" if form.get("charts") else "no"
        fields["author"] = USERS[email]
        rid = secrets.token_hex(4)
        REPORTS[rid] = fields
        return _page("Report ready", f"""<p>Report {rid} for {html.escape(fields['customer'])} is ready.</p>
<p><a href="/report/{rid}/download" download>Download report</a></p>
<nav><a href="/report">New report</a></nav>""")
    return _page("New report", f"""<p>Signed in as {html.escape(USERS[email])}.</p>
<form method="post" action="/report">
<label>Customer <input name="customer" required></label>
<label>Period <select name="period">{_options(PERIODS)}</select></label>
<label>Region <select name="region">{_options(REGIONS)}</select></label>
<label><input type="checkbox" name="charts"> Include charts</label>
<label>Notes <textarea name="notes" rows="3"></textarea></label>
<button type="submit">Create report</button></form>""")


async def download(request: Request) -> Response:
    if _user(request) is None:
        return RedirectResponse("/login", status_code=303)
    fields = REPORTS.get(request.path_params["rid"])
    if fields is None:
        return _page("Not found", "<p>No such report.</p>")
    text = "\n".join([f"# Sales report: {fields['customer']}", "", *(f"- {k}: {v}" for k, v in fields.items()), ""])
    name = f"report-{request.path_params['rid']}.md"
    return Response(text, media_type="text/markdown", headers={"content-disposition": f'attachment; filename="{name}"'})


_BOARD_SCRIPT = """
for (const mail of document.querySelectorAll('[data-mail]')) {
  mail.addEventListener('dragstart', e => e.dataTransfer.setData('text/plain', mail.dataset.mail));
}
const tasks = document.getElementById('tasks');
tasks.addEventListener('dragover', e => e.preventDefault());
tasks.addEventListener('drop', async e => {
  e.preventDefault();
  const mail = e.dataTransfer.getData('text/plain');
  const r = await fetch('/board/tasks', {method: 'POST', headers: {'content-type': 'application/json'},
                                         body: JSON.stringify({mail})});
  if (r.ok) location.reload();
});
"""


async def board(request: Request) -> Response:
    email = _user(request)
    if email is None:
        return RedirectResponse("/login", status_code=303)
    done = TASKS.get(email, [])
    mails = "".join(f'<li draggable="true" data-mail="{html.escape(m)}" aria-label="{html.escape(m)}">'
                    f"{html.escape(m)}</li>" for m in MAILS if m not in done)
    tasks = "".join(f"<li>Task: {html.escape(t)}</li>" for t in done) or "<li>No tasks yet</li>"
    status = f'<p role="status">Task created: {html.escape(done[-1])}</p>' if done else ""
    return _page("Board", f"""<nav><a href="/report">Reports</a></nav>{status}
<div style="display:flex;gap:2em">
<section aria-label="Mail" style="flex:1;border:1px solid #888;padding:.5em"><h2>Mail</h2><ul>{mails}</ul></section>
<section aria-label="Tasks" id="tasks" style="flex:1;border:1px solid #888;padding:.5em;min-height:12em">
<h2>Tasks</h2><ul>{tasks}</ul></section></div><script>{_BOARD_SCRIPT}</script>""")


async def add_task(request: Request) -> Response:
    email = _user(request)
    if email is None:
        return Response("sign in first", status_code=401)
    mail = str((await request.json()).get("mail", ""))
    if mail not in MAILS:
        return Response(f"no mail {mail!r}", status_code=400)
    TASKS.setdefault(email, [])
    if mail not in TASKS[email]:
        TASKS[email].append(mail)
    return Response(status_code=204)


# (tab, name, kind, choices, default): kind is text, number, select, check or radio
SETTINGS = [
    ("General", "Display name", "text", [], "Ada Lovelace"),
    ("General", "Language", "select", ["English", "Français", "Deutsch", "Español"], "English"),
    ("General", "Time zone", "select", ["UTC", "Europe/London", "Europe/Paris", "America/New_York"], "UTC"),
    ("General", "Compact layout", "check", [], False),
    ("Notifications", "Email alerts", "check", [], True),
    ("Notifications", "Weekly digest", "check", [], False),
    ("Notifications", "Digest day", "select", ["Monday", "Wednesday", "Friday"], "Monday"),
    ("Notifications", "Alert threshold", "number", [], "10"),
    ("Privacy", "Profile visibility", "radio", ["Public", "Team", "Private"], "Public"),
    ("Privacy", "Share usage data", "check", [], True),
    ("Privacy", "Require two-factor sign-in", "check", [], False),
    ("Privacy", "Session timeout (minutes)", "number", [], "60"),
    ("Advanced", "API rate limit", "number", [], "100"),
    ("Advanced", "Log level", "select", ["Error", "Warning", "Info", "Debug"], "Warning"),
    ("Advanced", "Beta features", "check", [], False),
    ("Advanced", "Webhook URL", "text", [], ""),
]
SAVED: dict[str, dict[str, str | bool]] = {}  # email -> setting name -> value
_TABS_SCRIPT = """
for (const tab of document.querySelectorAll('[role=tab]')) {
  tab.addEventListener('click', () => {
    for (const t of document.querySelectorAll('[role=tab]')) t.setAttribute('aria-selected', t === tab);
    for (const p of document.querySelectorAll('[role=tabpanel]')) p.hidden = p.id !== tab.getAttribute('aria-controls');
  });
}
"""


def _field(i: int, name: str, kind: str, choices: list[str], value: str | bool) -> str:
    key, label = f"s{i}", html.escape(name)
    if kind == "check":
        return f'<label><input type="checkbox" name="{key}"{" checked" if value else ""}> {label}</label>'
    if kind == "select":
        options = "".join(f"<option{' selected' if c == value else ''}>{html.escape(c)}</option>" for c in choices)
        return f'<label>{label} <select name="{key}">{options}</select></label>'
    if kind == "radio":
        radios = "".join(f'<label><input type="radio" name="{key}" value="{html.escape(c)}"'
                         f'{" checked" if c == value else ""}> {html.escape(c)}</label>' for c in choices)
        return f"<fieldset><legend>{label}</legend>{radios}</fieldset>"
    kind_attr = ' type="number" min="0"' if kind == "number" else ""
    return f'<label>{label} <input name="{key}"{kind_attr} value="{html.escape(str(value))}"></label>'


async def settings(request: Request) -> Response:
    email = _user(request)
    if email is None:
        return RedirectResponse("/login", status_code=303)
    saved = SAVED.setdefault(email, {name: default for _, name, _, _, default in SETTINGS})
    status = ""
    if request.method == "POST":
        form = await request.form()
        for i, (_, name, kind, _, _) in enumerate(SETTINGS):
            saved[name] = bool(form.get(f"s{i}")) if kind == "check" else str(form.get(f"s{i}", ""))
        status = '<p role="status">Settings saved</p>'
    tabs = list(dict.fromkeys(t for t, *_ in SETTINGS))
    buttons = "".join(f'<button type="button" role="tab" id="tab-{k}" aria-controls="panel-{k}" '
                      f'aria-selected="{str(k == 0).lower()}">{html.escape(t)}</button>' for k, t in enumerate(tabs))
    panels = "".join(
        f'<div role="tabpanel" id="panel-{k}" aria-labelledby="tab-{k}"{"" if k == 0 else " hidden"}>'
        + "".join(_field(i, name, kind, choices, saved[name])
                  for i, (tab, name, kind, choices, _) in enumerate(SETTINGS) if tab == t) + "</div>"
        for k, t in enumerate(tabs))
    return _page("Settings", f"""{status}<form method="post" action="/settings">
<div role="tablist" aria-label="Settings sections">{buttons}</div>{panels}
<p><button type="submit">Save settings</button></p></form><script>{_TABS_SCRIPT}</script>""")


async def home(request: Request) -> Response:
    return RedirectResponse("/report" if _user(request) else "/login", status_code=303)


app = Starlette(routes=[
    Route("/", home),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/report", report, methods=["GET", "POST"]),
    Route("/report/{rid}/download", download),
    Route("/board", board),
    Route("/board/tasks", add_task, methods=["POST"]),
    Route("/settings", settings, methods=["GET", "POST"]),
])
