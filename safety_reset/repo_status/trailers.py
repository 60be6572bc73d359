"""Git's trailer block, read the way `git interpret-trailers --parse` reads it.

A commit message's trailers are the `Token: value` lines of its *trailer block*, which git finds
like this (trailer.c, `find_trailer_block_start`), and which this module follows line by line:

- The message ends before a patch divider (a line starting with `---` and a space) and before a
  trailing run of comment (`#`) and empty lines.
- The first paragraph is the title and never holds trailers: a message with no blank line has
  none.
- Walking back from the end, the block is the last paragraph (after the last blank line) when
  every line of it is a trailer (or the continuation of one), or when it holds a git-generated
  trailer (`Signed-off-by: `, `(cherry picked from commit `) and at least a quarter of its lines
  are trailers. Otherwise the message has no trailers at all: a `Key: value` line in a prose
  paragraph is not one.
- A token is letters, digits and `-`, optionally followed by spaces, then `:`; a line starting
  with white space continues the previous trailer (unfolded to one space).

Nothing here reads `trailer.*` configuration: the keys that matter are named by the rules, and a
repository's own git configuration is not available to us.
"""

from __future__ import annotations

GIT_GENERATED_PREFIXES = ("Signed-off-by: ", "(cherry picked from commit ")
COMMENT = "#"


def _find_separator(line: str) -> int:
    """Git's `find_separator` with the default separator `:`; -1 when the line has none."""
    whitespace_found = False
    for index, char in enumerate(line):
        if char == ":":
            return index
        if not whitespace_found and (char.isascii() and char.isalnum() or char == "-"):
            continue
        if index != 0 and char in " \t":
            whitespace_found = True
            continue
        break
    return -1


def _is_blank(line: str) -> bool:
    return line.strip() == ""


def _body_lines(message: str, *, divider: bool) -> list[str]:
    lines = message.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if divider:
        for index, line in enumerate(lines):
            if line.startswith("---") and (len(line) == 3 or line[3].isspace()):
                lines = lines[:index]
                break
    # A trailing run of comment lines and empty lines is not part of the message.
    end = len(lines)
    while end and (lines[end - 1].startswith(COMMENT) or lines[end - 1] == ""):
        end -= 1
    return lines[:end]


def _block_start(lines: list[str]) -> int | None:
    """Index of the first line of the trailer block, or None when there is none."""
    end_of_title = len(lines)
    for index, line in enumerate(lines):
        if line.startswith(COMMENT):
            continue
        if _is_blank(line):
            end_of_title = index
            break
    only_spaces = True
    recognized_prefix = False
    trailer_lines = non_trailer_lines = possible_continuation_lines = 0
    for index in range(len(lines) - 1, end_of_title - 1, -1):
        line = lines[index]
        if line.startswith(COMMENT):
            non_trailer_lines += possible_continuation_lines
            possible_continuation_lines = 0
            continue
        if _is_blank(line):
            if only_spaces:
                continue
            non_trailer_lines += possible_continuation_lines
            if recognized_prefix and trailer_lines * 3 >= non_trailer_lines:
                return index + 1
            if trailer_lines and not non_trailer_lines:
                return index + 1
            return None
        only_spaces = False
        if line.startswith(GIT_GENERATED_PREFIXES):
            trailer_lines += 1
            possible_continuation_lines = 0
            recognized_prefix = True
            continue
        if _find_separator(line) >= 1 and not line[0].isspace():
            trailer_lines += 1
            possible_continuation_lines = 0
        elif line[0].isspace():
            possible_continuation_lines += 1
        else:
            non_trailer_lines += 1 + possible_continuation_lines
            possible_continuation_lines = 0
    return None


def _unfold(value: str) -> str:
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\n":
            while index < len(value) and value[index].isspace():
                index += 1
            index -= 1
            char = " "
        out.append(char)
        index += 1
    return "".join(out).strip()


def parse_trailers(message: str, *, divider: bool = True) -> list[tuple[str, str]]:
    """(token, value) of each trailer of the message, in order, as `git interpret-trailers
    --parse` prints them (`token: value`). Tokens keep their spelling; compare them lowered."""
    lines = _body_lines(message, divider=divider)
    start = _block_start(lines)
    if start is None:
        return []
    strings: list[str] = []
    last: int | None = None
    for line in lines[start:]:
        if last is not None and line[:1].isspace():
            strings[last] += "\n" + line
            continue
        strings.append(line)
        last = len(strings) - 1 if _find_separator(line) >= 1 else None
    found = []
    for text in strings:
        if text.startswith(COMMENT):
            continue
        separator = _find_separator(text)
        if separator < 1:
            continue
        found.append((text[:separator].strip(), _unfold(text[separator + 1 :])))
    return found
