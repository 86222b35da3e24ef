"""REGISTRY_MAX_ATTACHMENT_BYTES: read from the environment, checked at start-up."""

from __future__ import annotations

import pytest

from registry import config
from registry.config import ConfigError


def test_the_default_is_ten_mebibytes():
    assert config.load({}, environ={})["MAX_ATTACHMENT_BYTES"] == 10 * 1024 * 1024


def test_the_environment_sets_it():
    loaded = config.load({}, environ={"REGISTRY_MAX_ATTACHMENT_BYTES": "2048"})
    assert loaded["MAX_ATTACHMENT_BYTES"] == 2048


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ten", "an integer, not 'ten'"),
        ("0", "positive"),
        ("-5", "positive"),
        (str(100 * 1024 * 1024 + 1), "an integer from 1 to 104857600"),
    ],
)
def test_a_bad_value_stops_the_start(raw, message):
    with pytest.raises(ConfigError, match=f"^REGISTRY_MAX_ATTACHMENT_BYTES must be {message}"):
        config.load({}, environ={"REGISTRY_MAX_ATTACHMENT_BYTES": raw})


@pytest.mark.parametrize("value", [0, True, "10", 100 * 1024 * 1024 + 1])
def test_a_bad_override_stops_the_start(value):
    with pytest.raises(ConfigError, match="REGISTRY_MAX_ATTACHMENT_BYTES must be an integer"):
        config.load({"MAX_ATTACHMENT_BYTES": value}, environ={})
