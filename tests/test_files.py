"""`files.py`: atomic writes turn a full disk into one OutputWriteError, whatever library wrapped it."""

from __future__ import annotations

import pytest

from v2a_cli.errors import OutputWriteError
from v2a_cli.files import atomic_folder, atomic_output


def safetensors_disk_full(path):
    from safetensors import SafetensorError

    return SafetensorError(f'Error while serializing: I/O error: No space left on device (os error 28) at path "{path}"')


def test_a_safetensors_full_disk_error_is_an_output_write_error_and_nothing_is_left(tmp_path):
    """As `eval` converting a checkpoint under $V2A_CACHE, or any safetensors writer, meets a full disk."""
    target = tmp_path / "cache" / "cnn14.safetensors"
    with pytest.raises(OutputWriteError, match="no space left on the disk; free some space") as caught:
        with atomic_output(target, overwrite=True) as temp:
            raise safetensors_disk_full(temp)
    assert str(caught.value).startswith(str(target)) and "\n" not in str(caught.value)
    with pytest.raises(OutputWriteError, match="no space left on the disk"):
        with atomic_folder(tmp_path / "mapper") as staging:
            raise safetensors_disk_full(staging / "model.safetensors")
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["cache"]


def test_other_library_errors_pass_through(tmp_path):
    with pytest.raises(ValueError, match="not a write problem"):
        with atomic_output(tmp_path / "x.bin"):
            raise ValueError("not a write problem")
    assert list(tmp_path.iterdir()) == []
