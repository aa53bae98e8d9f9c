from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bootstrap.dotenv import as_mapping, interpolate, lookup_in, parse_dotenv
from bootstrap.errors import ConfigError


def parse(text: str, **env: str) -> dict[str, str]:
    return as_mapping(parse_dotenv(text, lookup=lookup_in(env)))


def test_plain_quoted_export_and_comments() -> None:
    text = """
# a comment
A=1
export B=two words # inline comment
C='single $A # kept'
D="double $A\\n#not comment"
E=
"""
    assert parse(text) == {
        "A": "1",
        "B": "two words",
        "C": "single $A # kept",
        "D": "double 1\n#not comment",
        "E": "",
    }


def test_references_and_defaults() -> None:
    text = "HOST=db\nURL=postgres://${HOST}:${PORT:-5432}/${NAME-app}\n"
    assert parse(text)["URL"] == "postgres://db:5432/app"
    assert parse(text, PORT="6543")["URL"] == "postgres://db:6543/app"


def test_multiline_double_quotes() -> None:
    assert parse('KEY="line one\nline two"\nNEXT=1') == {"KEY": "line one\nline two", "NEXT": "1"}


def test_bare_name_inherits_from_lookup() -> None:
    assert parse("HOME_DIR\n", HOME_DIR="/home/x") == {"HOME_DIR": "/home/x"}
    assert parse("HOME_DIR\n") == {}


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("A=1\n=oops\n", 2, "does not start with a variable name"),
        ("A=1\nB 2\n", 2, "expected '='"),
        ("A='open\n", 1, "single quote is never closed"),
        ('A="never closed\nB=2\n', 1, "double quote is never closed"),
        ("A='x' trailing\n", 1, "unexpected text after the closing quote"),
    ],
)
def test_malformed_line_names_file_and_line(text: str, line: int, what: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dotenv(text, filename=".env.local")
    assert caught.value.location == f".env.local:{line}"
    assert what in caught.value.message
    assert "NAME=value" in caught.value.hint


def test_malformed_line_message_never_echoes_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dotenv("=hunter2-secret\n")
    assert "hunter2" not in str(caught.value) + caught.value.hint


def test_required_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        interpolate("${DB_URL:?set the database url}", lambda _n: None, location=".env:3")
    assert "DB_URL" in caught.value.message and "set the database url" in caught.value.message
    assert caught.value.location == ".env:3"


_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True)
_values = st.text(
    # A backslash before the closing quote escapes it, in compose-go as here.
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="'\n\r\\"),
    max_size=30,
)


@given(st.dictionaries(_names, _values, max_size=8))
def test_single_quoted_values_round_trip(values: dict[str, str]) -> None:
    text = "".join(f"{k}='{v}'\n" for k, v in values.items())
    assert parse(text) == values


@given(
    st.dictionaries(_names, st.from_regex(r"[A-Za-z0-9_./:@+-]{0,20}", fullmatch=True), max_size=8)
)
def test_unquoted_simple_values_round_trip(values: dict[str, str]) -> None:
    text = "".join(f"export {k}={v}\n" for k, v in values.items())
    assert parse(text) == values


def test_compose_forms_are_accepted() -> None:
    """What compose-go reads: a byte order mark, YAML's `KEY: value`, single quotes over
    several lines, a JSON value in single quotes (compose's dotenv fixture)."""
    text = "\ufeffFIRST=1\nSECOND: two\nMULTI='a\nb'\nRAW='{\"key\": \"value\"}'\n"
    assert parse(text) == {
        "FIRST": "1",
        "SECOND": "two",
        "MULTI": "a\nb",
        "RAW": '{"key": "value"}',
    }


def test_the_environment_wins_inside_the_file_as_in_compose() -> None:
    """compose's TestEnvInterpolation: IMAGE=default_env:${WHEREAMI} in .env takes the shell's
    WHEREAMI, not the file's own."""
    text = "WHEREAMI=default\nIMAGE=default_env:${WHEREAMI}\n"
    assert parse(text, WHEREAMI="shell")["IMAGE"] == "default_env:shell"
    assert parse(text)["IMAGE"] == "default_env:default"


def test_a_file_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    from bootstrap.dotenv import read_env_file

    (tmp_path / ".env.local").write_bytes("CITY=K\xf6ln\n".encode("latin-1"))
    assert parse(read_env_file(tmp_path / ".env.local")) == {"CITY": "Köln"}


@pytest.mark.parametrize(
    "value",
    ["plain", 'with "quotes" and \\ back', "dollar $HOME ${X:-y} $$", "multi\nline\r\ttab",
     "it's # not a comment", "", "trailing backslash \\"],
)  # fmt: skip
def test_an_env_file_written_for_compose_reads_back_exactly(value: str) -> None:
    """The secret store reaches compose as an env file: every character as written, nothing
    interpolated (compose-go reads ``\\$`` in double quotes as a literal dollar)."""
    from bootstrap.dotenv import render_env_file

    text = render_env_file({"SECRET": value})
    assert as_mapping(parse_dotenv(text, lookup=lambda _n: "EXPANDED")) == {"SECRET": value}


def test_compose_configs_doubled_dollars_are_single_in_the_model() -> None:
    from bootstrap.model import stack_from_compose

    document: dict[str, Any] = {
        "services": {
            "db": {
                "image": "postgres:16",
                "environment": {"POSTGRES_PASSWORD": "p$$w$$$$"},
                "labels": {"a": "x$$y"},
            }
        }
    }
    stack = stack_from_compose(document)
    assert stack.services["db"].environment["POSTGRES_PASSWORD"] == "p$w$$"
    assert stack.services["db"].labels["a"] == "x$y"
    assert document["services"]["db"]["environment"]["POSTGRES_PASSWORD"] == "p$$w$$$$"
