"""Every flag that two commands list in --help means the same in both: one declaration (cli/options.py),
the same help and the same default. The Typer apps are walked, so a new command is checked too."""

from __future__ import annotations

import typer.main

import v2a_cli.cli  # noqa: F401  (registers every command on the app)
from v2a_cli.cli.app import app

# (flag, command) -> why its meaning differs on purpose.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # The project's defining example, `v2a interpolate frog.wav --to flute.jpg --steps 5`: the number of
    # sounds along the walk. Denoising steps are --denoise-steps there, as in generate and compose.
    ("--steps", "interpolate"): "sounds along the walk",
}


def declarations() -> dict[str, list[tuple[str, str, object]]]:
    """flag -> [(command, help, default)] over the root and every command: the options --help lists (a
    hidden option, the old name of a renamed one, is not listed)."""
    root = typer.main.get_command(app)
    found: dict[str, list[tuple[str, str, object]]] = {}

    def add(command: str, params) -> None:
        for param in params:
            if type(param).__name__.endswith("Option") and not param.hidden:
                for flag in [*param.opts, *param.secondary_opts]:
                    found.setdefault(flag, []).append((command, param.help or "", param.default))

    add("v2a", root.params)
    for name, command in root.commands.items():
        add(name, command.params)
    return found


def test_a_flag_means_the_same_in_every_command():
    different = []
    for flag, uses in sorted(declarations().items()):
        kept = [use for use in uses if (flag, use[0]) not in EXCEPTIONS]
        if len({(help_text, repr(default)) for _, help_text, default in kept}) > 1:
            different.append(f"{flag}: " + "; ".join(f"{command} ({default!r}) {help_text!r}"
                                                       for command, help_text, default in kept))
    assert different == []


def test_denoising_steps_have_one_name_everywhere():
    uses = {command for command, _, _ in declarations()["--denoise-steps"]}
    assert {"generate", "compose", "interpolate"} <= uses


def test_the_exceptions_are_still_there():
    flags = declarations()
    for flag, command in EXCEPTIONS:
        assert command in {use[0] for use in flags[flag]}, (flag, command)
