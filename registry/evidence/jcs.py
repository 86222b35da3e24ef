"""RFC 8785 JSON Canonicalization Scheme (JCS).

A statement is hashed and signed as its canonical bytes, so any two parties that
hold the same JSON value compute the same digest, whatever their JSON library.
JCS gets there by borrowing ECMAScript's ``JSON.stringify`` for strings and
numbers and sorting object members by their UTF-16 code units.

Python values map to JSON as the ``json`` module maps them, with the I-JSON
restrictions RFC 8785 imposes: numbers are IEEE-754 doubles, strings are valid
Unicode, object names are strings.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["canonicalize"]

# Beyond 2**53 not every integer has a double; a Python int there would be
# silently rounded by any ECMAScript verifier, so it is refused instead.
_MAX_EXACT_INT = 2**53

# ECMAScript's JSON.stringify escapes exactly these: the two-character forms
# where JSON has one, \u00xx (lower-case hex) for the other C0 controls, and
# nothing else - not "/", not DEL, not U+2028/U+2029, not non-ASCII.
_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x20)} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 serialisation of ``value``.

    ``value`` may be a ``dict`` with ``str`` keys, a ``list`` or ``tuple``, a
    ``str``, a ``float``, an ``int``, a ``bool`` or ``None``, nested freely.

    Raises ``TypeError`` for any other type, including a non-``str`` object
    key, and ``ValueError`` for a value I-JSON cannot carry: NaN or an
    infinity, an ``int`` whose magnitude exceeds 2**53, or a string holding a
    lone surrogate.
    """
    parts: list[str] = []
    _serialise(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"a string holds the lone surrogate U+{ord(exc.object[exc.start]):04X}, "
            "which I-JSON forbids"
        ) from None


def _serialise(value: Any, parts: list[str]) -> None:
    # bool before int: True is an int in Python but a literal in JSON.
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):
        if abs(value) > _MAX_EXACT_INT:
            raise ValueError(f"integer {value} has no exact IEEE-754 double (|n| > 2**53)")
        parts.append(_number(float(value)))
    elif isinstance(value, float):
        parts.append(_number(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"object names must be str, not {type(key).__name__}")
        parts.append("{")
        # UTF-16BE bytes compare as the code units do; "surrogatepass" lets a
        # lone surrogate through here so the final UTF-8 encode reports it.
        members = sorted(value.items(), key=lambda m: m[0].encode("utf-16-be", "surrogatepass"))
        for i, (key, member) in enumerate(members):
            if i:
                parts.append(",")
            parts.append(_string(key))
            parts.append(":")
            _serialise(member, parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for i, element in enumerate(value):
            if i:
                parts.append(",")
            _serialise(element, parts)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON type")


def _string(value: str) -> str:
    return '"' + value.translate(_ESCAPES) + '"'


def _number(value: float) -> str:
    """Format a double as ECMAScript's Number::toString (ECMA-262 7.1.12.1) does.

    Raises ``ValueError`` for NaN and the infinities, which JSON cannot carry.
    """
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:  # both zeros: ECMAScript prints -0 as "0"
        return "0"
    if value < 0:
        return "-" + _number(-value)

    # repr gives the shortest digit string that round-trips, choosing the one
    # closest to the double when several are as short: the digits ECMAScript
    # asks for. Only the layout differs, so take the digits apart and lay them
    # out again by ECMAScript's rules.
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    # With the value written as 0.<digits> x 10**point, as ECMAScript does:
    point = len(whole) + int(exponent or 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point

    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(e)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(e)}"
