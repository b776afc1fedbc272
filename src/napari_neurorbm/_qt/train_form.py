"""The Train dock's hyperparameter form: a :class:`~napari_neurorbm._qt.forms.ConfigForm` of the
:class:`~napari_neurorbm.configs.TrainConfig` fields a run in the dock sets (their help, with what the paper
used, is the tooltip). The others keep the form's base config: the defaults, or a loaded model file's."""

from __future__ import annotations

from collections.abc import Iterable

from magicgui.widgets import Widget

from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm.configs import TrainConfig

# the fields the dock shows, in its order; the rest (the training recipe's and monitoring's fine settings,
# and the test fraction, which is the raster's own split) are set with `neurorbm train`
DOCK_FIELDS = ("n_hidden", "k", "batch", "chains", "updates", "minutes", "lr", "optimizer", "seed",
               "eval_every", "checkpoints", "device")
# numbers without a natural step: typed as text, checked when the config is read (a spin box would round
# a learning rate or clamp a bad value where the user gets a one-line message instead)
TEXT_FIELDS = ("lr", "minutes")
# the dock's two columns are narrow: shorter names than the config's (which messages use)
SHORT_LABELS = {"n_hidden": "Hidden units", "k": "Gibbs steps k", "batch": "Minibatch", "chains": "Chains",
                "updates": "Updates", "eval_every": "Eval every", "checkpoints": "Checkpoints"}


def train_form(extra: Iterable[Widget] = ()) -> ConfigForm[TrainConfig]:
    """The form of the paper's defaults in two columns, ``extra`` widgets (the dock's own settings) last."""
    overrides = {name: {"label": label} for name, label in SHORT_LABELS.items()}
    return ConfigForm(TrainConfig(), only=DOCK_FIELDS, text=TEXT_FIELDS, overrides=overrides, extra=extra,
                      columns=2)
