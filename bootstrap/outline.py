"""The outline of a compose file without PyYAML: keys, list items and the line each is on.

A finding names its place as ``compose.yaml:12``; nearly every stack has one (a database
without a memory limit), and PyYAML's import alone takes about 20 ms of a 0.13 s `plan`. The
files people write use a small part of YAML: block mappings and lists, plain and quoted
scalars, one-line flow lists, comments, block scalars. ``outline`` reads that part, and JSON,
into the same shape ``locate`` walks; on anything else (anchors, aliases, tags, multi-line
flow collections or scalars, documents after the first, tabs) it returns None and the caller
asks PyYAML. A flow mapping is kept unread (``Flow``): a question into it raises ``Unsure``,
and the caller asks PyYAML then. A test walks the fixtures and the corpus: where ``outline``
answers, its keys, items, texts and lines are PyYAML's.
"""

from __future__ import annotations

import json
import re

# Line breaks YAML counts that str.split("\n") does not (after "\r\n" is made "\n"), and tabs.
_AWKWARD = re.compile("[\r\x85\u2028\u2029\t]")
_BLOCK_SCALAR = re.compile(r"[|>][-+1-9]{0,2}( +#.*)?")
_KEY_END = re.compile(r":( |$)")
_NOT_PLAIN_START = frozenset("[]{},#&*!|>'\"%@`?")


class Unsure(Exception):
    """The outline cannot tell: ask PyYAML."""


class Map:
    __slots__ = ("line", "pairs")

    def __init__(self, line: int, pairs: list[tuple[str, int, Node]]) -> None:
        self.line, self.pairs = line, pairs  # (key, the key's line, its value)


class Seq:
    __slots__ = ("items", "line")

    def __init__(self, line: int, items: list[Node]) -> None:
        self.line, self.items = line, items


class Leaf:
    __slots__ = ("line", "text")

    def __init__(self, line: int, text: str | None) -> None:
        self.line, self.text = line, text  # None: a text the outline did not read


class Flow:
    """A flow collection the outline did not read into."""

    __slots__ = ("line",)

    def __init__(self, line: int) -> None:
        self.line = line


Node = Map | Seq | Leaf | Flow


def outline(text: str) -> Node | None:
    """The outline of a compose file's text (1-based lines), or None where it is not in the
    part of YAML read here (PyYAML then)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if _AWKWARD.search(text):
        return None
    try:
        if text.lstrip(" \n").startswith(("{", "[")):
            return _json(text)
        return _Block(text.split("\n")).document()
    except Unsure:
        return None


# --- block YAML ---------------------------------------------------------------------------


def _is_dash(content: str) -> bool:
    return content == "-" or content.startswith("- ")


class _Block:
    def __init__(self, lines: list[str]) -> None:
        # the lines that carry something: (indent, content, 1-based line)
        self.rows: list[tuple[int, str, int]] = []
        self.anchors: dict[str, Node] = {}
        for number, raw in enumerate(lines, 1):
            content = raw.lstrip(" ")
            if not content or content.startswith("#"):
                continue
            if raw.startswith(("---", "...", "%")):
                if self.rows or raw.rstrip(" ") != "---":
                    raise Unsure  # a directive, a document end, or a second document
                continue
            self.rows.append((len(raw) - len(content), content.rstrip(" "), number))

    def document(self) -> Node:
        if not self.rows:
            return Map(1, [])
        node, i = self._node(0)
        if i != len(self.rows):
            raise Unsure  # a line indented like none of the collections before it
        return node

    def _node(self, i: int) -> tuple[Node, int]:
        """The node that starts on row ``i``, and the row after it."""
        indent, content, line = self.rows[i]
        if _is_dash(content):
            return self._sequence(i, indent)
        if _key(content) is not None:
            return self._mapping(i, indent)
        if content[0] in "&!":
            anchor, rest = _properties(content)
            rest = _strip_tag(rest)
            below = i + 1 < len(self.rows) and self.rows[i + 1][0] >= indent
            if (not rest or rest.startswith("#")) and below:
                # an anchor or tag on a line of its own, its node from the next line on
                node, after = self._node(i + 1)
                node.line = line  # PyYAML marks a node from its anchor or tag
                if anchor is not None:
                    self.anchors[anchor] = node
                return node, after
        # a value on the line below its key: its own lines go on at its indent or deeper
        return self._value(i + 1, indent - 1, content, line, empty=False)

    def _sequence(self, i: int, indent: int) -> tuple[Node, int]:
        items: list[Node] = []
        first = self.rows[i][2]
        while i < len(self.rows) and self.rows[i][0] == indent and _is_dash(self.rows[i][1]):
            _, content, line = self.rows[i]
            rest = content[1:]
            body = rest.lstrip(" ")
            if body and (_is_dash(body) or _key(body) is not None):
                # a collection that starts on the dash's line, at the column after it
                self.rows[i] = (indent + 1 + len(rest) - len(body), body, line)
                node, i = self._node(i)
            else:
                node, i = self._value(i + 1, indent, body, line, empty=False)
            items.append(node)
        return Seq(first, items), i

    def _mapping(self, i: int, indent: int) -> tuple[Node, int]:
        pairs: list[tuple[str, int, Node]] = []
        while i < len(self.rows) and self.rows[i][0] == indent:
            _, content, line = self.rows[i]
            found = _key(content)
            if found is None:
                raise Unsure  # not `key: value` where a mapping goes on
            key, value = found
            node, i = self._value(i + 1, indent, value.lstrip(" "), line, empty=True)
            pairs.append((key, line, node))
        return Map(pairs[0][1], pairs), i

    def _value(
        self, i: int, indent: int, value: str, line: int, *, empty: bool
    ) -> tuple[Node, int]:
        """The node whose text starts on ``line`` with ``value`` (what follows a key's colon
        or an item's dash, whose indent is ``indent``), going on in the rows from ``i``; and
        the row after it. ``empty``: nothing there is a null (a key's), else it is refused."""
        anchor, value = _properties(value)
        marked = anchor is not None or value.startswith("!")
        value = _strip_tag(value)
        node: Node
        if value.startswith("*"):
            alias = _ALIAS.fullmatch(value)
            if (
                marked
                or alias is None
                or alias.group(1) not in self.anchors
                or self._deeper(i, indent)
            ):
                raise Unsure
            return self.anchors[alias.group(1)], i
        if not value or value.startswith("#"):
            node, i = self._below(i, indent, line, empty=empty, marked=marked)
        elif value[0] in "|>":
            if not _BLOCK_SCALAR.fullmatch(value):
                raise Unsure
            node = Leaf(line, None)
            while self._deeper(i, indent):
                i += 1  # the block scalar's own lines
        else:
            flow = _flow(value, line) if value[0] in "[{" else None
            while value[0] in "[{" and flow is None:
                if i >= len(self.rows):
                    raise Unsure  # never closed
                # the collection goes on below (PyYAML takes its lines at any indent)
                value += "\n" + self.rows[i][1]
                i += 1
                flow = _flow(value, line)
            node = flow or _scalar(value, line)
            if self._deeper(i, indent):
                raise Unsure  # a scalar continued on the lines below
        if anchor is not None:
            self.anchors[anchor] = node
        return node, i

    def _deeper(self, i: int, indent: int) -> bool:
        return i < len(self.rows) and self.rows[i][0] > indent

    def _below(
        self, i: int, indent: int, line: int, *, empty: bool, marked: bool
    ) -> tuple[Node, int]:
        """The node on the rows below a key or a dash with nothing after it."""
        # a mapping's key may have its list below it at its own indent
        listed = empty and i < len(self.rows) and self.rows[i][0] == indent
        if self._deeper(i, indent) or (listed and _is_dash(self.rows[i][1])):
            node, i = self._node(i)
            if marked:
                node.line = line  # PyYAML marks a node from its anchor or tag
            return node, i
        if not (empty or marked):
            raise Unsure  # an empty list item
        return Leaf(line, ""), i


_ALIAS = re.compile(r"\*([^\s,\[\]{}]+)( +#.*)?")
_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)(?: +|$)")
_TAG = re.compile(r"!\S*(?: +|$)")


def _properties(value: str) -> tuple[str | None, str]:
    """(the anchor, the rest) of a value that may start with an anchor and a tag, in either
    order; a tag is left on the rest (``_strip_tag``) so that the caller sees it."""
    tag = ""
    if value.startswith("!"):
        found = _TAG.match(value)
        if found is None:
            raise Unsure
        tag, value = found.group(), value[found.end() :]
    anchor = _ANCHOR.match(value)
    if anchor is None:
        return None, tag + value
    return anchor.group(1), tag + value[anchor.end() :]


def _strip_tag(value: str) -> str:
    found = _TAG.match(value) if value.startswith("!") else None
    return value if found is None else value[found.end() :]


def _key(content: str) -> tuple[str, str] | None:
    """(the key, what follows its colon) of a ``key: value`` line, else None."""
    if content[0] in "\"'":
        end = _quote_end(content)
        after = "" if end is None else content[end + 1 :].lstrip(" ")
        if end is None or not _KEY_END.match(after):
            return None
        text = _unquote(content[: end + 1])
        if text is None:
            raise Unsure  # escapes in a key
        return text, after[1:]
    found = _KEY_END.search(content)
    key = "" if found is None else content[: found.start()].rstrip(" ")
    if found is None or not key or " #" in key or _not_plain(content):
        return None
    return key, content[found.end() :]


def _not_plain(text: str) -> bool:
    """Whether ``text`` cannot start a plain scalar (an indicator, or a list's dash)."""
    return text[0] in _NOT_PLAIN_START or _is_dash(text)


def _quote_end(text: str) -> int | None:
    """The index of the quote that closes the one ``text`` starts with, on this line."""
    quote, i = text[0], 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    return None


def _unquote(quoted: str) -> str | None:
    """The text of a quoted scalar; None for a double-quoted one with escapes."""
    inner = quoted[1:-1]
    if quoted[0] == "'":
        return inner.replace("''", "'")
    return None if "\\" in inner else inner


def _after_is_comment(rest: str) -> bool:
    rest = rest.lstrip(" ")
    return not rest or rest.startswith("#")


def _scalar(value: str, line: int) -> Node:
    """A value on one line: a quoted or plain scalar, or a flow collection closed on it."""
    if value[0] in "\"'":
        end = _quote_end(value)
        if end is None or not _after_is_comment(value[end + 1 :]):
            raise Unsure  # a quoted scalar continued on the next line
        return Leaf(line, _unquote(value[: end + 1]))
    if value[0] in "[{":
        flow = _flow(value, line)
        if flow is None:
            raise Unsure  # an item's collection continued on the lines below
        return flow
    if _not_plain(value):
        raise Unsure  # an anchor, alias, tag, block scalar or another indicator
    cut = value.find(" #")
    text = (value if cut < 0 else value[:cut]).rstrip(" ")
    if _KEY_END.search(text):
        raise Unsure  # `a: b: c`: PyYAML refuses it; compose read it otherwise
    return Leaf(line, text)


def _flow(value: str, line: int) -> Node | None:
    """A flow collection that starts on ``line``: a list of scalars on one line read, an empty
    mapping, else kept unread; None where it is not closed in ``value`` (the lines so far)."""
    end = _flow_end(value)
    if end is None:
        return None
    if not _after_is_comment(value[end + 1 :]):
        raise Unsure
    inner = value[1:end]
    if "\n" in value or "#" in inner:
        return Flow(line)  # over several lines, or with comments: not read into
    if value[0] == "{":
        return Map(line, []) if not inner.strip(" ") else Flow(line)
    return _flow_list(inner, line)


def _flow_end(value: str) -> int | None:
    """The index of the bracket that closes the one ``value`` starts with, or None."""
    depth, i = 0, 0
    while i < len(value):
        char = value[i]
        if char in "\"'":
            end = _quote_end(value[i:].split("\n", 1)[0])
            if end is None:
                raise Unsure  # a quoted scalar over several lines
            i += end + 1
            continue
        if char == "#" and value[i - 1] in " \n":
            newline = value.find("\n", i)
            if newline < 0:
                return None  # a comment ends the line: the collection goes on below
            i = newline
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _flow_list(inner: str, line: int) -> Node:
    """A one-line flow list of scalars, or kept unread (a nested collection, a pair)."""
    parts = _split_commas(inner)
    if parts and not parts[-1].strip(" "):
        parts.pop()  # a trailing comma, or nothing at all
    items: list[Node] = []
    for part in parts:
        item = part.strip(" ")
        plain = item and not _not_plain(item)
        if plain and ":" not in item:
            items.append(Leaf(line, item))
        elif item[:1] in ("'", '"') and _quote_end(item) == len(item) - 1:
            items.append(Leaf(line, _unquote(item)))
        else:
            return Flow(line)
    return Seq(line, items)


def _split_commas(inner: str) -> list[str]:
    """``inner`` split at the commas outside quotes and nested brackets."""
    parts: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(inner):
        char = inner[i]
        if char in "\"'":
            i += (_quote_end(inner[i:]) or len(inner)) + 1
            continue
        depth += (char in "[{") - (char in "]}")
        if char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
        i += 1
    parts.append(inner[start:])
    return parts


# --- JSON -----------------------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


def _json(text: str) -> Node:
    """A JSON file's outline (json.loads must read it: else PyYAML)."""
    try:
        json.loads(text)
    except ValueError:
        raise Unsure from None
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(text)]
    lines: list[int] = []
    count, last = 1, 0
    for _token, at in tokens:
        count += text.count("\n", last, at)
        last = at
        lines.append(count)
    node, end = _json_value(tokens, lines, 0)
    if end != len(tokens):
        raise Unsure
    return node


def _json_value(tokens: list[tuple[str, int]], lines: list[int], i: int) -> tuple[Node, int]:
    token, line = tokens[i][0], lines[i]
    if token == "{":  # noqa: S105 - JSON's punctuation, no password
        pairs: list[tuple[str, int, Node]] = []
        i += 1
        while tokens[i][0] != "}":
            key, key_line = _json_text(tokens[i][0]), lines[i]
            if key is None:
                raise Unsure  # escapes in a key
            value, i = _json_value(tokens, lines, i + 2)  # past the key and its colon
            pairs.append((key, key_line, value))
            i += tokens[i][0] == ","
        return Map(line, pairs), i + 1
    if token == "[":  # noqa: S105
        items: list[Node] = []
        i += 1
        while tokens[i][0] != "]":
            item, i = _json_value(tokens, lines, i)
            items.append(item)
            i += tokens[i][0] == ","
        return Seq(line, items), i + 1
    return Leaf(line, _json_text(token) if token.startswith('"') else token), i + 1


def _json_text(token: str) -> str | None:
    """A JSON string's text; None where it has escapes (YAML reads some of them otherwise)."""
    inner = token[1:-1]
    return None if "\\" in inner else inner
