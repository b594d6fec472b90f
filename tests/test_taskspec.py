"""Task files: every mistake a user can make gives a message naming the file, line, field and fix.

Task files are written to tmp_path and validated against the built-in text experts
(text.load, text.summarize x2, text.keywords, text.report), so references to output fields are
checked against the experts' real output models.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from agentos.errors import OverrideError, TaskFileError
from agentos.references import iter_references, parse_reference, substitute
from agentos.registry import Registry
from agentos.taskspec import (
    AgreeCheck,
    Budget,
    HostSettings,
    NodeSpec,
    RouterSettings,
    TaskSpec,
    apply_overrides,
    dependencies,
    load_task,
    parse_task,
    restore_task,
    task_json_schema,
)
from agentos.yamlsource import load_yaml_text

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"
DOCS = Path(__file__).parent.parent / "docs" / "task-file.md"


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry.discover()
    assert {"text.load", "text.summarize", "text.keywords", "text.report"} <= set(reg.capabilities())
    return reg


def write(folder: Path, text: str, name: str = "task.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_for(path: Path, registry: Registry, overrides: list[str] | None = None) -> TaskFileError:
    with pytest.raises(TaskFileError) as info:
        load_task(path, registry, overrides)
    return info.value


def at(path: Path, needle: str, nth: int = 0) -> str:
    """`FILE:LINE:COL` of the `nth` occurrence of `needle` in the file, as messages start."""
    text = path.read_text(encoding="utf-8")
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{path}:{line}:{column}"


def only_problem(err: TaskFileError) -> str:
    assert len(err.problems) == 1, str(err)
    return str(err)


# a valid one-node start that tests extend with more nodes or sections
LOAD = """
    inputs:
      notes: {file: notes}
    graph:
      - id: load
        capability: text.load
        inputs: {path: "${inputs.notes}"}"""


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("# A\n\nOne sentence here. Another one there.\n", encoding="utf-8")
    return tmp_path


# --------------------------------------------------------------------------------------------------
# reading the file


def test_missing_file_names_the_file_and_where_it_looked(tmp_path, registry):
    msg = only_problem(error_for(tmp_path / "nope.yaml", registry))
    assert "nope.yaml" in msg and "file not found" in msg and str(tmp_path) in msg


def test_a_folder_instead_of_a_file_says_so(tmp_path, registry):
    assert "is a folder, not a task file" in only_problem(error_for(tmp_path, registry))


def test_yaml_syntax_error_gives_file_line_and_column(tmp_path, registry):
    path = write(tmp_path, """
        goal: x
        graph: [
          - id: a
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:3:3: YAML syntax error:")
    assert "while parsing a flow node started on line" in msg


def test_unquoted_reference_in_a_flow_mapping_suggests_quoting_it(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - id: a
            inputs: {text: ${load.text}}
    """)
    msg = only_problem(error_for(path, registry))
    assert f"{path}:3:" in msg and "YAML syntax error" in msg
    assert 'quote values that hold a reference: {text: "${load.text}"}' in msg


def test_tab_indentation_says_yaml_uses_spaces(tmp_path, registry):
    path = tmp_path / "task.yaml"
    path.write_text("goal: x\ngraph:\n\t- id: a\n", encoding="utf-8")
    msg = only_problem(error_for(path, registry))
    assert f"{path}:3:1:" in msg and "spaces, not tabs" in msg


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "~\n"])
def test_empty_file_says_it_is_empty(tmp_path, registry, text):
    path = tmp_path / "task.yaml"
    path.write_text(text, encoding="utf-8")
    msg = only_problem(error_for(path, registry))
    assert msg == f"{path}: the file is empty (a task file needs at least `goal:` or `graph:`)"


def test_a_list_at_the_top_level_is_not_a_task(tmp_path, registry):
    path = write(tmp_path, """
        - id: load
          capability: text.load
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:1:1: expected a mapping of task fields at the top level, got a list of 1 item")
    assert "`goal:`" in msg


def test_duplicate_yaml_key_names_both_lines(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - id: a
            capability: text.load
            capability: text.summarize
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:4:5: graph[0].capability: duplicate key `capability`")
    assert "already set on line 3" in msg


def test_a_second_yaml_document_is_rejected_at_its_separator(tmp_path, registry):
    path = write(tmp_path, """
        goal: one
        ---
        goal: two
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:2:1: a task file holds one YAML document")
    assert "`---`" in msg


def test_an_undefined_alias_is_a_syntax_error_not_a_second_document(tmp_path, registry):
    path = write(tmp_path, "goal: *nowhere\n")
    msg = only_problem(error_for(path, registry))
    assert "undefined alias" in msg and "document" not in msg


def test_a_recursive_alias_is_reported_not_a_crash():
    with pytest.raises(TaskFileError) as info:
        load_yaml_text("goal: x\ninputs:\n  loop: &a [*a]\n")
    assert "recursive" in str(info.value) and "inputs.loop[0]" in str(info.value)


def test_aliases_that_expand_without_bound_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(TaskFileError) as info:
        load_yaml_text("\n".join(lines) + "\n")
    assert "expands to more than" in str(info.value)


def test_positions_point_at_keys_and_values_of_nested_fields():
    loaded = load_yaml_text(textwrap.dedent("""\
        graph:
          - id: a
            inputs:
              max_sentences: many
    """))
    assert loaded.source.locate(("graph", 0, "inputs", "max_sentences")) == (4, 7)
    assert loaded.source.locate(("graph", 0, "inputs", "max_sentences"), value=True) == (4, 22)
    assert loaded.source.locate(("graph", 0, "inputs", "absent")) == (3, 5)  # nearest ancestor


# --------------------------------------------------------------------------------------------------
# the shape of the file (pydantic)


def test_unknown_key_suggests_the_near_miss(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - id: load
            capabilty: text.load
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:3:5: graph[0]: unknown key `capabilty`")
    assert "did you mean `capability`?" in msg
    assert "allowed keys: id, capability, expert, inputs, after" in msg


def test_unknown_top_level_key_suggests_the_near_miss(tmp_path, registry):
    path = write(tmp_path, "goal: x\nbudgett: {max_nodes: 3}\n")
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:2:1: unknown key `budgett`") and "did you mean `budget`?" in msg


def test_wrong_type_names_the_expected_type_and_what_was_given(tmp_path, registry):
    path = write(tmp_path, """
        goal: x
        budget:
          max_nodes: ten
    """)
    msg = only_problem(error_for(path, registry))
    assert msg == f"{path}:3:14: budget.max_nodes: expected an integer, got the string 'ten'"


def test_a_mapping_where_a_list_belongs_is_named(tmp_path, registry):
    path = write(tmp_path, "graph: {load: text.load}\n")
    assert only_problem(error_for(path, registry)) == f"{path}:1:8: graph: expected a list, got a mapping"


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("wall_time_s", "-5", "expected a number greater than 0, got -5"),
    ("max_retries", "-1", "expected a number of at least 0, got -1"),
    ("max_cost", "-0.5", "expected a number of at least 0, got -0.5"),
    ("max_nodes", "0", "expected a number of at least 1, got 0"),
])
def test_a_negative_budget_is_rejected_with_the_limit(tmp_path, registry, field, value, expected):
    path = write(tmp_path, f"goal: x\nbudget:\n  {field}: {value}\n")
    msg = only_problem(error_for(path, registry))
    assert msg == f"{path}:3:{len(field) + 5}: budget.{field}: {expected}"


def test_yes_where_a_string_belongs_suggests_quoting(tmp_path, registry):
    msg = only_problem(error_for(write(tmp_path, "goal: yes\n"), registry))
    assert "goal: expected a string, got true" in msg and "quote it" in msg


def test_a_node_needs_a_capability_or_an_expert(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - id: a
            description: does nothing
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:2:5: graph[0]: a node needs `capability` (what to do) or `expert`")


def test_a_node_id_that_cannot_be_referenced_explains_the_rule(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - id: 1st step
            capability: text.load
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:2:9: graph[0].id: expected an id of letters, digits, `_` and `-`")
    assert "got the string '1st step'" in msg


def test_a_node_without_id_names_the_missing_key(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - capability: text.load
    """)
    assert only_problem(error_for(path, registry)) == f"{path}:2:5: graph[0]: missing required key `id`"


def test_a_task_needs_a_goal_or_a_graph(tmp_path, registry):
    msg = only_problem(error_for(write(tmp_path, "name: nothing to do\n"), registry))
    assert "a task needs `goal` (for the host to plan) or `graph` (explicit nodes)" in msg


def test_a_goal_only_task_validates(tmp_path, registry):
    spec = load_task(write(tmp_path, "goal: Summarise the notes in this folder.\n"), registry)
    assert spec.goal == "Summarise the notes in this folder." and spec.graph == []
    assert spec.budget == Budget() and spec.router == RouterSettings() and spec.host is None
    assert spec.base_dir == tmp_path.resolve() and spec.file == tmp_path / "task.yaml"


def test_messages_never_show_a_traceback_or_pydantics_raw_dump(tmp_path, registry):
    path = write(tmp_path, """
        graph:
          - id: a
            capability: [text.load]
            retries: lots
        budget: 5
        host: {timeout_s: fast}
    """)
    err = error_for(path, registry)
    text = str(err)
    assert len(err.problems) == 4
    for raw in ("Traceback", "errors.pydantic.dev", "Input should be", "validation error", "type="):
        assert raw not in text


# --------------------------------------------------------------------------------------------------
# nodes, experts and references (checked against the registry)


def test_duplicate_node_id_names_where_it_was_first_used(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: load
        capability: text.summarize
        inputs: {text: hello}
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{at(path, 'load', 2)}: graph[1].id: duplicate node id `load`")
    assert "graph[0] on line 4 already uses it" in msg


def test_reference_to_a_missing_node_suggests_the_near_miss(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${lod.text}"}
    """)
    msg = only_problem(error_for(path, registry))
    where = at(path, '"${lod')
    assert msg.startswith(f"{where}: graph[1].inputs.text: ${{lod.text}}: no node `lod`")
    assert "did you mean `load`?" in msg


def test_reference_to_a_missing_output_field_lists_the_real_fields(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: keywords
        capability: text.keywords
        inputs: {documents: "${load.docs}"}
    """)
    msg = only_problem(error_for(path, registry))
    where = at(path, '"${load.docs')
    assert msg.startswith(f"{where}: graph[1].inputs.documents: ${{load.docs}}: "
                          "`text.load` output has no field `docs`")
    assert "did you mean `documents`?" in msg and "fields there: text, documents, count" in msg


def test_a_nested_reference_is_checked_through_the_output_model(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs:
          text: "${load.documents.0.titel}"
    """)
    msg = only_problem(error_for(path, registry))
    assert "graph[1].inputs.text: ${load.documents.0.titel}: `text.load` output `documents.0` has no field `titel`" \
        in msg
    assert "did you mean `title`?" in msg and msg.startswith(at(path, '"${load.documents'))


def test_a_field_taken_from_a_list_without_an_index_is_explained(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${load.documents.text}"}
    """)
    assert "`documents` is a list; take an item by index (`.0`)" in only_problem(error_for(path, registry))


def test_a_reference_inside_a_longer_string_is_checked_and_makes_an_edge(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: report
        capability: text.report
        inputs:
          title: "Digest of ${load.count} notes, ${load.wrods} words"
          sections: [{heading: All, body: "${load.text}"}]
    """)
    msg = only_problem(error_for(path, registry))
    assert "graph[1].inputs.title: ${load.wrods}: `text.load` output has no field `wrods`" in msg
    good = path.read_text().replace("load.wrods", "load.count")
    spec = load_task(write(task_dir, good, "good.yaml"), registry)
    assert dependencies(spec.node("report")) == {"load"}


def test_inputs_references_are_checked_against_the_task_inputs(task_dir, registry):
    path = write(task_dir, """
        inputs:
          notes: {file: notes}
        graph:
          - id: load
            capability: text.load
            inputs: {path: "${inputs.note}"}
    """)
    msg = only_problem(error_for(path, registry))
    where = at(path, '"${inputs.note}')
    assert msg.startswith(f"{where}: graph[0].inputs.path: ${{inputs.note}}: "
                          "no task input `note`")
    assert "did you mean `notes`?" in msg


def test_an_inputs_reference_is_not_an_edge(task_dir, registry):
    spec = load_task(write(task_dir, LOAD), registry)
    assert dependencies(spec.node("load")) == set()
    assert spec.inputs["notes"] == str((task_dir / "notes").resolve())


def test_an_unclosed_reference_is_reported(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${load.text"}
    """)
    msg = only_problem(error_for(path, registry))
    assert "graph[1].inputs.text: `${` is never closed" in msg and "`$${`" in msg


def test_a_malformed_reference_shows_the_accepted_forms(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${load}"}
    """)
    msg = only_problem(error_for(path, registry))
    assert "`${load}` is not a reference; write `${node_id.field}` or `${inputs.name}`" in msg


def test_a_cycle_names_the_nodes_on_it(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: draft
        capability: text.summarize
        inputs: {text: "${review.summary}"}
      - id: review
        capability: text.summarize
        inputs: {text: "${draft.summary}"}
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{at(path, 'draft')}: graph: the graph has a cycle: draft -> review -> draft")


def test_a_cycle_through_after_is_found_too(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: a
        capability: text.summarize
        inputs: {text: "${load.text}"}
        after: [c]
      - id: b
        capability: text.summarize
        inputs: {text: "${a.summary}"}
      - id: c
        capability: text.summarize
        inputs: {text: "${b.summary}"}
    """)
    assert "the graph has a cycle: a -> b -> c -> a" in only_problem(error_for(path, registry))


def test_after_names_only_existing_other_nodes(task_dir, registry):
    path = write(task_dir, LOAD + """
        after: [laod, load]
    """)
    err = error_for(path, registry)
    assert "graph[0].after[0]: `after` names unknown node `laod`" in str(err)
    assert "graph[0].after[1]: a node cannot run after itself" in str(err)


def test_an_unknown_capability_suggests_the_near_miss(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarise
        inputs: {text: "${load.text}"}
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{at(path, 'text.summarise')}: graph[1].capability: unknown capability `text.summarise`")
    assert "did you mean `text.summarize`?" in msg


def test_an_unrelated_capability_lists_the_known_ones(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: film
        capability: video.render
    """)
    known = ", ".join(sorted(registry.capabilities()))  # every installed expert's, text.* among them
    assert "text.keywords, text.load, text.report, text.summarize" in known
    assert f"known capabilities: {known}" in only_problem(error_for(path, registry))


def test_an_unknown_expert_suggests_the_near_miss(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        expert: lead-sumarizer
        capability: text.summarize
        inputs: {text: "${load.text}"}
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{at(path, 'lead-sumarizer')}: graph[1].expert: unknown expert `lead-sumarizer`")
    assert "did you mean `lead-summarizer`?" in msg


def test_an_expert_name_under_capability_says_which_key_to_use(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: keywords
        capability: tfidf-keywords
        inputs: {documents: "${load.documents}"}
    """)
    assert "`tfidf-keywords` is an expert; write `expert: tfidf-keywords`" in only_problem(error_for(path, registry))


def test_an_expert_pin_that_does_not_offer_the_capability_says_who_does(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        expert: markdown-report
        capability: text.summarize
        inputs: {text: "${load.text}"}
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{at(path, 'markdown-report')}: graph[1].expert: "
                          "expert `markdown-report` does not offer `text.summarize`")
    assert "it offers text.report" in msg and "frequency-summarizer, lead-summarizer" in msg


def test_an_expert_with_one_operation_implies_its_capability(task_dir, registry):
    spec = load_task(write(task_dir, LOAD + """
      - id: keywords
        expert: tfidf-keywords
        inputs: {documents: "${load.documents}", top_k: 3}
    """), registry)
    assert spec.node("keywords").capability == "text.keywords"
    assert spec.node("keywords").expert == "tfidf-keywords"


def test_a_literal_input_of_the_wrong_type_names_the_expected_type(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs:
          text: "${load.text}"
          max_sentences: many
    """)
    msg = only_problem(error_for(path, registry))
    assert msg == (f"{at(path, 'many')}: graph[1].inputs.max_sentences: expected an integer, got the string 'many' "
                   "(`text.summarize` takes max_sentences: int)")


def test_a_literal_input_outside_its_bounds_names_the_bound(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${load.text}", max_sentences: 500}
    """)
    assert "graph[1].inputs.max_sentences: expected a number of at most 50, got 500" in \
        only_problem(error_for(path, registry))


def test_literal_parts_beside_references_are_type_checked(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: report
        capability: text.report
        inputs:
          title: Digest
          sections:
            - {heading: Text, body: "${load.text}"}
            - {heading: 7, body: [1, {a: b}]}
            - {body: none}
    """)
    err = error_for(path, registry)
    text = str(err)
    assert len(err.problems) == 3, text
    assert f"{at(path, '7')}: graph[1].inputs.sections[1].heading: expected a string, got 7" in text
    assert "graph[1].inputs.sections[1].body: expected a string, got a list of 2 items; as list[str]: " \
           "[0]: expected a string, got 1, [1]: expected a string, got a mapping" in text
    assert f"{at(path, '{body: none}')}: graph[1].inputs.sections[2]: missing required key `heading`" in text


def test_a_missing_required_input_names_it_and_its_type(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {max_sentences: 2}
    """)
    msg = only_problem(error_for(path, registry))
    where = at(path, "inputs: {max")
    assert msg == f"{where}: graph[1].inputs: missing input `text` for `text.summarize` (expected str)"


def test_an_unknown_input_suggests_the_near_miss(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: keywords
        capability: text.keywords
        inputs: {documents: "${load.documents}", topk: 3}
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{at(path, 'topk')}: graph[1].inputs.topk: `text.keywords` has no input `topk`")
    assert "did you mean `top_k`?" in msg and "its inputs: documents, top_k" in msg


def test_a_file_input_that_does_not_exist_says_where_it_looked(task_dir, registry):
    path = write(task_dir, """
        inputs:
          notes: {file: notes/missing.md}
        goal: read it
    """)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:2:17: inputs.notes.file: file `notes/missing.md` does not exist")
    assert str(task_dir.resolve() / "notes" / "missing.md") in msg


def test_a_file_input_takes_only_the_file_key(task_dir, registry):
    path = write(task_dir, "inputs:\n  notes: {file: notes, mode: r}\ngoal: x\n")
    assert "inputs.notes: a file input takes only the key `file`; found `mode`" in \
        only_problem(error_for(path, registry))


@pytest.mark.parametrize(("section", "where"), [
    ("inputs:\n  secrets: {file: ../secrets.txt}\ngoal: x\n", "2:19: inputs.secrets.file"),
    ("goal: x\noutput: ../../runs\n", "2:9: output"),
    ("graph:\n  - id: load\n    capability: text.load\n    inputs: {path: /etc}\n", "4:20: graph[0].inputs.path"),
])
def test_a_path_escaping_the_task_folder_is_refused(task_dir, registry, section, where):
    (task_dir.parent / "secrets.txt").write_text("x", encoding="utf-8")
    path = write(task_dir, section)
    msg = only_problem(error_for(path, registry))
    assert msg.startswith(f"{path}:{where}: path `") and f"is outside the task folder {task_dir.resolve()}" in msg
    assert "must stay inside it" in msg


def test_literal_paths_are_resolved_against_the_task_file_not_the_cwd(task_dir, registry):
    spec = load_task(write(task_dir, """
        graph:
          - id: load
            capability: text.load
            inputs: {path: notes}
    """), registry)
    assert spec.node("load").inputs["path"] == str((task_dir / "notes").resolve())


def test_an_unknown_router_name_lists_the_known_ones(tmp_path, registry):
    path = write(tmp_path, "goal: x\nrouter:\n  name: determinstic\n")
    msg = only_problem(error_for(path, registry))
    assert msg == f"{path}:3:9: router.name: unknown router `determinstic` (did you mean `deterministic`?)"
    path = write(tmp_path, "goal: x\nrouter: {name: bandit}\n")
    assert "known routers: adaptive, deterministic" in only_problem(error_for(path, registry))


def test_agree_checks_need_two_references_to_real_fields(task_dir, registry):
    path = write(task_dir, LOAD + """
    checks:
      - agree: ["${load.count}", "3"]
      - agree: ["${load.count}", "${load.cuont}"]
    """)
    err = error_for(path, registry)
    assert len(err.problems) == 2
    assert "checks[0].agree[1]: expected one `${node.field}` reference, got the string '3'" in str(err)
    assert "checks[1].agree[1]: ${load.cuont}: `text.load` output has no field `cuont`" in str(err)


def test_a_graph_larger_than_the_node_budget_is_refused(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${load.text}"}
    budget: {max_nodes: 1}
    """)
    assert "graph: the graph has 2 nodes but budget.max_nodes is 1" in only_problem(error_for(path, registry))


def test_every_problem_is_listed_top_to_bottom(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.sumarize
      - id: keywords
        capability: text.keywords
        inputs: {documents: "${lod.documents}"}
    router: {name: nope}
    """)
    err = error_for(path, registry)
    lines = [p.line for p in err.problems]
    assert len(lines) == 3 and lines == sorted(lines)
    assert str(err).startswith(f"{path}: 3 problems\n  {at(path, 'text.sumarize')}: graph[1].capability")


def test_the_full_fixture_validates_and_is_normalised(registry):
    spec = load_task(FIXTURES / "full.yaml", registry)
    assert [n.id for n in spec.graph] == ["load", "summary", "keywords", "report"]
    assert spec.node("keywords").capability == "text.keywords"  # implied by the pinned expert
    assert spec.inputs["notes"] == str((FIXTURES / "notes").resolve())
    assert dependencies(spec.node("report")) == {"load", "summary", "keywords"}
    assert spec.checks == [AgreeCheck(agree=["${load.count}", "${keywords.documents}"])]


def test_parse_task_holds_a_dict_to_the_same_rules(tmp_path, registry):
    with pytest.raises(TaskFileError) as info:
        parse_task({"graph": [{"id": "a", "capability": "text.sumarize"}]}, registry, base_dir=tmp_path)
    assert str(info.value).startswith("<task>: graph[0].capability: unknown capability `text.sumarize`")


# --------------------------------------------------------------------------------------------------
# --set overrides


def test_set_overrides_a_budget_value(tmp_path, registry):
    path = write(tmp_path, "goal: x\nbudget: {max_retries: 1}\n")
    spec = load_task(path, registry, ["budget.max_retries=4", "budget.wall_time_s=2.5"])
    assert spec.budget.max_retries == 4 and spec.budget.wall_time_s == 2.5


def test_set_addresses_a_node_input_by_node_id(task_dir, registry):
    path = write(task_dir, LOAD + """
      - id: summary
        capability: text.summarize
        inputs: {text: "${load.text}", max_sentences: 3}
    """)
    spec = load_task(path, registry, ["graph.summary.inputs.max_sentences=1"])
    assert spec.node("summary").inputs == {"text": "${load.text}", "max_sentences": 1}


def test_set_creates_a_missing_section(tmp_path, registry):
    spec = load_task(write(tmp_path, "goal: x\nhost:\n"), registry, ["host.model=step-3.5"])
    assert spec.host == HostSettings(model="step-3.5")


def test_set_with_an_unknown_node_id_suggests_the_near_miss(task_dir, registry):
    path = write(task_dir, LOAD)
    with pytest.raises(OverrideError) as info:
        load_task(path, registry, ["graph.lod.inputs.path=x"])
    assert str(info.value) == f"--set graph.lod.inputs.path: no node `lod` in the graph of {path} " \
                              "(did you mean `load`?)"


def test_a_bad_value_from_set_says_which_set_it_came_from(tmp_path, registry):
    path = write(tmp_path, "goal: x\n")
    err = error_for(path, registry, ["budget.max_retries=-2"])
    assert only_problem(err) == (f"{path}: budget.max_retries: expected a number of at least 0, got -2 "
                                 "(set by `--set budget.max_retries=-2`)")
    err = error_for(path, registry, ["budget.max_retires=2"])
    assert "unknown key `max_retires`" in str(err) and "did you mean `max_retries`?" in str(err)


@pytest.mark.parametrize("item", ["budget", "=3", "budget..x=1"])
def test_set_needs_key_equals_value(item):
    with pytest.raises(OverrideError) as info:
        apply_overrides({"goal": "x"}, [item])
    assert "expected key=value, e.g. --set budget.max_retries=3" in str(info.value)


def test_set_through_a_value_that_is_not_a_mapping_is_refused():
    with pytest.raises(OverrideError) as info:
        apply_overrides({"goal": "x"}, ["goal.text=y"])
    assert str(info.value) == "--set goal.text: `goal` is the string 'x', not a mapping"


def test_apply_overrides_leaves_the_callers_dict_alone():
    data = {"goal": "x", "budget": {"max_retries": 1}}
    out = apply_overrides(data, ["budget.max_retries=3"])
    assert out["budget"]["max_retries"] == 3 and data["budget"]["max_retries"] == 1


# --------------------------------------------------------------------------------------------------
# references, restore, schema, docs


def test_substitute_keeps_whole_references_typed_and_formats_embedded_ones():
    values = {"n": 3, "items": ["a", "b"], "text": "hi"}

    def resolve(ref):
        return values[ref.field]

    assert substitute("${x.items}", resolve) == ["a", "b"]
    assert substitute("${x.n}", resolve) == 3
    assert substitute("${x.text} x${x.n} ${x.items}", resolve) == 'hi x3 ["a", "b"]'
    assert substitute("cost: $${x.n} ${x.n}", resolve) == "cost: ${x.n} 3"


def test_an_escaped_reference_is_not_a_reference():
    assert list(iter_references({"a": ["$${x.y}", "${b.c}"]})) == [(("a", 1), "b.c")]


def test_parse_reference_splits_source_and_path():
    ref = parse_reference(" load.documents.0.title ")
    assert (ref.source, ref.path, ref.text) == ("load", ("documents", "0", "title"), "${load.documents.0.title}")


def test_restore_task_rebuilds_a_normalised_spec(registry):
    spec = load_task(FIXTURES / "full.yaml", registry)
    again = restore_task(spec.model_dump(mode="json"), spec.base_dir, spec.file)
    assert again == spec and again.base_dir == spec.base_dir


def test_restore_task_with_a_stale_spec_is_a_task_file_error(tmp_path):
    with pytest.raises(TaskFileError) as info:
        restore_task({"goal": "x", "colour": "red"}, tmp_path, None)
    assert "no longer validates" in str(info.value) and "unknown key `colour`" in str(info.value)


def test_the_json_schema_forbids_unknown_keys_everywhere():
    schema = task_json_schema()
    assert schema["title"] == "AgentOS task file" and schema["additionalProperties"] is False
    # except the spoken goal: its other keys are the inputs of the installed voice.command, checked at load time
    assert all(d.get("additionalProperties") is False for name, d in schema["$defs"].items() if name != "SpokenGoal")
    assert schema["$defs"]["SpokenGoal"].get("additionalProperties") is not False
    assert set(schema["properties"]) == set(TaskSpec.model_fields)


def test_the_reference_documents_every_key_with_its_default():
    doc = DOCS.read_text(encoding="utf-8")
    for model in (TaskSpec, NodeSpec, Budget, RouterSettings, HostSettings, AgreeCheck):
        for name, info in model.model_fields.items():
            row = re.search(rf"^\| `{name}` \|.*$", doc, re.MULTILINE)
            assert row, f"docs/task-file.md has no row for {model.__name__}.{name}"
            if not info.is_required() and info.default_factory is None and info.default not in (None, ""):
                assert f"`{info.default}`" in doc, f"{model.__name__}.{name}: default {info.default!r} not shown"


def test_the_annotated_example_in_the_reference_validates(registry, tmp_path):
    doc = DOCS.read_text(encoding="utf-8")
    example = doc.split("## A full example", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    shutil.copytree(FIXTURES / "notes", tmp_path / "notes")
    spec = load_task(write(tmp_path, example), registry)
    assert len(spec.graph) >= 4 and spec.checks


def test_paths_inside_lists_dicts_and_models_resolve_against_the_task_folder(task_dir, registry):
    """research.investigate's corpus is a list of paths; gui.configure's secrets hold a model with a file path."""
    path = write(task_dir, """
        graph:
          - id: ask
            capability: research.investigate
            inputs: {question: "What is in the notes?", corpus: [notes]}
          - id: settings
            capability: gui.configure
            inputs:
              settings: {Log level: Debug}
              secrets: {password: {file: notes/a.md}, token: {env: SOME_TOKEN}}
          - id: escape
            capability: research.investigate
            inputs: {question: "What is outside?", corpus: [notes, ../elsewhere]}
        """)
    err = error_for(path, registry)
    assert "graph[2].inputs.corpus[1]: path `../elsewhere` is outside the task folder" in only_problem(err)
    path = write(task_dir, "\n".join(path.read_text().splitlines()[:9]) + "\n")
    spec = load_task(path, registry)
    assert spec.graph[0].inputs["corpus"] == [str(task_dir / "notes")]
    assert spec.graph[1].inputs["secrets"] == {"password": {"file": str(task_dir / "notes" / "a.md")},
                                               "token": {"env": "SOME_TOKEN"}}
