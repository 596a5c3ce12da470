"""The workflow expression language: literals, paths, operators, functions, templates,
conditions, errors with columns and hints, limits, and fuzzing that nothing but
ExpressionError ever escapes."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.workflow.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    EvaluationError,
    Expression,
    ExpressionError,
    Reference,
    parse,
    parse_condition,
    parse_template,
    render_value,
    template_references,
    truthy,
)

SCOPE: dict[str, Any] = {
    "workflow": {"inputs": {"data_file": "sales.csv", "limit": 10}},
    "steps": {
        "data-extraction": {
            "outputs": {
                "processed_data": [
                    {"region": "north", "total": 5},
                    {"region": "south", "total": 7},
                ],
                "rows": 2,
            }
        },
        "check": {
            "outputs": {
                "status": "down",
                "count": 3,
                "codes": [200, 404, 500],
                "ready": "false",
                "blank": "",
                "nothing": None,
                "tags": ["b", "a", "b"],
                "text": "  Hello World  ",
                "odd keys": {"with space": 1, "in": 2, "0": "zero"},
            }
        },
    },
    "env": {"HOME": "/home/me", "PATH": "/bin"},
    "secrets": {"API_KEY": "s3cr3t"},
    "item": {"name": "x.csv", "size": 1.5},
    "index": 1,
    "loop": {"index": 0},
}

# No example database: the repository ignores no .hypothesis folder, and fuzzing must not
# depend on earlier runs. No deadline: timing is not what these tests check.
FUZZ = settings(database=None, deadline=None, max_examples=400)


def ev(text: str, scope: Mapping[str, Any] = SCOPE) -> Any:
    return parse(text).evaluate(scope)


def failure(call: Callable[[], object], kind: type[ExpressionError] = ExpressionError) -> Any:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


# --- Literals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'single'", "single"),
        ('"double"', "double"),
        (r"'a\nb\tc\\d\'e\"f'", "a\nb\tc\\d'e\"f"),
        ('"it\'s"', "it's"),
        ("''", ""),
        ("42", 42),
        ("-7", -7),
        ("007", 7),
        ("2.5", 2.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", True),
        ("False", False),
        ("None", None),
        ("[]", []),
        ("[1, 'a', [true, null]]", [1, "a", [True, None]]),
        ("[1, 2,]", [1, 2]),
        ("[index, item.name]", [1, "x.csv"]),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


def test_list_literals_are_fresh_each_time() -> None:
    expression = parse("[1, 2]")
    first = expression.evaluate(SCOPE)
    first.append(3)
    assert expression.evaluate(SCOPE) == [1, 2]


# --- Paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("workflow.inputs.data_file", "sales.csv"),
        ("steps.data-extraction.outputs.rows", 2),
        ("steps.data-extraction.outputs.processed_data[0].region", "north"),
        ("steps.data-extraction.outputs.processed_data[-1].total", 7),
        ("steps.check.outputs['odd keys']['with space']", 1),
        ('steps.check.outputs["odd keys"].in', 2),
        ('steps.check.outputs["odd keys"]["0"]', "zero"),
        ("steps.check.outputs.codes[index]", 404),
        ("steps.check.outputs.codes[loop.index]", 200),
        ("steps['check'].outputs.count", 3),
        ("steps[ 'check' ] . outputs . count", 3),
        ("env.HOME", "/home/me"),
        ("secrets.API_KEY", "s3cr3t"),
        ("keys(steps.check.outputs)[0]", "status"),
        ("(steps.check.outputs).count", 3),
        ("[10, 20, 30][-1]", 30),
        ("steps.check.outputs.nothing", None),
        ("index", 1),
    ],
)
def test_paths(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_a_hyphen_joins_words_into_one_name() -> None:
    assert ev("a-b", {"a-b": 1, "a": 5, "b": 2}) == 1
    assert ev("x-1", {"x-1": "one"}) == "one"
    error = failure(lambda: parse("a - b"))
    assert (error.message, error.column) == ("unexpected '-'", 3)
    assert "no arithmetic" in error.hint


def test_keys_are_only_mapping_keys_and_list_indexes() -> None:
    """No attribute access: a dunder name is just a key that is not there."""
    error = failure(lambda: ev("item.name.__class__"), EvaluationError)
    assert error.message == (
        "item.name.__class__ not found: item.name is the text 'x.csv', not an object or a list"
    )
    error = failure(lambda: ev("steps.__class__"), EvaluationError)
    assert error.message == "steps.__class__ not found: steps has no key '__class__'"
    error = failure(lambda: ev("item.name[0]"), EvaluationError)
    assert (
        error.message
        == "item.name[0] not found: item.name is the text 'x.csv', not an object or a list"
    )


def test_tuples_and_other_mappings_are_walked_like_lists_and_dicts() -> None:
    from types import MappingProxyType

    scope = {"t": (1, 2, 3), "m": MappingProxyType({"k": "v"})}
    assert ev("t[-1]", scope) == 3
    assert ev("m.k", scope) == "v"


def test_computed_index_must_be_a_number_or_text() -> None:
    error = failure(lambda: ev("steps.check.outputs.codes[item.size]"), EvaluationError)
    assert error.message == "an index must be a whole number or text, got the number 1.5"
    assert error.column == 27
    error = failure(lambda: ev("steps.check.outputs.codes[true]"), EvaluationError)
    assert error.message == "an index must be a whole number or text, got true"


# --- Operators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps.check.outputs.status == 'down'", True),
        ("steps.check.outputs.status != 'down'", False),
        ("1 == 1.0", True),
        ("1 == true", False),
        ("0 == false", False),
        ("'1' == 1", False),
        ("null == null", True),
        ("[1, [true]] == [1, [true]]", True),
        ("[1, [true]] == [1, [1]]", False),
        ("keys(steps.check.outputs['odd keys']) == ['with space', 'in', '0']", True),
        ("steps.check.outputs.count > 0", True),
        ("steps.check.outputs.count >= 3", True),
        ("steps.check.outputs.count < 3", False),
        ("steps.check.outputs.count <= 2.5", False),
        ("'apple' < 'banana'", True),
        ("-1 < 0", True),
        ("404 in steps.check.outputs.codes", True),
        ("'own' in steps.check.outputs.status", True),
        ("'status' in steps.check.outputs", True),
        ("'nope' not in steps.check.outputs", True),
        ("[1] in [[1], 2]", True),
        ("null in [1, null]", True),
        ("true and 1", True),
        ("true and 0", False),
        ("false or ''", False),
        ("false or 'x'", True),
        ("not steps.check.outputs.ready", True),
        ("!steps.check.outputs.blank", True),
        ("not not 'yes'", True),
        ("true && false || true", True),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("not 1 == 2", True),
        ("not 'a' in 'abc'", False),
        ("steps.check.outputs.codes | length > 2 and steps.check.outputs.status == 'down'", True),
    ],
)
def test_operators(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_and_or_stop_early_so_guards_work() -> None:
    assert ev("exists(steps.nope) and steps.nope.outputs.x == 1") is False
    assert ev("not exists(steps.nope) or steps.nope.outputs.x == 1") is True


@pytest.mark.parametrize(
    ("text", "message", "column", "hint"),
    [
        (
            "'a' < 1",
            "cannot compare the text 'a' with the number 1 using '<'",
            5,
            "convert the text to a number first: int(x) or float(x)",
        ),
        (
            "steps.check.outputs.nothing >= 1",
            "cannot compare null with the number 1 using '>='",
            29,
            "one side is null: give it a fallback with default(x, 0)",
        ),
        (
            "[1] > [0]",
            "cannot compare a list of 1 item with a list of 1 item using '>'",
            5,
            "'>' orders two numbers or two texts; compare sizes with length(x)",
        ),
        (
            "true < 2",
            "cannot compare true with the number 2 using '<'",
            6,
            "'<' orders two numbers or two texts; compare sizes with length(x)",
        ),
        (
            "1 in 'abc'",
            "text can only contain text, not the number 1",
            3,
            "convert the value with string(...) first",
        ),
        (
            "'a' not in 5",
            "the number 5 is not text, a list or an object, so nothing can be in it",
            5,
            "check the path",
        ),
        (
            "'a' in steps.check.outputs.nothing",
            "null is not text, a list or an object, so nothing can be in it",
            5,
            "give a fallback with default(x, [])",
        ),
        (
            "[1] in steps.check.outputs",
            "object keys are text, so a list of 1 item cannot be one",
            5,
            "look for a key name (text) in an object",
        ),
    ],
)
def test_type_errors_in_operators(text: str, message: str, column: int, hint: str) -> None:
    error = failure(lambda: ev(text), EvaluationError)
    assert (error.message, error.column, error.hint) == (message, column, hint)


# --- Functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("length('abc')", 3),
        ("steps.check.outputs.codes | length", 3),
        ("length(steps.check.outputs['odd keys'])", 3),
        ("lower('AbC')", "abc"),
        ("'AbC' | upper", "ABC"),
        ("steps.check.outputs.text | trim", "Hello World"),
        ("default(steps.check.outputs.missing, 'n/a')", "n/a"),
        ("steps.check.outputs.nothing | default('n/a')", "n/a"),
        ("steps.check.outputs.count | default(0)", 3),
        ("steps.check.outputs.blank | default('n/a')", ""),
        ("steps.nope.outputs.x | default(steps.also.missing | default('deep'))", "deep"),
        ("steps.check.outputs.codes[9] | default(-1)", -1),
        ("item.name.size | default('scalar')", "scalar"),
        ("(steps.check.outputs.gone) | default(1)", 1),
        ("default(null, 2)", 2),
        ("steps.check.outputs.tags | join", "b, a, b"),
        ("steps.check.outputs.tags | join('-')", "b-a-b"),
        ("join([1, true, null, 'x', [2]], '|')", "1|true||x|[2]"),
        ("split(' a  b ')", ["a", "b"]),
        ("'a,b,,c' | split(',')", ["a", "b", "", "c"]),
        ("first(steps.check.outputs.codes)", 200),
        ("steps.check.outputs.codes | last", 500),
        ("first('xyz')", "x"),
        ("first([])", None),
        ("last('')", None),
        ("keys(item)", ["name", "size"]),
        ("item | values", ["x.csv", 1.5]),
        ("int('42')", 42),
        ("int(' 7 ')", 7),
        ("int('2.9')", 2),
        ("int(-2.9)", -2),
        ("int(true)", 1),
        ("float('2.5')", 2.5),
        ("float(3)", 3.0),
        ("float(false)", 0.0),
        ("string(12)", "12"),
        ("string(null)", ""),
        ("string(true)", "true"),
        ("string(item)", '{"name":"x.csv","size":1.5}'),
        ("string(1.5)", "1.5"),
        ("bool('no')", False),
        ("bool('No ')", False),
        ("bool('yes')", True),
        ("contains(steps.check.outputs.codes, 500)", True),
        ("steps.check.outputs.status | contains('w')", True),
        ("contains(item, 'nope')", False),
        ("startswith(workflow.inputs.data_file, 'sales')", True),
        ("workflow.inputs.data_file | endswith('.json')", False),
        ("exists(steps.check.outputs.count)", True),
        ("exists(steps.check.outputs.nothing)", True),
        ("exists(steps.nope.outputs.count)", False),
        ("steps.check.outputs.codes[3] | exists", False),
        ("exists(steps.check.outputs.codes[index])", True),
        ("empty(steps.check.outputs.blank)", True),
        ("empty(steps.check.outputs.nothing)", True),
        ("empty([])", True),
        ("empty(item)", False),
        ("empty(0)", False),
        ("round(2.567, 2)", 2.57),
        ("round(2.4)", 2),
        ("round(2.5)", 2),
        ("round(1234, -2)", 1200),
        ("min(steps.check.outputs.codes)", 200),
        ("max(3, 9, 4)", 9),
        ("max(['pear', 'apple'])", "pear"),
        ("min([])", None),
        ("sum(steps.check.outputs.codes)", 1104),
        ("sum([])", 0),
        ("sum([0.5, 1])", 1.5),
        ("sort(steps.check.outputs.tags)", ["a", "b", "b"]),
        ("sort([3, 1.5, 2])", [1.5, 2, 3]),
        ("steps.check.outputs.tags | unique", ["b", "a"]),
        ("unique([1, true, 1.0, [1], [1]])", [1, True, [1]]),
        ("json(item)", '{"name":"x.csv","size":1.5}'),
        ("json('é')", '"é"'),
        ("json([null, false])", "[null,false]"),
        ("steps.check.outputs.text | trim | lower | split | join('_') | upper", "HELLO_WORLD"),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


def test_unique_keeps_unhashable_items_apart_from_scalars() -> None:
    assert ev("unique(x)", {"x": [{"a": 1}, {"a": 1}, [1], 1, {"a": True}]}) == [
        {"a": 1},
        [1],
        1,
        {"a": True},
    ]


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("length(5)", "length: expects text, a list or an object, got the number 5", "convert"),
        ("lower(steps.check.outputs.nothing)", "lower: expects text, got null", "default(x, ...)"),
        ("upper([1])", "upper: expects text, got a list of 1 item", "string(...)"),
        ("join('abc')", "join: expects a list, got the text 'abc'", "convert"),
        ("join([1], 2)", "join: expects text, got the number 2", "convert"),
        ("split('a', '')", "split: the separator is empty", "','"),
        ("first(5)", "first: expects a list or text, got the number 5", "convert"),
        ("keys([1])", "keys: expects an object, got a list of 1 item", "convert"),
        ("int('abc')", "int: the text 'abc' is not a number", "default(...)"),
        ("int([])", "int: expects a number, text or a boolean, got a list of 0 items", "convert"),
        ("int(null)", "int: expects a number, text or a boolean, got null", "default"),
        ("float('x1')", "float: the text 'x1' is not a number", "default(...)"),
        (
            "float(item)",
            "float: expects a number, text or a boolean, got an object with 2 keys",
            "convert",
        ),
        ("startswith(1, 'a')", "startswith: expects text, got the number 1", "convert"),
        ("round('1.5')", "round: expects a number, got the text '1.5'", "convert"),
        (
            "round(1.5, 99)",
            "round: the number of digits must be a whole number from -20 to 20, got the number 99",
            "round(x, 2)",
        ),
        ("min(1, 'a')", "min: can only order a list of numbers or a list of texts", "convert"),
        ("max(5)", "max: expects a list, got the number 5", "convert"),
        ("sum(['1'])", "sum: can only add up a list of numbers", "int(...)"),
        (
            "sort([true, false])",
            "sort: can only order a list of numbers or a list of texts",
            "convert",
        ),
        ("unique('ab')", "unique: expects a list, got the text 'ab'", "convert"),
        (
            "contains(3, 3)",
            "contains: the number 3 is not text, a list or an object, so nothing can be in it",
            "check",
        ),
    ],
)
def test_function_type_errors(text: str, message: str, hint: str) -> None:
    error = failure(lambda: ev(text), EvaluationError)
    assert error.message == message
    assert error.column == 1
    assert hint in error.hint


def test_function_errors_point_at_the_filter_in_a_pipe() -> None:
    error = failure(lambda: ev("item.name | upper | length | lower"), EvaluationError)
    assert (error.message, error.column) == ("lower: expects text, got the number 5", 30)


@pytest.mark.parametrize(
    ("text", "message", "column", "hint"),
    [
        (
            "x | lenght",
            "unknown function 'lenght'",
            5,
            "did you mean 'length'? the functions are length, lower, upper, trim, default, join, "
            "split, first, last, keys, values, int, float, string, bool, contains, startswith, "
            "endswith, exists, empty, round, min, max, sum, sort, unique, json",
        ),
        ("uppr(x)", "unknown function 'uppr'", 1, "did you mean 'upper'?"),
        ("frobnicate(x)", "unknown function 'frobnicate'", 1, "the functions are length,"),
        ("length(x, y)", "length takes 1 argument, got 2", 1, "write length(x)"),
        ("x | default", "default takes 2 arguments, got 1", 5, "write default(path, fallback)"),
        ("join()", "join takes 1 to 2 arguments, got 0", 1, "write join(list, separator=', ')"),
        ("min()", "min takes 1 or more arguments, got 0", 1, "write min(list) or min(a, b, ...)"),
        (
            "exists('x')",
            "exists needs a path, not a computed value",
            8,
            "write exists(steps.NAME.outputs.KEY)",
        ),
        (
            "length(x) | exists",
            "exists needs a path, not a computed value",
            1,
            "write exists(steps.NAME.outputs.KEY)",
        ),
        (
            "x | lower | exists",
            "exists must come first after a path: path | exists",
            13,
            "apply it to the path itself",
        ),
        (
            "x | 'a'",
            "expected a function name after '|', found \"'a'\"",
            5,
            "for example x | length",
        ),
    ],
)
def test_function_parse_errors(text: str, message: str, column: int, hint: str) -> None:
    error = failure(lambda: parse(text))
    assert type(error) is ExpressionError
    assert (error.message, error.column) == (message, column)
    assert error.hint.startswith(hint)


# --- Missing paths ------------------------------------------------------------------------------


def test_missing_key_names_the_path_the_part_and_the_keys_there() -> None:
    error = failure(lambda: ev("steps.data-extraction.outputs.processed"), EvaluationError)
    assert error.message == (
        "steps.data-extraction.outputs.processed not found: "
        "steps.data-extraction.outputs has no key 'processed'"
    )
    assert error.column == 31
    assert error.hint == (
        "did you mean 'processed_data'? keys of steps.data-extraction.outputs: processed_data, "
        "rows; or give a fallback with default(steps.data-extraction.outputs.processed, ...)"
    )


def test_missing_step_lists_the_steps() -> None:
    error = failure(lambda: ev("steps.analysis.outputs.insights"), EvaluationError)
    assert error.message == "steps.analysis.outputs.insights not found: steps has no key 'analysis'"
    assert error.column == 7
    assert error.hint.startswith("keys of steps: data-extraction, check;")


def test_long_key_lists_are_cut() -> None:
    scope = {"many": {f"k{n}": n for n in range(20)}}
    error = failure(lambda: ev("many.zzz", scope), EvaluationError)
    assert "keys of many: k0, k1, k2, k3, k4, k5, k6, k7 (and 12 more)" in error.hint


def test_missing_index_says_how_many_items_there_are() -> None:
    error = failure(lambda: ev("steps.check.outputs.codes[3]"), EvaluationError)
    assert error.message == (
        "steps.check.outputs.codes[3] not found: steps.check.outputs.codes has 3 items, "
        "so there is no [3]"
    )
    assert error.hint == (
        "indexes run from 0 to 2 (or -3 to -1); "
        "or give a fallback with default(steps.check.outputs.codes[3], ...)"
    )
    error = failure(lambda: ev("x[0]", {"x": []}), EvaluationError)
    assert error.message == "x[0] not found: x has 0 items, so there is no [0]"
    assert error.hint == (
        "the list is empty: test it with x | empty, or give a fallback with default(x[0], ...)"
    )


def test_computed_index_is_named_as_written_and_by_its_value() -> None:
    error = failure(
        lambda: ev("steps.check.outputs.codes[workflow.inputs.limit].x"), EvaluationError
    )
    assert error.message == (
        "steps.check.outputs.codes[workflow.inputs.limit].x not found: "
        "steps.check.outputs.codes has 3 items, so there is no [10]"
    )
    assert error.column == 27


def test_key_on_a_list_and_key_on_null() -> None:
    error = failure(lambda: ev("steps.check.outputs.codes.first"), EvaluationError)
    assert error.message == (
        "steps.check.outputs.codes.first not found: steps.check.outputs.codes is a list, "
        "which has no key 'first'"
    )
    assert error.hint == (
        "pick an item with steps.check.outputs.codes[0], "
        "or count them with steps.check.outputs.codes | length"
    )
    error = failure(lambda: ev("steps.check.outputs.nothing.deeper"), EvaluationError)
    assert error.message == (
        "steps.check.outputs.nothing.deeper not found: steps.check.outputs.nothing is null, "
        "not an object or a list"
    )
    assert error.hint == "give a fallback with default(steps.check.outputs.nothing.deeper, ...)"


def test_keys_that_are_not_names_are_shown_in_brackets() -> None:
    error = failure(lambda: ev("steps.check.outputs['odd keys']['no such']"), EvaluationError)
    assert error.message == (
        "steps.check.outputs['odd keys']['no such'] not found: "
        "steps.check.outputs[\"odd keys\"] has no key 'no such'"
    )


def test_missing_key_after_a_computed_value_names_that_value() -> None:
    error = failure(lambda: ev("keys(item)[5]"), EvaluationError)
    assert error.message == "keys(item)[5] not found: keys(item) has 2 items, so there is no [5]"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("stepz.a", "did you mean 'steps'?; the names defined here are workflow, steps, env,"),
        ("HOME", "did you mean env.HOME? (to pass ${HOME} on as text, write $${HOME})"),
        ("length", "length is a function: write length(x) or x | length"),
        ("index-1", "there is no arithmetic: '-' only joins words in names"),
        (
            "nothing_like_it",
            "the names defined here are workflow, steps, env, secrets, item, index, loop",
        ),
    ],
)
def test_undefined_root_names(text: str, hint: str) -> None:
    error = failure(lambda: ev(text), EvaluationError)
    assert error.message == f"{text.split('.')[0]!r} is not defined"
    assert error.column == 1
    assert hint in error.hint


def test_undefined_root_in_an_empty_scope() -> None:
    error = failure(lambda: ev("x", {}), EvaluationError)
    assert error.hint == "no names are defined here"


# --- References ---------------------------------------------------------------------------------


def test_references_in_order_with_literal_indexes() -> None:
    expression = parse(
        "steps.a.outputs.list[0]['k'] == default(env.X, secrets.Y) and exists(item.z[-1])"
    )
    assert expression.references() == [
        Reference(("steps", "a", "outputs", "list", 0, "k"), 1),
        Reference(("env", "X"), 41),
        Reference(("secrets", "Y"), 48),
        Reference(("item", "z", -1), 70),
    ]


def test_a_computed_index_ends_the_reference_and_is_referenced_itself() -> None:
    assert parse("steps.a.outputs.rows[loop.index].name").references() == [
        Reference(("steps", "a", "outputs", "rows"), 1),
        Reference(("loop", "index"), 22),
    ]


def test_no_references_for_literals_and_functions() -> None:
    assert parse("length([1, 'a']) > 0").references() == []


def test_references_are_a_copy() -> None:
    expression = parse("a.b")
    expression.references().clear()
    assert expression.references() == [Reference(("a", "b"), 1)]


def test_reference_reads_as_written() -> None:
    assert str(Reference(("steps", "data-extraction", "outputs", "rows", 0, "a b"), 1)) == (
        'steps.data-extraction.outputs.rows[0]["a b"]'
    )


# --- Templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${workflow.inputs.data_file}", "sales.csv"),
        ("${steps.check.outputs.codes}", [200, 404, 500]),
        ("${steps.check.outputs.count}", 3),
        ("${steps.check.outputs.nothing}", None),
        ("${ item.size }", 1.5),
        ("${steps.check.outputs.count > 1}", True),
        ("file: ${workflow.inputs.data_file}!", "file: sales.csv!"),
        ("${index}${index}", "11"),
        ("codes=${steps.check.outputs.codes}", "codes=[200,404,500]"),
        ("item=${item}", 'item={"name":"x.csv","size":1.5}'),
        ("[${steps.check.outputs.nothing}]", "[]"),
        ("ok=${1 == 1} no=${false}", "ok=true no=false"),
        ("size ${item.size}", "size 1.5"),
        ("$${env.HOME} is ${env.HOME}", "${env.HOME} is /home/me"),
        ("$${", "${"),
        ("costs $5 or $", "costs $5 or $"),
        ("$$ and $${x}", "$$ and ${x}"),
        ("${steps.check.outputs.tags | join('}')}", "b}a}b"),
        ("${ '}' }", "}"),
        ('${ "${" }', "${"),
        ("a ${ 'x' } b", "a x b"),
        ("${steps.check.outputs.tags | join(\"', '\")}", "b', 'a', 'b"),
        ("", ""),
        ("no references here", "no references here"),
    ],
)
def test_templates_render(text: str, expected: Any) -> None:
    result = parse_template(text).render(SCOPE)
    assert result == expected
    assert type(result) is type(expected)


def test_template_literal_and_source() -> None:
    assert parse_template("plain $5").is_literal is True
    assert parse_template("$${escaped}").is_literal is True
    assert parse_template("x ${a}").is_literal is False
    template = parse_template("a ${ b.c } d")
    assert template.source == "a ${ b.c } d"
    assert template.references() == [Reference(("b", "c"), 6)]


def test_template_references_count_columns_in_the_whole_text() -> None:
    template = parse_template("from ${steps.a.outputs.x} to ${ steps.b.outputs.y }")
    assert template.references() == [
        Reference(("steps", "a", "outputs", "x"), 8),
        Reference(("steps", "b", "outputs", "y"), 33),
    ]


def test_template_evaluation_error_columns_count_in_the_whole_text() -> None:
    error = failure(lambda: parse_template("x=${steps.check.outputs.nope}").render(SCOPE))
    assert error.column == 25


def test_parsed_templates_and_expressions_are_cached() -> None:
    assert parse_template("${a.b}") is parse_template("${a.b}")
    assert parse("a.b") is parse("a.b")
    assert parse_condition("a.b") is parse_condition("a.b")


def test_mixed_text_reports_values_json_cannot_hold() -> None:
    error = failure(lambda: parse_template("v=${x}").render({"x": [float("nan")]}))
    assert error.message.startswith("the value cannot be written as JSON")
    assert error.column == 5


@pytest.mark.parametrize(
    ("text", "message", "column", "hint"),
    [
        ("abc ${x", "this '${' is never closed", 5, "end the reference with '}'"),
        ("${ 'a}' ", "this '${' is never closed", 1, "end the reference with '}'"),
        ("${}", "the expression is empty", 3, "write a path such as"),
        ("x ${   } y", "the expression is empty", 8, "write a path such as"),
        ("${ ${x} }", "'${' cannot appear inside '${ }'", 4, "write paths bare inside the braces"),
        ("${{ x }}", "unexpected '{'", 3, "references are written with single braces"),
        ("${x y}", "unexpected 'y' after a complete expression", 5, "join conditions with and/or"),
        ("${ x | lenght }", "unknown function 'lenght'", 8, "did you mean 'length'?"),
        ("ok ${'abc}", "this string is never closed", 6, "end it with '"),
        ("${x == }", "expected a value, found '}'", 8, "values are paths"),
    ],
)
def test_template_errors(text: str, message: str, column: int, hint: str) -> None:
    error = failure(lambda: parse_template(text))
    assert (error.message, error.column) == (message, column)
    assert error.hint.startswith(hint)


# --- Conditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${steps.check.outputs.status} == 'down'", True),
        ("steps.check.outputs.count > 0", True),
        ("${steps.check.outputs.count > 5}", False),
        ("  ${steps.check.outputs.ready}  ", "false"),
        ("${steps.check.outputs.count} >= ${workflow.inputs.limit}", False),
        ("not ${steps.check.outputs.blank} and ${ index } == 1", True),
        ("${ ${index} }", 1),
    ],
)
def test_conditions(text: str, expected: Any) -> None:
    assert parse_condition(text).evaluate(SCOPE) == expected


def test_condition_values_go_through_truthy() -> None:
    assert truthy(parse_condition("${steps.check.outputs.ready}").evaluate(SCOPE)) is False


@pytest.mark.parametrize(
    ("text", "message", "column", "hint"),
    [
        (
            "deploy ${x}",
            "unexpected '${' after a complete expression",
            8,
            "a condition is one expression: outside '${...}' only operators may follow",
        ),
        (
            "${x} is down",
            "unexpected 'is' after a complete expression",
            6,
            "a condition is one expression",
        ),
        (
            "'${x}' == 'down'",
            "'${' inside a quoted string is plain text, not a reference",
            1,
            "remove the quotes around the reference",
        ),
        ("   ", "the condition is empty", 1, "write a condition such as"),
        (
            "${x",
            "expected '}' to close the '${' at column 1, found the end of the text",
            4,
            "add '}'",
        ),
        ("x }", "unexpected '}' after a complete expression", 3, "remove the '}'"),
        ("x is null", "unexpected 'is' after a complete expression", 3, "compare with =="),
    ],
)
def test_condition_errors(text: str, message: str, column: int, hint: str) -> None:
    error = failure(lambda: parse_condition(text))
    assert (error.message, error.column) == (message, column)
    assert error.hint.startswith(hint)


def test_bare_expressions_reject_template_syntax() -> None:
    error = failure(lambda: parse("${x}"))
    assert (error.message, error.column) == ("unexpected '$'", 1)
    assert error.hint == "write paths bare here, without '${ }': steps.NAME.outputs.KEY"


# --- Syntax errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "column", "hint"),
    [
        ("", "the expression is empty", 1, "write a path such as"),
        ("a ==", "expected a value, found the end of the text", 5, "values are paths"),
        ("a = b", "'=' alone is not an operator", 3, "compare with '=='"),
        ("a & b", "'&' alone is not an operator", 3, "write 'and'"),
        ("a + 1", "unexpected '+'", 3, "there is no arithmetic"),
        ("a < b < c", "comparisons cannot be chained", 7, "join them with and"),
        (
            "(a",
            "expected ')' to close the '(' at column 1, found the end of the text",
            3,
            "add ')'",
        ),
        ("[1, 2", "expected ',' or ']', found the end of the text", 6, "separate items with ','"),
        ("f(1 2)", "expected ',' or ')', found '2'", 5, "separate items with ','"),
        (
            "a[0",
            "expected ']' to close the '[' at column 2, found the end of the text",
            4,
            "add ']'",
        ),
        ("a]", "unexpected ']' after a complete expression", 2, "remove the extra ']'"),
        ("a.0", "a list index cannot follow '.'", 3, "write the index in brackets: [0]"),
        (
            "a.",
            "expected a key name after '.', found the end of the text",
            3,
            "write keys as .name",
        ),
        ("a[1.5]", "a list index must be a whole number, not 1.5", 3, "use an integer"),
        (
            "2fa",
            "'2fa' is neither a number nor a name",
            1,
            'names cannot start with a digit; write the key as ["2fa"]',
        ),
        ("1e999", "the number 1e999 is too large", 1, "use a number below 1e308"),
        ("'abc", "this string is never closed", 1, "end it with '"),
        ("'a\\qb'", "unknown escape '\\q' in a string", 3, "the escapes are"),
        ("a # b", "unexpected character '#'", 3, "remove it"),
        ("a ==\x00", "unexpected character '\\x00'", 5, "remove it"),
        ("and", "expected a value, found 'and'", 1, "put a value before 'and'"),
        ("a == not b", "expected a value, found 'not'", 6, "put a negation inside parentheses"),
        ("a not b", "unexpected 'not' after a complete expression", 3, "join conditions"),
        ("a.b(1)", "unexpected '(' after a complete expression", 4, "there are no methods"),
        ("'a'.b", "unexpected '.' after a complete expression", 4, "join conditions"),
        (")", "expected a value, found ')'", 1, "values are paths"),
        ("{'a': 1}", "unexpected '{'", 1, "references are written with single braces"),
    ],
)
def test_syntax_errors(text: str, message: str, column: int, hint: str) -> None:
    error = failure(lambda: parse(text))
    assert type(error) is ExpressionError
    assert (error.message, error.column) == (message, column)
    assert error.hint.startswith(hint)


def test_non_breaking_space_is_whitespace() -> None:
    assert ev("index\u00a0==\u00a01") is True


def test_errors_carry_message_column_and_hint_and_survive_pickling() -> None:
    error = failure(lambda: ev("steps.check.outputs.nope"), EvaluationError)
    assert isinstance(error, ExpressionError)
    assert isinstance(error, ValueError)
    assert str(error) == f"column 21: {error.message}"
    error.path = ("inputs", 0)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is EvaluationError
    assert (copy.message, copy.column, copy.hint, copy.path) == (
        error.message,
        error.column,
        error.hint,
        ("inputs", 0),
    )


# --- Truthiness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (0, False),
        (0.0, False),
        ("", False),
        ("  ", False),
        ([], False),
        ({}, False),
        ((), False),
        ("false", False),
        ("FALSE", False),
        (" No\n", False),
        ("0", False),
        (True, True),
        (1, True),
        (-0.5, True),
        ("0.0", True),
        ("off", True),
        ("true", True),
        ("yes", True),
        ([0], True),
        ({"a": None}, True),
        (object(), True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


# --- Whole values -------------------------------------------------------------------------------


def test_render_value_walks_dicts_and_lists() -> None:
    inputs = {
        "file": "${workflow.inputs.data_file}",
        "rows": "${steps.data-extraction.outputs.processed_data}",
        "args": ["--limit", "${workflow.inputs.limit}", "${env.HOME}/out", 3, None],
        "nested": {"flag": True, "note": "$${kept}", "pair": ("${index}", "x")},
        "plain": "no refs",
    }
    assert render_value(inputs, SCOPE) == {
        "file": "sales.csv",
        "rows": SCOPE["steps"]["data-extraction"]["outputs"]["processed_data"],
        "args": ["--limit", 10, "/home/me/out", 3, None],
        "nested": {"flag": True, "note": "${kept}", "pair": [1, "x"]},
        "plain": "no refs",
    }
    assert inputs["file"] == "${workflow.inputs.data_file}"


def test_render_value_errors_say_where_the_string_is() -> None:
    error = failure(
        lambda: render_value({"a": "ok", "b": [1, {"c": "${steps.nope}"}]}, SCOPE), EvaluationError
    )
    assert error.path == ("b", 1, "c")
    assert error.message == "steps.nope not found: steps has no key 'nope'"
    error = failure(lambda: render_value(["${x"], SCOPE))
    assert error.path == (0,)
    assert failure(lambda: render_value("${x", SCOPE)).path == ()


def test_template_references_walks_dicts_and_lists() -> None:
    value = {"a": "${steps.x.outputs.y}", "b": ["plain", {"c": "${env.A} ${secrets.B}"}], "d": 1}
    assert template_references(value) == [
        Reference(("steps", "x", "outputs", "y"), 3),
        Reference(("env", "A"), 3),
        Reference(("secrets", "B"), 12),
    ]
    assert failure(lambda: template_references({"k": ["${1 +}"]})).path == ("k", 0)


# --- Limits and odd data ------------------------------------------------------------------------


@pytest.mark.parametrize("parser", [parse, parse_condition])
def test_length_limit(parser: Callable[[str], Expression]) -> None:
    error = failure(lambda: parser("a" * (MAX_LENGTH + 1)))
    assert (error.message, error.column) == (
        f"the expression is longer than {MAX_LENGTH} characters",
        MAX_LENGTH + 1,
    )


def test_length_limit_in_templates_is_per_expression() -> None:
    error = failure(lambda: parse_template("intro ${" + "a" * (MAX_LENGTH + 2) + "}"))
    assert error.message == f"the expression is longer than {MAX_LENGTH} characters"
    long_text = "x" * 100_000 + " ${index}"
    assert parse_template(long_text).render(SCOPE) == "x" * 100_000 + " 1"


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1),
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "length(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "a[" * (MAX_DEPTH + 1) + "0" + "]" * (MAX_DEPTH + 1),
        "(" * 2000,
        "[" * 4000,
    ],
)
def test_nesting_limit(text: str) -> None:
    error = failure(lambda: parse(text))
    assert error.message == f"brackets nest deeper than {MAX_DEPTH} levels"
    assert error.hint == "split the expression into simpler conditions or steps"


def test_the_deepest_allowed_nesting_evaluates() -> None:
    assert ev("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1
    nested = ev("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    for _ in range(MAX_DEPTH - 1):
        nested = nested[0]
    assert nested == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not " * 1000 + "true", True),
        ("! " * 2000 + "0", False),
        ("x" + " | lower" * 500, "abc"),
        ("true" + " and true" * 450, True),
        ("false" + " || false" * 450, False),
        ("d" + ".d" * 1500 + ".end", 1),
    ],
)
def test_long_flat_chains_do_not_recurse(text: str, expected: Any) -> None:
    assert len(text) <= MAX_LENGTH
    deep: dict[str, Any] = {"end": 1}
    for _ in range(1501):
        deep = {"d": deep}
    assert ev(text, {"x": "ABC", **deep}) == expected


def test_data_nested_too_deeply_is_an_evaluation_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    error = failure(lambda: ev("json(x)", {"x": deep}), EvaluationError)
    assert error.message == "the data used by 'json(x)' is nested too deeply to evaluate"


def test_odd_objects_in_the_scope_are_evaluation_errors() -> None:
    class Odd:
        def __eq__(self, other: object) -> bool:
            raise TypeError("no comparing")

        __hash__ = object.__hash__

    error = failure(lambda: ev("x == 1", {"x": Odd()}), EvaluationError)
    assert error.message == "'x == 1' failed on this data: TypeError: no comparing"
    assert ev("string(x)", {"x": 1 + 2j}) == "(1+2j)"


# --- Fuzzing ------------------------------------------------------------------------------------

FRAGMENTS = [
    "a",
    "b-c",
    "steps",
    ".",
    "[",
    "]",
    "(",
    ")",
    "${",
    "}",
    "$",
    "$${",
    "'",
    '"',
    "\\",
    " ",
    "0",
    "-1",
    "1.5",
    "e",
    "==",
    "!=",
    "<",
    ">=",
    "!",
    "|",
    "||",
    "&&",
    "and",
    "or",
    "not",
    "in",
    "true",
    "null",
    ",",
    "length",
    "default",
    "exists",
    "join",
    "'x'",
    "-",
    "{",
    "\n",
    "é",
]
texts = st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))


def _check_error(error: ExpressionError, text: str) -> None:
    assert error.message
    assert error.hint
    assert 1 <= error.column <= len(text) + 1


@FUZZ
@given(texts)
def test_fuzz_parse(text: str) -> None:
    try:
        expression = parse(text)
    except ExpressionError as error:
        _check_error(error, text)
    else:
        assert isinstance(expression, Expression)


@FUZZ
@given(texts)
def test_fuzz_parse_condition(text: str) -> None:
    try:
        parse_condition(text)
    except ExpressionError as error:
        _check_error(error, text)


@FUZZ
@given(texts)
def test_fuzz_parse_template(text: str) -> None:
    try:
        template = parse_template(text)
    except ExpressionError as error:
        _check_error(error, text)
    else:
        if template.is_literal:
            assert template.render({}) == text.replace("$${", "${")


ROOTS = ["a", "b-c", "items", "n"]
KEYS = ["a", "b-c", "k", "0"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)
scopes = st.dictionaries(st.sampled_from(ROOTS), json_values)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


paths = st.builds(
    lambda root, parts: root + "".join(parts),
    st.sampled_from(ROOTS),
    st.lists(
        st.sampled_from([".a", ".b-c", ".k", "[0]", "[-1]", "['0']", "[n]", "[a.k]"]), max_size=3
    ),
)
atoms = st.one_of(
    paths,
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=6).map(_quote),
    st.sampled_from(["true", "false", "null", "[]"]),
    paths.map(lambda p: f"exists({p})"),
    paths.map(lambda p: f"{p} | exists"),
)
ONE_ARGUMENT = [
    "length",
    "lower",
    "upper",
    "trim",
    "first",
    "last",
    "keys",
    "values",
    "int",
    "float",
    "string",
    "bool",
    "empty",
    "round",
    "min",
    "max",
    "sum",
    "sort",
    "unique",
    "json",
    "split",
    "join",
]
TWO_ARGUMENTS = ["default", "join", "split", "contains", "startswith", "endswith", "round", "min"]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or", "&&", "||"]
expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda e: f"(not ({e}))"),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.tuples(st.sampled_from(ONE_ARGUMENT), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, st.sampled_from(ONE_ARGUMENT)).map(lambda t: f"({t[0]}) | {t[1]}"),
        st.tuples(st.sampled_from(TWO_ARGUMENTS), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        st.tuples(inner, st.sampled_from(TWO_ARGUMENTS), inner).map(
            lambda t: f"({t[0]}) | {t[1]}({t[2]})"
        ),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[({t[1]})]"),
    ),
    max_leaves=12,
)


@FUZZ
@given(expressions, scopes)
def test_fuzz_evaluate(text: str, scope: dict[str, Any]) -> None:
    expression = parse(text)
    for path in expression.references():
        assert path.parts[0] in ROOTS
    try:
        expression.evaluate(scope)
    except EvaluationError as error:
        _check_error(error, text)
        assert "failed on this data" not in error.message, error.message


@FUZZ
@given(st.lists(st.one_of(expressions.map(lambda e: "${" + e + "}"), st.text(max_size=5))), scopes)
def test_fuzz_render(pieces: list[str], scope: dict[str, Any]) -> None:
    text = "".join(pieces)
    try:
        template = parse_template(text)
    except ExpressionError as error:
        _check_error(error, text)
        return
    try:
        template.render(scope)
    except EvaluationError as error:
        _check_error(error, text)
        assert "failed on this data" not in error.message, error.message
