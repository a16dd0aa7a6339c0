"""The shared numeric checks (v2a_cli/validation.py) and their use by the library's option classes."""

from __future__ import annotations

import math

import pytest

from v2a_cli.errors import V2AError
from v2a_cli.generation.pipeline import GenerateOptions
from v2a_cli.validation import RANDOM_SEED, Range, check_option, resolve_seed


def test_range_refuses_non_finite_and_says_what_is_valid():
    unit = Range(0, 1)
    assert unit.contains(0) and unit.contains(1) and not unit.contains(1.01)
    assert not unit.contains(math.nan) and not unit.contains(math.inf)
    assert Range(0, low_open=True).describe() == "more than 0"
    assert Range(1, 10).describe() == "from 1 to 10"
    assert not Range().contains(-math.inf) and Range().describe() == "a finite number"


@pytest.mark.parametrize("field,value", [("guidance", math.inf), ("guidance", math.nan), ("prompt_weight", 1.5),
                                         ("fps", 0.0), ("duration", -1.0), ("steps", 0), ("mapper_guidance", math.nan),
                                         ("batch_size", 0), ("max_seconds", math.inf)])
def test_guidance_inf_or_nan_is_refused_by_generate_options(field, value):
    with pytest.raises(V2AError) as caught:
        GenerateOptions(**{field: value}).validate()
    message = str(caught.value)
    assert message.startswith("--" + field.replace("_", "-")) and "\n" not in message


def test_seed_minus_one_draws_a_random_seed_that_the_options_carry():
    options = GenerateOptions(seed=RANDOM_SEED).validate()
    assert 0 <= options.seed < 2**31
    assert GenerateOptions(seed=7).validate().seed == 7
    assert resolve_seed(5) == 5
    with pytest.raises(V2AError, match="--seed -2"):
        GenerateOptions(seed=-2).validate()


def test_check_option_names_the_flag_and_skips_absent_values():
    check_option("mapper_guidance", None)
    with pytest.raises(V2AError, match=r"^--lr 0: must be more than 0"):
        check_option("lr", 0.0)


def test_pipeline_refuses_a_non_finite_bridge_temperature():
    from v2a_cli.generation.pipeline import Pipeline

    with pytest.raises(V2AError, match="--bridge-temperature inf"):
        Pipeline(device="cpu", bridge_temperature=math.inf)
