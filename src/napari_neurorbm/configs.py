"""The settings of every job as frozen, typed configs: default, bounds, unit and help of a field in one place.

The command line (``cli/``) makes its options from them and the docks make their forms from them
(``_qt/forms.py``), so that a default is written once. A field's :class:`Spec` (in the dataclass field's
metadata) says how to show and check it; :meth:`Config.validate` checks a whole config against its specs.
No numpy, torch or pandas here: ``neurorbm --help`` and the CLI's option parsing import this module.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from napari_neurorbm.errors import NeuroRBMError

C = TypeVar("C", bound="Config")
FLOAT32_MAX = 3.4028234663852886e38
DEVICES = ("auto", "cpu", "cuda", "mps")
INITS = ("data", "random")
INIT_LABELS = {"data": "training frames", "random": "random states"}
PAPER_TAU = 5  # Gibbs sweeps per frame in the paper's Fig. 6; what a fixed tau defaults to


@dataclass(frozen=True)
class Spec:
    """How one config field is shown and checked.

    ``label``: its name in a form and in messages; ``help``: the tooltip and the CLI help; ``unit``: shown
    after the value; ``low``/``high``: bounds of a number (``low_open``, ``high_open``: the bound itself is
    excluded);
    ``choices``: the allowed values, with ``labels`` for a form; ``cli``: the option name when it is not the
    field's (e.g. ``--hidden`` for ``n_hidden``); ``step``: a form's spin-box step; ``none``: what None (an
    empty text field) means.
    """

    label: str
    help: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    labels: dict[Any, str] | None = None
    cli: str | None = None
    step: float | None = None
    none: str = ""

    def check(self, value: Any, prefix: str = "") -> None:
        """Raise a NeuroRBMError naming this field (after ``prefix``, e.g. the CLI option) when ``value`` is
        outside its choices or bounds."""
        if value is None:
            return
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise NeuroRBMError(f"{prefix}unknown {self.label} '{value}' (use {allowed})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise NeuroRBMError(f"{prefix}the {self.label} must be a finite number, got {value}")
        low_bad = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        high_bad = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if low_bad or high_bad:
            raise NeuroRBMError(f"{prefix}the {self.label} must be {self.range_text()}, got {value!r}")

    def range_text(self) -> str:
        """The allowed range in words: 'a positive integer', 'at least 2', 'in [0, 1]'."""
        unit = f" {self.unit}" if self.unit else ""
        if self.low == 1 and self.high is None and not self.low_open:
            return "a positive integer"
        if self.low == 0 and self.low_open and self.high is None:
            return "positive"
        if self.high is None:
            return f"{'greater than' if self.low_open else 'at least'} {self.low:g}{unit}"
        if self.low is None:
            return f"at most {self.high:g}{unit}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}{unit}"


def setting(default: Any, label: str, help: str, **spec: Any) -> Any:
    """A dataclass field with ``default`` and its :class:`Spec` (``label``, ``help`` and its options)."""
    return dataclasses.field(default=default, metadata={"spec": Spec(label, help, **spec)})


@dataclass(frozen=True)
class FieldInfo:
    """One field of a config class: name, type (resolved), default and spec."""

    name: str
    type: Any
    default: Any
    spec: Spec

    @property
    def base_type(self) -> type:
        """The field's type without ``| None``: int, float, str or bool (a tuple type for tuples)."""
        args = [a for a in typing.get_args(self.type) if a is not type(None)]
        if typing.get_origin(self.type) in (typing.Union, _UNION) and len(args) == 1:
            return typing.get_origin(args[0]) or args[0]
        return typing.get_origin(self.type) or self.type

    @property
    def optional(self) -> bool:
        """Whether None is a value of the field (e.g. 'the whole recording' for a start time)."""
        return type(None) in typing.get_args(self.type)


_UNION = type(int | None)


def split_list(info: FieldInfo, text: str) -> tuple:
    """A comma- (or semicolon-) separated text as the value of a tuple field: names, quality rules or
    integers."""
    items = tuple(t.strip() for t in text.replace(";", ",").split(",") if t.strip())
    if "QualityRule" in str(info.type):
        return tuple(QualityRule.parse(t) for t in items)
    if "int" in str(info.type):
        try:
            return tuple(int(t) for t in items)
        except ValueError:
            raise NeuroRBMError(f"the {info.spec.label} must be whole numbers, comma separated, got "
                                f"'{text}'") from None
    return items


class Config:
    """What every job config shares: its fields with their specs, checks, and building from stored values."""

    @classmethod
    def fields(cls) -> list[FieldInfo]:
        """The fields that have a spec, in declaration order."""
        hints = typing.get_type_hints(cls, globalns=globals())
        return [FieldInfo(f.name, hints[f.name], f.default, f.metadata["spec"])
                for f in dataclasses.fields(cls) if "spec" in f.metadata]

    def validate(self: C) -> C:
        """Raise a NeuroRBMError naming the first field whose value is out of bounds; return the config."""
        for info in self.fields():
            info.spec.check(getattr(self, info.name))
        return self

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls: type[C], d: dict) -> C:
        """A config from stored metadata; unknown keys are ignored, missing ones take the defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# ---------------------------------------------------------------------------------------------- binning


@dataclass(frozen=True)
class QualityRule:
    """Keep units whose metric passes ``metric op value`` (e.g. presence_ratio >= 0.9); NaN never passes."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> QualityRule:
        for op in (">=", "<=", ">", "<"):
            if op in text:
                name, _, value = text.partition(op)
                try:
                    return cls(name.strip(), op, float(value))
                except ValueError:
                    break
        raise NeuroRBMError(f"quality rule '{text}' is not of the form metric>=value")

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


@dataclass(frozen=True)
class BinningConfig(Config):
    """How to turn a session into a binary raster (``data.binning``). ``bin_ms=None`` keeps a binned source's
    native bins; the entry points (drop-open, the Load dock, ``neurorbm binarize``) start a binned source at
    its native width (``data.binning.unchosen_width``), spike times at ``bin_ms``."""

    bin_ms: float | None = setting(
        20.0, "bin width", "width of a time bin; a frame is 1 where the unit spiked in it. A binned source "
        "starts at its native bins; another width must be a whole multiple of them", unit="ms", low=0,
        low_open=True, step=5.0, none="native bins")
    start_s: float | None = setting(None, "start time", "start of the time window", unit="s",
                                    none="start of recording")
    stop_s: float | None = setting(None, "stop time", "end of the time window", unit="s",
                                   none="end of recording")
    epoch: str | None = setting(None, "epoch", "keep only this epoch of the recording: an interval table "
                                "(trials, or a stimulus's presentations), a stimulus name or 'block N' "
                                "(Allen's stimulus blocks); each stretch it covers becomes a segment",
                                none="whole recording")
    epoch_column: str | None = setting(None, "epoch column", "keep only the intervals whose column holds "
                                       "the epoch value, e.g. go (trials) or stimulus_block; each becomes a "
                                       "segment (runs of them in one stimulus block: one segment)",
                                       none="no column")
    epoch_value: str | None = setting(None, "epoch value", "the value the epoch column must hold, e.g. True "
                                      "or 5", none="no value")
    keep_every: int = setting(1, "keep-every step", "keep every k-th frame, to thin out correlated "
                              "neighbouring frames (1: all; the paper used 5)", low=1)
    min_rate_hz: float = setting(0.0, "minimum rate", "drop units firing below this rate in the kept frames "
                                 "(0: keep every unit that spikes)", unit="Hz", low=0, step=0.5)
    areas: tuple[str, ...] | None = setting(None, "areas", "keep only units of these areas, comma separated, "
                                            "e.g. VISp, LGd, CA1", none="all areas")
    quality: tuple[QualityRule, ...] = setting((), "quality rules", "keep units whose quality metrics pass "
                                               "every rule, comma separated, e.g. presence_ratio>=0.9, "
                                               "isi_violations<=0.5 (needs a source with metrics)",
                                               none="no rule")
    test_fraction: float = setting(0.3, "test fraction", "fraction of frames held out for testing, in [0, 1)",
                                   low=0, high=1, high_open=True, step=0.05)
    seed: int = setting(0, "split seed", "seed of the train/test split", low=0)
    ei_threshold_ms: float = setting(0.4, "E/I threshold", "units whose spike waveform is narrower than this "
                                     "(trough to peak) are putative inhibitory (I), the others putative "
                                     "excitatory (E); units without a waveform width stay unknown", unit="ms",
                                     low=0, low_open=True, step=0.05)


# ---------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainConfig(Config):
    """Hyperparameters of a PCD-k run; defaults are the paper's (section III) where it gives them."""

    n_hidden: int = setting(128, "number of hidden units", "hidden units N_h, the model's capacity. Paper: "
                            "128, the largest value whose test log-likelihood does not overfit (its Fig. 2)",
                            low=1, cli="--hidden")
    k: int = setting(10, "number of Gibbs steps", "block-Gibbs sweeps (v -> h -> v) of the persistent chains "
                     "per update: the k of PCD-k. Paper: 10.", low=1, cli="--gibbs-steps")
    batch: int = setting(2000, "minibatch size", "training frames per gradient estimate (capped at the "
                         "training set). Paper: 2000.", low=1, step=100)
    chains: int = setting(2000, "number of persistent chains", "persistent Markov chains that estimate the "
                          "model term of the gradient. Paper: 2000.", low=1, step=100)
    lr: float = setting(1.6, "learning rate", "step along the gradient: its length with the normalised step "
                        "(the default recipe; it decays as lr / sqrt(1 + update / lr_decay)), plain SGD's "
                        "factor otherwise, or Adam's step with optimizer adam. The paper does not state its "
                        "value; 1.6 was the fastest to a good model on the recordings measured "
                        "(docs/training.md)", low=0, low_open=True, high=FLOAT32_MAX, step=0.1)
    updates: int = setting(10000, "number of updates", "total parameter updates of the run; a resumed run "
                           "continues up to this number. The paper's runs are long (its Fig. 2 spans several "
                           "decades of updates); 10000 is a first look", low=1, step=1000)
    seed: int = setting(0, "seed", "seed of the initial weights, the chains, the minibatch order and the "
                        "sampling: the same seed gives the same run on a CPU (the paper gives none)", low=0)
    device: str = setting("auto", "device", "auto (a GPU when there is one), cpu, cuda or mps",
                          choices=DEVICES)
    test_fraction: float = setting(0.3, "test fraction", "fraction of frames held out for the test "
                                   "log-likelihood when the raster has no split of its own", low=0, high=1,
                                   high_open=True, step=0.05)
    eval_every: int = setting(50, "evaluation interval", "compute the train and test log-likelihood every N "
                              "updates and keep the model of maximal test LL, as the paper does for model "
                              "selection (its Fig. 2); 0 = no monitoring, the last model is kept", low=0,
                              step=10)
    checkpoints: int = setting(50, "number of checkpoints", "about this many log-spaced snapshots of the "
                               "model along training, kept for model selection and for PTT (the paper's "
                               "log Z method)", low=0)
    optimizer: str = setting("sgd", "optimizer", "sgd: plain gradient ascent, the paper's PCD; adam: "
                             "adaptive steps, often faster on small data", choices=("sgd", "adam"))
    lr_decay: float = setting(100.0, "learning-rate decay", "decay time of the SGD step in updates: "
                              "lr / sqrt(1 + update / N); 0 = a constant step", unit="updates", low=0,
                              step=10.0)
    centered: bool = setting(True, "centred gradient", "use the gradient centred on the data means "
                             "(Melchior et al. 2016) instead of the raw one", cli="--no-center")
    normalize: bool = setting(True, "normalised step", "rescale the gradient to length lr instead of "
                              "stepping along it as it is", cli="--no-normalize")
    log_z: str = setting("auto", "log Z method", "log Z at each evaluation: exact (a layer of <= 20 units), "
                         "ais, or auto (exact when 2^(smaller layer) x (larger layer) <= 2^24, else ais)",
                         choices=("auto", "exact", "ais"))
    ais_chains: int = setting(128, "number of AIS chains", "AIS chains at each evaluation", low=1)
    ais_betas: int = setting(500, "number of AIS temperatures", "AIS inverse temperatures at each evaluation",
                             low=2, step=100)
    ptt_sweeps: int = setting(0, "PTT sweeps", "sweeps of the final PTT pass along the checkpoints that "
                              "re-estimates their log Z and picks the best model (used with AIS evaluations; "
                              "0 = skip it; else at least 2)", low=0)
    weight_std: float = setting(1e-4, "initial weight spread", "standard deviation of the initial weights",
                                low=0)
    minutes: float = setting(0.0, "time budget", "time budget of the run in minutes of wall time: training "
                             "stops when it is spent (or at the number of updates, whichever comes first), "
                             "then picks the best checkpoint; the budget includes the evaluations and the "
                             "model selection (0 = none)", unit="min", low=0, step=1.0)
    eval_share: float = setting(0.1, "monitoring share", "share of the training time that monitoring may "
                                "take: live AIS evaluations wait while they have taken half of it, the final "
                                "model selection gets the rest (1 = evaluate on schedule and select whatever "
                                "it costs)", low=0, low_open=True, high=1, step=0.01)

    def validate(self) -> TrainConfig:
        """Raise a NeuroRBMError naming the first impossible value."""
        positive = {
            "n_hidden": "hidden units",
            "k": "Gibbs steps",
            "batch": "minibatch size",
            "chains": "persistent chains",
            "updates": "updates",
        }
        for name, what in positive.items():
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise NeuroRBMError(f"the number of {what} must be a positive integer, got {value!r}")
        if not 0 < self.lr < FLOAT32_MAX:
            raise NeuroRBMError(f"the learning rate must be a positive float32 number, got {self.lr}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise NeuroRBMError(f"the test fraction must be in [0, 1), got {self.test_fraction}")
        if self.eval_every < 0 or self.checkpoints < 0 or self.ptt_sweeps < 0:
            raise NeuroRBMError("eval_every, checkpoints and ptt_sweeps must be >= 0")
        if self.ptt_sweeps == 1:
            raise NeuroRBMError("ptt_sweeps must be 0 (no final PTT) or at least 2")
        if self.optimizer not in ("sgd", "adam"):
            raise NeuroRBMError(f"unknown optimizer '{self.optimizer}' (use sgd or adam)")
        if self.log_z not in ("auto", "exact", "ais"):
            raise NeuroRBMError(f"unknown log Z method '{self.log_z}' for training (use auto, exact or ais)")
        if self.ais_chains < 1 or self.ais_betas < 2:
            raise NeuroRBMError("AIS during training needs ais_chains >= 1 and ais_betas >= 2")
        if not self.minutes >= 0 or not math.isfinite(self.minutes):
            raise NeuroRBMError(f"the time budget must be >= 0 minutes (0 = none), got {self.minutes}")
        if not self.lr_decay >= 0 or not math.isfinite(self.lr_decay):
            raise NeuroRBMError(f"lr_decay must be >= 0 updates (0 = constant), got {self.lr_decay}")
        if not 0 < self.eval_share <= 1:
            raise NeuroRBMError(f"eval_share must be in (0, 1], got {self.eval_share}")
        if not self.weight_std >= 0:
            raise NeuroRBMError(f"the initial weight spread must be >= 0, got {self.weight_std}")
        return self

# ---------------------------------------------------------------------------------------------- sampling

@dataclass(frozen=True)
class GenerateConfig(Config):
    """Gibbs sampling in time (``analysis.generation.iter_generate``): ``frames`` in all over ``chains``."""

    frames: int = setting(1000, "number of frames", "frames generated in all, split over the chains (the "
                          "Generate dock starts at the recording's test frames)", low=1, step=100)
    tau: int | None = setting(None, "tau", "Gibbs sweeps between saved frames; auto (empty): calibrated so "
                              "that K(t) relaxes as in the recording (analysis.timing; the paper's Fig. 6 "
                              f"found {PAPER_TAU})", low=1, none="auto")
    chains: int = setting(10, "number of chains", "independent Markov chains run side by side; each writes "
                          "about frames / chains frames", low=1)
    init: str = setting("data", "start", "start each chain from a random training frame (data) or from units "
                        "on/off with probability 1/2 (random; the CLI's default without --data)",
                        choices=INITS, labels=INIT_LABELS)
    seed: int = setting(0, "seed", "seed of the starting states and the sampling", low=0)
    device: str = setting("auto", "device", "auto (a GPU when there is one), cpu, cuda or mps",
                          choices=DEVICES)


@dataclass(frozen=True)
class ClampConfig(GenerateConfig):
    """A clamp experiment (``analysis.generation.iter_clamp_experiment``): clamped chains and control chains
    from the same starts, sampled as :class:`GenerateConfig` says but with a fixed tau (``neurorbm sample``
    too: without a recording in time there is nothing to calibrate against), and 2 chains at least (their
    spread is the noise of each change)."""

    tau: int = setting(PAPER_TAU, "tau", "Gibbs sweeps between saved frames (the paper's choice)", low=1)
    onset: int = setting(50, "clamp onset", "frame of each chain from which the clamp is on (0: from the "
                         "start)", low=0, cli="--clamp-onset")
    n_sigma: float = setting(3.0, "noise threshold", "a change counts when it exceeds this many standard "
                             "errors across chains", unit="SE", low=0.5, high=10.0, step=0.5)


# ---------------------------------------------------------------------------------------------- couplings


@dataclass(frozen=True)
class CouplingsConfig(Config):
    """A model's effective couplings (``analysis.couplings``) and their area matrix (``analysis.areas``)."""

    min_units: int = setting(30, "minimum units per area", "areas with fewer units are left out of the area "
                             "matrix J_AB, the histograms and the area table", low=1, cli="--min-area-units")
    triplets: int = setting(0, "number of triplets", "also find the K strongest three-body couplings J_ijk "
                            "among candidate triplets (0: none)", low=0)
    reliable_t: float = setting(3.0, "reliability threshold", "how many standard errors make a number stand "
                                "out of the replicates' noise: a pair is reliable when its |mean J_ij| over "
                                "replicate models is at least this many (its t), two sessions' J_AB differ "
                                "when |z| is (docs/couplings.md)", unit="SE", low=0, low_open=True, step=0.5)
    device: str = setting("auto", "device", "where to compute: auto takes a CUDA GPU when there is one",
                          choices=("auto", "cpu", "cuda"))


# ---------------------------------------------------------------------------------------------- analyses


@dataclass(frozen=True)
class SpectrumConfig(Config):
    """The cross-validated PC variance spectrum (``analysis.spectrum``)."""

    block_ms: float = setting(100.0, "block length", "the two halves of cvPCA are interleaved time blocks of "
                              "this length (what persists over a block counts as shared)", unit="ms", low=0,
                              low_open=True)
    halves: str = setting("blocks", "halves", "how cvPCA's two halves are made: blocks (interleaved time "
                          "blocks of the block length) or repeats (the raster's segments are repeated trials "
                          "of one stimulus: the mean of the even trials against the mean of the odd ones)",
                          choices=("blocks", "repeats"))
    first_rank: int = setting(11, "first rank", "the power law is fitted from this rank up to N/2", low=1)
    min_area_units: int = setting(100, "minimum units per area", "areas with at least this many units get a "
                                  "spectrum of their own", low=2)


@dataclass(frozen=True)
class DMDConfig(Config):
    """Dynamic mode decomposition of activity in time (``analysis.dmd``)."""

    pcs: int = setting(20, "principal components", "DMD fits the one-frame linear map of the activity's top "
                       "PCs", low=1)


@dataclass(frozen=True)
class MultiInfoConfig(Config):
    """The multi-information ratio I2/IN over random groups (``analysis.multiinfo``)."""

    group_size: int = setting(10, "group size", "units per group (the pairwise model is fitted by "
                              "enumerating 2^n states)", low=2, high=15)
    groups: int = setting(100, "groups", "random groups of units; the ratio's mean and spread are over them",
                          low=1)
    seed: int = setting(0, "seed", "draws the groups and the entropy subsamples", low=0)


@dataclass(frozen=True)
class HeatConfig(Config):
    """The heat capacity C(T) of a fitted model (``analysis.heat``)."""

    t_min: float = setting(0.5, "lowest temperature", "T = 1 is the fitted model", low=0, low_open=True)
    t_max: float = setting(2.0, "highest temperature", "T = 1 is the fitted model", low=0, low_open=True)
    steps: int = setting(31, "temperatures", "points of the temperature grid, both ends included", low=1)
    sweeps: int = setting(400, "Monte Carlo steps", "steps of every chain (models beyond 20 units; the first "
                          "quarter is discarded)", low=4)
    chains: int = setting(16, "chains per temperature", "independent chains at each temperature", low=1)
    seed: int = setting(0, "seed", "seeds the Monte Carlo and the subsets", low=0)
    subsets: tuple[int, ...] | None = setting(None, "subset sizes", "also C(T) of random subsets of the "
                                              "recording's units of these sizes (2 to 15, comma separated, "
                                              "e.g. 5, 10, 15): a pairwise model fitted to each, exact",
                                              none="no subsets")
    subset_draws: int = setting(5, "subsets per size", "random subsets of each size", low=1)


@dataclass(frozen=True)
class EIConfig(Config):
    """Seed 004's E/I experiment (``analysis.ei_experiment``); the two models train with a TrainConfig."""

    frames: int = setting(20000, "generated frames", "frames generated from each model (Gibbs sampling in "
                          "time from training frames, tau and chains as the Generate defaults) for its P(K) "
                          "of the excitatory units", low=1, step=1000)


@dataclass(frozen=True)
class MaxEntConfig(Config):
    """The pairwise maximum-entropy (Ising) fit (``analysis.maxent``) and its test log-likelihood by AIS."""

    l2: float | None = setting(None, "L2 penalty", "weight of (l2 / 2) sum J_ij^2 subtracted from the mean "
                               "log-(pseudo)likelihood per frame: keeps couplings of pairs that never fire "
                               "together finite; auto (empty): the one of 0.1, 0.03, ... 1e-5 whose "
                               "pseudolikelihood fit best predicts a fifth of the training frames held out",
                               low=0, none="auto")
    pl_iterations: int = setting(100, "pseudolikelihood iterations", "L-BFGS iterations of the "
                                 "pseudolikelihood fit (Aurell & Ekeberg 2012), the starting point", low=1)
    updates: int = setting(300, "moment-matching updates", "updates of the refinement that matches the "
                           "model's means and pair moments, estimated from persistent Gibbs chains, to the "
                           "data's (0: the pseudolikelihood fit alone)", low=0, step=100)
    frames: int = setting(0, "training frames fitted", "at most this many of the training frames, evenly "
                          "spaced, make the fit (0 = all): the pseudolikelihood's cost grows with them",
                          low=0, step=10_000)
    minutes: float = setting(0.0, "time budget", "wall time for the fit (pseudolikelihood and moment "
                             "matching; the AIS comes after it): the refinement stops when it is spent "
                             "(0 = none)", unit="min", low=0, step=1.0)
    chains: int = setting(1000, "number of persistent chains", "Gibbs chains that estimate the model's "
                          "moments during the refinement", low=2, step=100)
    sweeps: int = setting(1, "Gibbs sweeps per update", "sweeps of every unit of every chain between "
                          "updates", low=1)
    lr: float = setting(0.05, "learning rate", "step of the refinement along its gradient, each parameter's "
                        "scaled by the inverse of its Fisher information for independent units (it decays as "
                        "lr / sqrt(1 + update / 100))", low=0, low_open=True, step=0.01)
    ais_chains: int = setting(500, "number of AIS chains", "chains of the AIS that estimates log Z for the "
                              "test log-likelihood (of the pairwise model, and of the RBM given to compare)",
                              low=2, step=100)
    ais_betas: int = setting(1000, "number of AIS temperatures", "inverse temperatures of that AIS, one "
                             "Gibbs sweep at each", low=2, step=100)
    seed: int = setting(0, "seed", "seeds the chains and the AIS", low=0)
    device: str = setting("auto", "device", "auto (a GPU when there is one), cpu, cuda or mps",
                          choices=DEVICES)
