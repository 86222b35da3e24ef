"""RFC 8785 canonical JSON: the RFC's own examples, its Appendix B number table, edge cases."""

from __future__ import annotations

import json
import random
import re
import struct
from decimal import Decimal

import pytest

from registry.evidence.jcs import canonicalize


def double(bits: str) -> float:
    """The IEEE-754 double with this big-endian hex bit pattern."""
    return struct.unpack(">d", bytes.fromhex(bits))[0]


def test_rfc8785_section_3_2_2_sample():
    # The input of RFC 8785 section 3.2.2, as a JSON parser would hand it over.
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    # Section 3.2.3 prints the output, section 3.2.4 its UTF-8 bytes; both are checked.
    text = (
        r'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        r'"string":"' + "\u20ac" + r"""$\u000f\nA'B\"\\\\\"/"}"""
    )
    octets = bytes.fromhex(
        "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
        "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
        "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
        "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
        "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
        "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
    )
    assert canonicalize(value) == text.encode("utf-8") == octets


def test_rfc8785_section_3_2_3_sorting_by_utf16_code_units():
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonicalize(value) == expected.encode("utf-8")


# RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits, expected):
    assert canonicalize(double(bits)) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinities_are_refused(bits):  # Appendix B lists NaN and Infinity as errors
    with pytest.raises(ValueError, match="not a JSON number"):
        canonicalize({"n": double(bits)})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # The boundaries of ECMAScript's four layouts (ECMA-262 Number::toString).
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (1.5e21, "1.5e+21"),
        (0.000001, "0.000001"),
        (0.0000012345, "0.0000012345"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (0.1, "0.1"),
        (100.0, "100"),
        (-100.5, "-100.5"),
        (12345678.9, "12345678.9"),
        (5e-324, "5e-324"),
        (-0.0, "0"),
        # Integers become doubles; up to 2**53 all of them are exact.
        (0, "0"),
        (-7, "-7"),
        (2**53, "9007199254740992"),
        (-(2**53), "-9007199254740992"),
    ],
)
def test_number_layout(value, expected):
    assert canonicalize(value) == expected.encode()


def test_numbers_round_trip_and_use_ecmascript_layout():
    # Seeded, so a failure names the same double every run; values are spread over
    # every exponent by drawing the bit pattern, not the value.
    rng = random.Random(8785)  # noqa: S311 - reproducible test inputs, not secrets
    layout = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?(e[+-][1-9][0-9]*)?")
    for _ in range(5000):
        value = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
        if value != value or value in (float("inf"), float("-inf")):
            continue
        text = canonicalize(value).decode()
        assert layout.fullmatch(text), (value, text)
        assert float(text) == value, (value, text)
        # ECMAScript uses exponent form exactly outside [1e-6, 1e21).
        assert ("e" in text) == (value != 0 and not 1e-6 <= abs(value) < 1e21), (value, text)


@pytest.mark.parametrize("value", [2**53 + 1, -(2**53) - 1, 2**64])
def test_integers_beyond_2_53_are_refused(value):
    with pytest.raises(ValueError, match="no exact IEEE-754 double"):
        canonicalize([value])


def test_literals_are_not_numbers():
    assert canonicalize([True, False, None, 1, 0]) == b"[true,false,null,1,0]"


def test_strings_escape_exactly_what_json_stringify_escapes():
    short = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    for code in range(0x20):
        char = chr(code)
        expected = short.get(char, f"\\u{code:04x}")
        assert canonicalize(char) == f'"{expected}"'.encode(), hex(code)
    assert canonicalize('"\\') == b'"\\"\\\\"'
    # Left literal: solidus, DEL, non-ASCII, the JavaScript line separators, astral planes.
    literal = "/\x7f\u00e9\u2028\u2029\U0001f600"
    assert canonicalize(literal) == b'"' + literal.encode("utf-8") + b'"'


def test_lone_surrogates_are_refused():
    with pytest.raises(ValueError, match="lone surrogate U\\+D800"):
        canonicalize({"a": "x\ud800y"})
    with pytest.raises(ValueError, match="lone surrogate U\\+DC00"):
        canonicalize({"\udc00": 1})


def test_nesting_whitespace_and_empty_containers():
    value = {"b": [1, {"d": [], "c": {}}], "a": ("x", "")}
    assert canonicalize(value) == b'{"a":["x",""],"b":[1,{"c":{},"d":[]}]}'


def test_output_parses_back_to_the_input():
    value = {"z": [0.5, -3, "\u00e9\n"], "y": None, "\U0001f600": {"k": True}}
    assert json.loads(canonicalize(value)) == value


@pytest.mark.parametrize(
    "value",
    [b"bytes", {1, 2}, object(), Decimal("1.5"), {"a": {1: "int key"}}, {("a",): 1}],
    ids=["bytes", "set", "object", "decimal", "int-key", "tuple-key"],
)
def test_other_types_are_refused(value):
    with pytest.raises(TypeError):
        canonicalize(value)
