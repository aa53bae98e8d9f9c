"""What the commands print is text, never an instruction to the terminal: a cloned repository's
labels, values and run records reach the screen as escapes, as compose's YAML shows them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bootstrap.cli.context import escape_controls, printable
from bootstrap.cli.env import shell_word

ACTING = {
    "\x1b]0;title\x07": "\\x1b]0;title\\x07",  # a window title (OSC 0), ended by BEL
    "\x1b]52;c;aGk=\x07": "\\x1b]52;c;aGk=\\x07",  # a clipboard write (OSC 52)
    "\x1b[2J": "\\x1b[2J",  # the screen cleared
    "ok\rFAIL": "ok\\x0dFAIL",  # a line overwritten
    "\x9b31m": "\\x9b31m",  # the C1 CSI
    "\u202eabc": "\\u202eabc",  # shown right to left
    "\x7f\x00": "\\x7f\\x00",
}


@pytest.mark.parametrize("text", sorted(ACTING))
def test_a_control_character_is_shown_as_its_escape(text: str) -> None:
    assert printable(text) == ACTING[text]


def test_text_newlines_tabs_and_letters_pass_as_they_are() -> None:
    text = "db\tready\nSELECT 1 answered — ünïcode ✓"
    assert printable(text) is text
    assert printable("line one\r\nline two") == "line one\nline two"  # a CRLF is a line end
    assert escape_controls("a\r\nb") == "a\\x0d\nb"  # the exact form keeps it


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "it's",
        "a b $HOME `id`",
        "\x1b]52;c;aGk=\x07",
        "back\\slash\x1b[1m'q'",
        "é\u202e\r\n",
    ],
)
def test_an_exported_value_evaluates_to_itself_and_prints_as_text(value: str) -> None:
    word = shell_word(value)
    assert printable(word) == word  # nothing in the line acts on a terminal
    done = subprocess.run(
        ["bash", "-c", f'export X={word}\nprintf %s "$X"'],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert done.stdout.decode() == value
