"""Append and remove elements of a libcst dict literal, in the dict's own layout.

:func:`append_element` follows the dict's habits (one element a line or all on one,
trailing comma or not, where comments sit); :func:`drop_element` removes an element with
its own line (its trailing comment included) and is the exact inverse of appending.
"""

from __future__ import annotations

import libcst as cst

__all__ = ["append_element", "drop_element"]

_Ws = cst.BaseParenthesizableWhitespace
_PW = cst.ParenthesizedWhitespace


def _comma(element: cst.BaseDictElement) -> cst.Comma | None:
    return element.comma if isinstance(element.comma, cst.Comma) else None


def _gap_before(node: cst.Dict, index: int) -> _Ws:
    """The whitespace between element ``index`` and what precedes it."""
    if index == 0:
        return node.lbrace.whitespace_after
    comma = _comma(node.elements[index - 1])
    return comma.whitespace_after if comma else cst.SimpleWhitespace(" ")


def _bare_line(like: _PW) -> _PW:
    """A line break that keeps ``like``'s final indentation but carries no comment."""
    newline = cst.TrailingWhitespace(newline=like.first_line.newline)
    return like.with_changes(first_line=newline, empty_lines=[])


def _append_to_empty(node: cst.Dict, new: cst.DictElement, indent: str) -> cst.Dict:
    opening = node.lbrace.whitespace_after
    if not isinstance(opening, _PW):
        return node.with_changes(elements=[new])
    inner = opening.with_changes(last_line=cst.SimpleWhitespace(opening.last_line.value + indent))
    return node.with_changes(
        lbrace=node.lbrace.with_changes(whitespace_after=inner),
        elements=[new.with_changes(comma=cst.Comma())],
        rbrace=node.rbrace.with_changes(whitespace_before=_bare_line(opening)),
    )


def append_element(node: cst.Dict, new: cst.DictElement, indent: str) -> cst.Dict:
    """Append ``new`` after the last element, following the dict's own layout habits."""
    if not node.elements:
        return _append_to_empty(node, new, indent)
    *head, last = node.elements
    sep, tail = _gap_before(node, len(head)), node.rbrace.whitespace_before
    comma = _comma(last)
    before: _Ws
    if isinstance(sep, _PW) and isinstance(tail, _PW):
        before = sep.with_changes(first_line=tail.first_line, empty_lines=tail.empty_lines)
        tail = _bare_line(tail)
    elif isinstance(sep, _PW):
        before = _bare_line(sep)
    else:
        before = sep if head else cst.SimpleWhitespace(" ")
    if comma:
        new = new.with_changes(comma=cst.Comma(whitespace_after=comma.whitespace_after))
    last_comma = (comma or cst.Comma()).with_changes(whitespace_after=before)
    return node.with_changes(
        elements=[*head, last.with_changes(comma=last_comma), new],
        rbrace=node.rbrace.with_changes(whitespace_before=tail),
    )


def _join(before: _Ws, after: _Ws, last: bool) -> _Ws:
    """The whitespace left when the element between ``before`` and ``after`` goes."""
    if isinstance(before, _PW) and isinstance(after, _PW):
        return after.with_changes(
            first_line=before.first_line, empty_lines=[*before.empty_lines, *after.empty_lines]
        )
    return after if last else before


def _drop_only(node: cst.Dict) -> cst.Dict:
    opening, closing = node.lbrace.whitespace_after, node.rbrace.whitespace_before
    if not (isinstance(opening, _PW) and isinstance(closing, _PW)):
        return node.with_changes(elements=[])
    return node.with_changes(
        lbrace=node.lbrace.with_changes(whitespace_after=_join(opening, closing, True)),
        elements=[],
        rbrace=node.rbrace.with_changes(whitespace_before=cst.SimpleWhitespace("")),
    )


def _drop_last(node: cst.Dict) -> cst.Dict:
    *head, prev, last = node.elements
    prev_comma, last_comma = _comma(prev), _comma(last)
    assert prev_comma is not None
    before, tail = prev_comma.whitespace_after, node.rbrace.whitespace_before
    comma: cst.Comma | cst.MaybeSentinel = cst.MaybeSentinel.DEFAULT
    if last_comma:
        comma = prev_comma.with_changes(whitespace_after=last_comma.whitespace_after)
    return node.with_changes(
        elements=[*head, prev.with_changes(comma=comma)],
        rbrace=node.rbrace.with_changes(whitespace_before=_join(before, tail, True)),
    )


def drop_element(node: cst.Dict, index: int) -> cst.Dict:
    """Remove element ``index`` with its own line (its trailing comment included)."""
    elements = list(node.elements)
    if len(elements) == 1:
        return _drop_only(node)
    if index == len(elements) - 1:
        return _drop_last(node)
    comma = _comma(elements[index])
    assert comma is not None
    gap = _join(_gap_before(node, index), comma.whitespace_after, False)
    del elements[index]
    if index == 0:
        return node.with_changes(
            lbrace=node.lbrace.with_changes(whitespace_after=gap), elements=elements
        )
    prev_comma = _comma(elements[index - 1])
    assert prev_comma is not None
    elements[index - 1] = elements[index - 1].with_changes(
        comma=prev_comma.with_changes(whitespace_after=gap)
    )
    return node.with_changes(elements=elements)
