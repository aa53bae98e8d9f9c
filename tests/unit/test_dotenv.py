from __future__ import annotations

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
        ("A='open\n", 1, "single quote is not closed"),
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
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="'\n\r"),
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
