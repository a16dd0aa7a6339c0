"""Test support shipped with the package: the tiny random-weight model zoo (`python -m v2a_cli.testing.zoo DIR`)."""
