"""The models TOML: a wrong file is one line naming it and what to write, in every command."""

from __future__ import annotations

import re

import pytest

from v2a_cli.errors import V2AError
from v2a_cli.models_config import ModelsConfig


@pytest.mark.parametrize("text, problem", [
    ("models = 5\n", "`models` must be a table of roles"),
    ("[models]\nclip = 5\n", "model role(s) clip must be text"),
    ("clip = true\n", "model role(s) clip must be text"),
])
def test_a_models_file_of_the_wrong_shape_is_one_line(tmp_path, text, problem):
    path = tmp_path / "models.toml"
    path.write_text(text)
    with pytest.raises(V2AError, match=re.escape(problem)) as caught:
        ModelsConfig.from_toml(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_models_naming_a_folder_says_to_name_the_file(tmp_path):
    with pytest.raises(V2AError, match=r"is a folder; pass the models TOML file itself \(e\.g\. .*models\.toml\)"):
        ModelsConfig.from_toml(tmp_path)
