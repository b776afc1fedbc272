"""Command-line options made from the typed configs (:mod:`napari_neurorbm.configs`): one option per field,
with the field's help, default, choices and bounds, so that the CLI and the dock forms cannot disagree.

Options default to "not given" (None): :func:`config_from_args` builds the config from the ones given over a
base config (its class's defaults, or e.g. a resumed run's), and checks each given value against its field's
bounds with a one-line message naming the option. An optional number's option also takes the word for its
None (the spec's ``none``: ``--tau auto``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from napari_neurorbm.configs import C, FieldInfo, split_list
from napari_neurorbm.errors import NeuroRBMError

METAVARS = {int: "N", float: "X", str: "NAME", tuple: "A,B"}
NONE = object()  # a number option given as its field's none word (--tau auto): the field's None


def option(info: FieldInfo) -> str:
    """The field's option: its spec's ``cli`` name, else --field-name (a switch on by default: --no-...)."""
    if info.spec.cli:
        return info.spec.cli
    dashed = info.name.replace("_", "-")
    return f"--no-{dashed}" if info.base_type is bool and info.default else f"--{dashed}"


def add_config_options(parser: argparse.ArgumentParser, cls: type[C], *, only: Iterable[str] | None = None,
                       skip: Iterable[str] = ()) -> None:
    """Add an option for each field of ``cls`` (those in ``only``, less those in ``skip``)."""
    wanted = None if only is None else set(only)
    for info in cls.fields():
        if info.name in set(skip) or (wanted is not None and info.name not in wanted):
            continue
        flag, spec = option(info), info.spec
        if info.base_type is bool:
            parser.add_argument(flag, dest=info.name, action="store_const", const=not info.default,
                                default=None, help=spec.help)
            continue
        kind = _kind(info)
        metavar = "{" + ",".join(map(str, spec.choices)) + "}" if spec.choices else METAVARS[info.base_type]
        if kind not in (int, float, str) and " " not in spec.none:
            metavar += f"|{spec.none}"  # N|auto
        parser.add_argument(flag, dest=info.name, type=kind, default=None, metavar=metavar,
                            help=f"{spec.help} ({default_text(info)})")


def _kind(info: FieldInfo):
    """The option's argparse type: a number, or for an optional number also its none word (e.g. auto)."""
    kind = info.base_type if info.base_type in (int, float) else str
    if kind is str or not (info.optional and info.spec.none):
        return kind

    def number_or_none(text: str):
        return NONE if text.strip().lower() == info.spec.none.lower() else kind(text)

    number_or_none.__name__ = kind.__name__  # argparse names the type in "invalid int value: 'x'"
    return number_or_none


def default_text(info: FieldInfo) -> str:
    """'default 5 ms', or what an option not given means when the default is None."""
    if info.default is None or info.default == ():
        return f"default: {info.spec.none or 'none'}"
    unit = f" {info.spec.unit}" if info.spec.unit else ""
    value = f"{info.default:g}" if isinstance(info.default, float) else str(info.default)
    return f"default {value}{unit}"


def config_from_args(args: argparse.Namespace, base: C) -> C:
    """``base`` with the options given on the command line, each checked against its field's bounds."""
    changes = {}
    for info in type(base).fields():
        value = getattr(args, info.name, None)
        if value is None:
            continue
        if value is NONE:
            changes[info.name] = None
            continue
        value = _from_text(info, value) if info.base_type is tuple else value
        info.spec.check(value, prefix=f"{option(info)}: ")
        changes[info.name] = value
    return base.replace(**changes)


def _from_text(info: FieldInfo, text: str) -> tuple:
    """A comma-separated list (areas, quality rules) as a tuple; an empty list is an error."""
    items = split_list(info, text)
    if not items:
        raise NeuroRBMError(f"{option(info)} needs a comma-separated list, got '{text}'")
    return items
