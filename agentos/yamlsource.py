"""Load one YAML document and remember where every value came from.

pydantic reports errors by field path; to point a user at the right line we keep a map from
each path (``("graph", 1, "capability")``) to the line and column of that entry in the file:
the key's position for "this key is wrong" and the value's position for "this value is wrong".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agentos.errors import Problem, TaskFileError

PathKey = tuple[str | int, ...]

MAX_VALUES = 200_000  # aliases can make a tiny file expand without bound ("billion laughs")


@dataclass
class SourceMap:
    """Line/column (1-based) of each field path in a loaded document.

    `positions` holds where an entry starts (its key, or the item of a list); `values` holds
    where its value starts. `overrides` maps paths set from the command line to the `--set`
    that set them, so a problem there says so instead of pointing at an unrelated line.
    """

    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    overrides: dict[PathKey, str] = field(default_factory=dict)

    def locate(self, path: PathKey, value: bool = False) -> tuple[int | None, int | None]:
        """Position of `path` (its value's when `value`), or of its nearest ancestor that has one."""
        p = tuple(path)
        if self.override_for(p):
            return None, None
        if value and p in self.values:
            return self.values[p]
        while True:
            if p in self.positions:
                return self.positions[p]
            if not p:
                return None, None
            p = p[:-1]

    def override_for(self, path: PathKey) -> str:
        """The `--set` that wrote `path` or one of its ancestors, or ''."""
        p = tuple(path)
        for i in range(len(p), -1, -1):
            if p[:i] in self.overrides:
                return self.overrides[p[:i]]
        return ""


@dataclass
class LoadedYaml:
    data: Any
    source: SourceMap
    file: Path | None


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns the composed node tree into plain Python values, recording positions on the way."""

    def __init__(self, src: SourceMap):
        self.src = src
        self.ctor = yaml.SafeLoader("")
        self.problems: list[Problem] = []
        self.count = 0
        self.active: set[int] = set()  # nodes being built: an alias back to one is a loop

    def build(self, node: Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooLarge()
        self.src.positions.setdefault(path, _mark(node))
        self.src.values.setdefault(path, _mark(node))
        if isinstance(node, ScalarNode):
            return self.ctor.construct_object(node, deep=True)
        if id(node) in self.active:
            line, col = _mark(node)
            self.problems.append(Problem("an alias refers to the collection that contains it", format_path(path),
                                         line, col, "a task file cannot hold a recursive structure"))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            assert isinstance(node, SequenceNode)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        self.ctor.flatten_mapping(node)  # resolve `<<` merge keys
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            line, col = _mark(key_node)
            key = self.ctor.construct_object(key_node, deep=True) if isinstance(key_node, ScalarNode) else None
            if key is None or not isinstance(key, (str, int, float, bool)):
                self.problems.append(Problem("expected a plain word as a key, got a collection or null",
                                             format_path(path), line, col))
                continue
            key = key if isinstance(key, str) else str(key)
            if key in out:
                self.problems.append(Problem(f"duplicate key `{key}`", format_path((*path, key)), line, col,
                                             f"it is already set on line {first[key]}; keep one of them"))
                continue
            first[key] = line
            self.src.positions[(*path, key)] = (line, col)
            out[key] = self.build(value_node, (*path, key))
        return out


class _TooLarge(Exception):
    pass


def format_path(path: PathKey) -> str:
    """`("graph", 1, "inputs", "text")` -> `graph[1].inputs.text`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    msg = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark:
        msg += f" ({exc.context} started on line {exc.context_mark.line + 1})"
    line = mark.line + 1 if mark else None
    col = mark.column + 1 if mark else None
    source_line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
    hint = ""
    if "\t" in (exc.problem or "") or source_line.startswith("\t") or "'\\t'" in (exc.problem or ""):
        hint = "YAML indents with spaces, not tabs"
    elif "${" in source_line and "{" in source_line.split("${")[0]:
        hint = 'inside `{...}` quote values that hold a reference: {text: "${load.text}"}'
    elif exc.problem and "mapping values are not allowed" in exc.problem:
        hint = "check the indentation, or quote a value that contains `: `"
    return Problem(msg, line=line, column=col, hint=hint)


def load_yaml_text(text: str, file: Path | None = None) -> LoadedYaml:
    """Parse exactly one YAML document; raise TaskFileError with positions on any problem."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.composer.ComposerError as exc:
        mark = exc.problem_mark
        if exc.context and "single document" in exc.context:
            raise TaskFileError([Problem("a task file holds one YAML document; found a second one here",
                                         line=mark.line + 1 if mark else None, column=1,
                                         hint="remove the extra `---` separator, or split into two files")],
                                file) from None
        raise TaskFileError([_syntax_problem(exc, text)], file) from None
    except yaml.MarkedYAMLError as exc:
        raise TaskFileError([_syntax_problem(exc, text)], file) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        raise TaskFileError([Problem(f"YAML error: {exc}")], file) from None
    finally:
        loader.dispose()
    empty = Problem("the file is empty", hint="a task file needs at least `goal:` or `graph:`")
    if root is None:
        raise TaskFileError([empty], file)
    src = SourceMap()
    builder = _Builder(src)
    try:
        data = builder.build(root, ())
    except _TooLarge:
        raise TaskFileError([Problem(f"the document expands to more than {MAX_VALUES} values",
                                     hint="aliases (`*name`) are copied where they are used; use fewer")],
                            file) from None
    except yaml.constructor.ConstructorError as exc:
        raise TaskFileError([_syntax_problem(exc, text)], file) from None
    if builder.problems:
        raise TaskFileError(builder.problems, file)
    if data is None:
        raise TaskFileError([empty], file)
    if not isinstance(data, dict):
        line, col = _mark(root)
        raise TaskFileError([Problem(f"expected a mapping of task fields at the top level, got {describe(data)}",
                                     line=line, column=col,
                                     hint="start the file with keys such as `goal:` and `graph:`")], file)
    return LoadedYaml(data, src, file)


def load_yaml_file(path: Path) -> LoadedYaml:
    """Read and parse a task file, with a clear error when it is missing or unreadable."""
    if not path.exists():
        raise TaskFileError([Problem("file not found", hint=f"looked for {path.resolve()}")], path)
    if path.is_dir():
        raise TaskFileError([Problem("is a folder, not a task file",
                                     hint="give the path of a .yaml file inside it")], path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskFileError([Problem(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                     hint="save the file as UTF-8")], path) from None
    except OSError as exc:
        raise TaskFileError([Problem(f"cannot read: {exc.strerror}")], path) from None
    return load_yaml_text(text, path)


def describe(value: Any) -> str:
    """A value as a message shows it: `the string 'many'`, `-1`, `a list`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {_short(value)!r}"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}" if value else "an empty list"
    return f"a {type(value).__name__} ({_short(str(value))})"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
