"""Dock forms made from the typed configs (:mod:`napari_neurorbm.configs`) with magicgui, napari's own way to
build plugin widgets: one widget per field, with the field's bounds, unit, choices and help (as a tooltip).

A number is a spin box, a choice a combo box, a switch a check box; an optional number, a list of areas and
quality rules are text fields where empty means None (the spec's ``none`` text is shown greyed, and may be
typed: ``auto`` for tau). A dock may
show a number as a text field too (``text=``): one without a natural step (a learning rate, minutes) that a
spin box would round or clamp; its value is checked when the config is read. The form
hands back a validated config; a value that does not parse or is out of bounds is a one-line NeuroRBMError.

magicgui sizes its label column with the application's font when the form is made, before napari's style
sheet sets the font the labels are drawn in, so its fields would start at ragged places: a
:class:`LabelColumn` on a dock's body (:class:`~napari_neurorbm._qt.docking.ViewerDock`) sets one label
column once the dock is shown, across its forms and its own QFormLayout rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, SpinBox, Widget
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from napari_neurorbm.configs import Config, FieldInfo, split_list
from napari_neurorbm.errors import NeuroRBMError

C = TypeVar("C", bound=Config)
INT_MAX = 2**31 - 1
FLOAT_MAX = 1e12
FIELD_MIN_WIDTH = 130  # a field in a column of a form: room for a 7-digit number between a spin box's buttons
ROW_LABEL = "neurorbm_row_label"  # a Qt property on the labels of a form's rows


class ConfigForm(Container, Generic[C]):
    """A magicgui Container with one widget per field of ``base``'s config class (or of ``only``), named as
    the field (``form.tau``). ``overrides`` maps a field to magicgui options that replace the spec's (e.g.
    ``{"frames": {"max": 10_000}}``); the numbers in ``text`` are text fields; ``extra`` widgets (not
    config fields, e.g. a dock's own setting) follow the fields; ``columns`` > 1 lays the rows out in that
    many columns, row by row. :attr:`chosen` holds the fields a user changed since the form was last
    filled by the program."""

    def __init__(self, base: C, *, only: Iterable[str] | None = None,
                 overrides: dict[str, dict[str, Any]] | None = None, text: Iterable[str] = (),
                 extra: Iterable[Widget] = (), columns: int = 1) -> None:
        self.base = base
        wanted = None if only is None else list(only)
        infos = {i.name: i for i in type(base).fields()}
        if wanted is not None and set(wanted) - set(infos):
            raise ValueError(f"{type(base).__name__} has no field {sorted(set(wanted) - set(infos))}")
        self.infos = [infos[n] for n in wanted] if wanted is not None else list(infos.values())
        overrides = overrides or {}
        text = set(text)
        widgets = [field_widget(i, getattr(base, i.name), overrides.get(i.name, {}), i.name in text)
                   for i in self.infos]
        super().__init__(widgets=[*widgets, *extra], labels=True)
        self.margins = (0, 0, 0, 0)  # the dock's layout indents it, as its own rows
        _mark_row_labels(self.native)
        if columns > 1:
            _in_columns(self, columns)
        self.chosen: set[str] = set()
        self._filling = False
        for info in self.infos:
            self[info.name].changed.connect(lambda _value, name=info.name: self._note(name))

    def config(self) -> C:
        """The config of the form's values (fields not in the form keep ``base``'s), validated."""
        values = {i.name: parse(i, self[i.name].value) for i in self.infos}
        return self.base.replace(**values).validate()

    def fill(self, config: C | None = None, **values: Any) -> None:
        """Show ``config``'s values (and then ``values``) as the program's, not the user's choice."""
        source = {} if config is None else {i.name: getattr(config, i.name) for i in self.infos}
        source.update(values)
        self._filling = True
        try:
            for name, value in source.items():
                self[name].value = shown(self._info(name), value, isinstance(self[name], LineEdit))
                self.chosen.discard(name)
        finally:
            self._filling = False

    def boxed(self, title: str) -> QGroupBox:
        """The form in a titled group box, whose column (``box.layout()``) takes the dock's own rows too."""
        box = QGroupBox(title)
        QVBoxLayout(box).addWidget(self.native)
        return box

    def _info(self, name: str) -> FieldInfo:
        return next(i for i in self.infos if i.name == name)

    def _note(self, name: str) -> None:
        if not self._filling:
            self.chosen.add(name)


class LabelColumn(QObject):
    """An event filter that, whenever its widget is shown or restyled, makes every row label in it (the
    magicgui form's and those of any QFormLayout) as wide as the widest, so that all fields start level."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.StyleChange, QEvent.Type.FontChange):
            align_labels(watched)
        return False


def align_labels(widget: QWidget) -> None:
    """Give the row labels in ``widget`` one width, the widest one's in the font they are drawn in."""
    widget.ensurePolished()
    labels = [label for label in widget.findChildren(QLabel) if label.property(ROW_LABEL) is True]
    for form in widget.findChildren(QFormLayout):
        items = (form.itemAt(row, QFormLayout.ItemRole.LabelRole) for row in range(form.rowCount()))
        labels += [item.widget() for item in items if item is not None and isinstance(item.widget(), QLabel)]
    for label in labels:
        label.setMinimumWidth(0)
    widest = max((label.sizeHint().width() for label in labels), default=0)
    for label in labels:
        label.setMinimumWidth(widest)


def _mark_row_labels(form: QWidget) -> None:
    """Mark the label of each magicgui row of ``form`` (a row: a widget whose layout begins with it)."""
    rows = form.layout()
    for i in range(rows.count()):
        row = rows.itemAt(i).widget()
        first = row.layout().itemAt(0) if row is not None and row.layout() is not None else None
        if first is not None and isinstance(first.widget(), QLabel):
            first.widget().setProperty(ROW_LABEL, True)


def field_widget(info: FieldInfo, value: Any, options: dict[str, Any], text: bool = False) -> Widget:
    """The magicgui widget of one config field, showing ``value`` (a text field when ``text``)."""
    spec = info.spec
    tooltip = spec.help[:1].upper() + spec.help[1:]
    common = {"name": info.name, "label": _label(info, text), "tooltip": tooltip}
    kind, base = info.base_type, None
    if spec.choices is not None:
        labels = spec.labels or {}
        choices = [(labels.get(c, str(c)), c) for c in spec.choices]
        base = ComboBox, {"choices": choices, "value": value}
    elif kind is bool:
        base = CheckBox, {"value": value, "text": ""}
    elif kind in (int, float) and not info.optional and not text:
        low = spec.low if spec.low is not None else (-INT_MAX if kind is int else -FLOAT_MAX)
        high = spec.high if spec.high is not None else (INT_MAX if kind is int else FLOAT_MAX)
        step = spec.step or 1
        if kind is int:
            base = SpinBox, {"min": int(low), "max": int(high), "step": int(step), "value": value}
        else:
            base = FloatSpinBox, {"min": low, "max": high, "step": step, "value": value}
    else:
        base = LineEdit, {"value": shown(info, value, text=True)}
    cls, opts = base
    widget = cls(**{**common, **opts, **options})
    _decorate(widget, info, value)
    return widget


def _label(info: FieldInfo, text_field: bool) -> str:
    """The field's label, with its unit where no spin box shows it."""
    text = info.spec.label
    unit = info.spec.unit and (info.optional or text_field)
    return text[:1].upper() + text[1:] + (f" ({info.spec.unit})" if unit else "")


def _in_columns(form: Container, columns: int) -> None:
    """Move the form's labels and fields, in order, into a grid of ``columns`` (label, field) pairs, so that
    the fields of a grid column start at one x. Done once, with every widget in: magicgui would put a widget
    added later below the grid."""
    column = form.native.layout()
    rows = [column.itemAt(i).widget() for i in range(column.count())]
    holder = QWidget()
    grid = QGridLayout(holder)
    grid.setContentsMargins(0, 0, 0, 0)
    for i, row in enumerate(rows):
        column.removeWidget(row)
        r, c = divmod(i, columns)
        label, field = (row.layout().itemAt(k).widget() for k in (0, 1))
        grid.addWidget(label, r, 2 * c)
        grid.addWidget(field, r, 2 * c + 1)
        grid.setColumnStretch(2 * c + 1, 1)
        grid.setColumnMinimumWidth(2 * c + 1, FIELD_MIN_WIDTH)
        row.hide()  # the emptied row of magicgui's labelled widget
    column.addWidget(holder)


def _decorate(widget: Widget, info: FieldInfo, value: Any) -> None:
    """What magicgui does not set: a spin box's unit and decimals, a text field's meaning when empty."""
    native = widget.native
    if isinstance(widget, FloatSpinBox):
        native.setDecimals(_decimals(value, info.spec.step))
        widget.value = value
    if isinstance(widget, SpinBox | FloatSpinBox) and info.spec.unit:
        native.setSuffix(f" {info.spec.unit}")
    if isinstance(widget, LineEdit) and info.spec.none:
        native.setPlaceholderText(info.spec.none)


def _decimals(value: float, step: float | None) -> int:
    """Enough decimals to show the default and the step (2 at least, 8 at most)."""
    smallest = min((abs(x) for x in (value, step) if x), default=1.0)
    return min(8, max(2, 1 - math.floor(math.log10(smallest))))


def shown(info: FieldInfo, value: Any, text: bool) -> Any:
    """A field value as its widget (a text field when ``text``) shows it: text fields show None as empty,
    tuples comma separated and a float as short as it reads back the same."""
    if not text:
        return value
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def parse(info: FieldInfo, value: Any) -> Any:
    """A widget's value as the field's type (an empty text field: None); a NeuroRBMError when it does not
    parse."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if info.base_type is tuple:
        return split_list(info, text) or (None if info.optional else ())
    if info.optional and text.lower() in ("", info.spec.none.lower()):
        return None  # empty, or the meaning of empty typed out (e.g. auto)
    if info.base_type in (int, float):
        try:
            number = float(text)
            return int(number) if info.base_type is int and number.is_integer() else number
        except ValueError:
            raise NeuroRBMError(f"the {info.spec.label} '{text}' is not a number") from None
    return text
