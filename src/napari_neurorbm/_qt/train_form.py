"""The Train dock's hyperparameter form: TrainConfig's fields that a run in the dock sets (the others keep
their defaults), each with a tooltip saying what it is and what the paper used, and the autosave interval."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QGridLayout, QGroupBox, QLabel, QLineEdit, QSpinBox

from napari_neurorbm.autosave import DEFAULT_MINUTES, autosave_folder, check_minutes
from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.errors import NeuroRBMError

D = TrainConfig()

# TrainConfig field -> (label, tooltip); the tooltips say what each is and what the paper used
INT_FIELDS = {
    "n_hidden": ("Hidden units", f"Number of hidden units N_h, the model's capacity. Paper: {D.n_hidden}, "
                 "the largest value whose test log-likelihood does not overfit (its Fig. 2)."),
    "k": ("Gibbs steps k", "Block-Gibbs sweeps (v → h → v) of the persistent chains per update: the k of "
          f"PCD-k. Paper: {D.k}."),
    "batch": ("Minibatch", "Training frames per gradient estimate (capped at the training set). "
              f"Paper: {D.batch}."),
    "chains": ("Chains", "Persistent Markov chains that estimate the model term of the gradient. "
               f"Paper: {D.chains}."),
    "updates": ("Updates", "Total parameter updates of the run; Resume continues up to this number. The "
                "paper's runs are long (its Fig. 2 spans several decades of updates); "
                f"{D.updates} is a first look."),
    "seed": ("Seed", "Seeds the initial weights, the chains, the minibatch order and the sampling: the same "
             "seed gives the same run on CPU. The paper gives none."),
    "eval_every": ("Eval every", "Compute the train and test log-likelihood every N updates and keep the "
                   "model of maximal test LL, as the paper does for model selection (Fig. 2). 0 = no "
                   f"monitoring: the last model is kept. Default {D.eval_every}."),
    "checkpoints": ("Checkpoints", "About this many log-spaced snapshots of the model along training, kept "
                    "for model selection and for PTT (the paper's log Z method). "
                    f"Default {D.checkpoints}."),
}
LR_TIP = ("Learning rate: the length of the first SGD step in parameter space (the gradient is centred "
          "on the data means and normalised; the step decays as lr / sqrt(1 + update / "
          f"{D.lr_decay:g})), or Adam's step. The paper does not state its value; {D.lr:g} was the fastest "
          "to a good model on the recordings measured (docs/training.md).")
OPTIMIZER_TIP = ("sgd: plain gradient ascent, the paper's PCD. adam: adaptive steps, often faster on small "
                 "data.")
DEVICE_TIP = ("auto: a CUDA GPU when PyTorch sees one, else the CPU. cuda fails when there is no GPU. "
              "Not a model parameter.")
MINUTES_TIP = ("Time budget of the run in minutes of wall time (0 = none): training stops when it is spent, "
               "or at Updates, whichever comes first; the budget includes the evaluations and the final "
               "model selection.")
AUTOSAVE_TIP = ("Autosave the running training every this many minutes (0 = off) into {folder}. If napari "
                "closes or crashes during a run, the dock offers to resume it the next time it opens on the "
                "same raster; a run that ends in the dock removes its file. Not a model parameter.")


class TrainForm(QGroupBox):
    """Spin boxes, text fields and choices of the hyperparameters; :meth:`config` reads them."""

    def __init__(self) -> None:
        super().__init__("Hyperparameters (paper defaults; hover for details)")
        grid = QGridLayout(self)
        self.fields: dict[str, QSpinBox] = {}
        cells = []
        for name, (label, tip) in INT_FIELDS.items():
            spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=getattr(D, name))
            self.fields[name] = spin
            cells.append((label, spin, tip))
        self.lr = QLineEdit(f"{D.lr:g}")
        self.minutes = QLineEdit(f"{D.minutes:g}")
        self.autosave = QLineEdit(f"{DEFAULT_MINUTES:g}")
        self.optimizer = QComboBox()
        self.optimizer.addItems(["sgd", "adam"])
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        cells[5:5] = [("Minutes", self.minutes, MINUTES_TIP), ("Learning rate", self.lr, LR_TIP),
                      ("Optimizer", self.optimizer, OPTIMIZER_TIP)]
        autosave_tip = AUTOSAVE_TIP.format(folder=autosave_folder())
        cells += [("Device", self.device, DEVICE_TIP), ("Autosave min", self.autosave, autosave_tip)]
        for i, (label, field, tip) in enumerate(cells):
            text = QLabel(label)
            for widget in (text, field):
                widget.setToolTip(tip)
            grid.addWidget(text, i // 2, 2 * (i % 2))
            grid.addWidget(field, i // 2, 2 * (i % 2) + 1)

    def config(self, test_fraction: float | None = None) -> TrainConfig:
        """The hyperparameters of the form with ``test_fraction`` (the raster's own; default the config's),
        validated (NeuroRBMError naming the first impossible value)."""
        lr = _number(self.lr, "the learning rate")
        minutes = _number(self.minutes, "the time budget")
        test_fraction = D.test_fraction if test_fraction is None else test_fraction
        return TrainConfig(
            **{name: spin.value() for name, spin in self.fields.items()},
            lr=lr,
            minutes=minutes,
            optimizer=self.optimizer.currentText(),
            device=self.device.currentText(),
            test_fraction=round(test_fraction, 6),
        ).validate()

    def set_config(self, config: TrainConfig) -> None:
        """Show ``config`` in the form (e.g. the configuration of a loaded model file)."""
        for name, spin in self.fields.items():
            spin.setValue(int(getattr(config, name)))
        self.lr.setText(f"{config.lr:g}")
        self.minutes.setText(f"{config.minutes:g}")
        self.optimizer.setCurrentText(config.optimizer)
        if self.device.findText(config.device) >= 0:
            self.device.setCurrentText(config.device)

    def autosave_minutes(self) -> float:
        """The Autosave field: minutes between two autosaves of a running training (0 = off)."""
        return check_minutes(_number(self.autosave, "the autosave interval"))


def _number(edit: QLineEdit, what: str) -> float:
    """The float in a text field, or a one-line NeuroRBMError naming the field."""
    try:
        return float(edit.text())
    except ValueError:
        raise NeuroRBMError(f"{what} '{edit.text()}' is not a number") from None
