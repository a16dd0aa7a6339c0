"""What every command's parameters get, applied once to the whole click tree (so options added later get it too):

- numeric options are checked against `v2a_cli.validation.RANGES` (finite, in range) while parsing, so a
  bad value fails with one line and exit code 2 before any command code (or model) runs;
- help shows click-style metavars (`--steps INTEGER`, `--quiet`, `INPUTS...`) instead of type badges.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from v2a_cli.validation import option_problem, range_for

try:  # typer >= 0.2x carries its own copy of click
    from typer import _click as click
except ImportError:  # pragma: no cover
    import click  # type: ignore[no-redef]

NUMERIC_TYPES = {int: "INTEGER", float: "FLOAT"}
CLICK_NUMERIC_NAMES = {"integer": int, "float": float, "integer range": int, "float range": float}


def value_type(param: Any) -> type | None:
    """The Python type a parameter's values have (int, float, str, Path, bool, ...), where known."""
    descriptor = getattr(param, "type_descriptor", None)  # typer >= 0.2x
    annotation = getattr(descriptor, "annotation", None)
    if isinstance(annotation, type):
        return annotation
    name = getattr(getattr(param, "type", None), "name", "")
    return CLICK_NUMERIC_NAMES.get(name)


def numeric_params(command: Any) -> Iterator[Any]:
    """The int and float parameters of a click command (bool flags excluded; hidden old names of renamed
    options too: `renamed_option` checks their value against the new option's range)."""
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if value_type(param) in NUMERIC_TYPES and not getattr(param, "is_flag", False):
            yield param


def command_tree(group: Any) -> Iterator[tuple[str, Any]]:
    """(name, command) for each leaf command of a click group."""
    for name, command in getattr(group, "commands", {}).items():
        if hasattr(command, "commands"):
            yield from command_tree(command)
        else:
            yield name, command


def option_flag(param: Any) -> str:
    longs = [opt for opt in getattr(param, "opts", []) if opt.startswith("--")]
    return longs[0] if longs else (param.opts[0] if getattr(param, "opts", None) else param.name)


def _checked(command_name: str, param: Any, callback: Callable | None) -> Callable:
    valid = range_for(param.name, command_name)
    flag = option_flag(param)

    def check(ctx: Any, parameter: Any, value: Any) -> Any:
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                problem = option_problem(item, valid)
                if problem:
                    shown = str(item) if isinstance(item, int) else f"{item:g}"
                    raise click.exceptions.UsageError(f"{flag} {shown}: {problem}", ctx)
        return callback(ctx, parameter, value) if callback is not None else value

    return check


def _plain_argument(param: Any) -> None:
    """An argument reads `INPUTS...` (required) or `[START]` (optional) in usage and help, as in click."""
    name = param.name.upper()
    usage = (name if param.required else f"[{name}]") + ("..." if param.nargs != 1 else "")
    param.metavar = name + ("..." if param.nargs != 1 else "")
    # typer draws `{name}` and a `<list[str]>` badge; these two per-instance hooks are all it asks.
    param._usage_display_name = lambda: usage
    param.display_type_rich = lambda ctx: None


def _metavar(param: Any) -> str:
    kind = value_type(param)
    if kind in NUMERIC_TYPES:
        return NUMERIC_TYPES[kind]
    name = getattr(kind, "__name__", "")
    return "PATH" if name.endswith("Path") else "TEXT"


def _badgeless_help(command: Any) -> None:
    make = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option


def _models_after_the_command(root_models: Any) -> Any:
    """`v2a generate --models m.toml ...`: the global option also taken after the command name (it sets
    the same value as `v2a --models m.toml generate ...`; given in both places, the later one wins)."""

    def remember(ctx: Any, param: Any, value: Any) -> None:
        if value is not None:
            root = ctx.find_root()
            if root.obj is None:
                from v2a_cli.cli.context import GlobalOptions

                root.obj = GlobalOptions()
            root.obj.models = value

    import copy

    option = copy.copy(root_models)  # the root's own option (typer's parameter class), re-aimed
    option.expose_value, option.callback, option.envvar = False, remember, None  # $V2A_MODELS: the root reads it
    option.help = "TOML file naming the models (as `v2a --models`, which may also come before the command)."
    return option


def prepare_commands(group: Any) -> Any:
    """Install the numeric checks and the help metavars on every command of `group` (once)."""
    if getattr(group, "_v2a_prepared", False):
        return group
    _badgeless_help(group)
    for name, command in command_tree(group):
        _badgeless_help(command)
        root_models = next((param for param in group.params if param.name == "models"), None)
        if root_models is not None and not any(param.name == "models" for param in command.params):
            command.params.append(_models_after_the_command(root_models))
        for param in numeric_params(command):
            param.callback = _checked(name, param, param.callback)
        for param in command.params:
            if getattr(param, "param_type_name", "") == "argument":
                _plain_argument(param)
            elif getattr(param, "is_flag", False):
                param.metavar = ""  # a flag takes no value: no badge
            elif param.metavar is None:
                param.metavar = _metavar(param)
    for param in group.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = _metavar(param)
    group._v2a_prepared = True
    return group
