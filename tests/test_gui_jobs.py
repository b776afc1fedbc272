"""The docks' one job runner: each outcome (done, stopped, failed by a NeuroRBMError or by any other error),
results never reaching a closed dock, and one napari progress bar per stage."""

from __future__ import annotations

import time

import pytest
from qtpy.QtWidgets import QPushButton, QVBoxLayout, QWidget

from napari_neurorbm._qt import jobs
from napari_neurorbm._qt.jobs import JobRunner, one_line
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress

pytestmark = pytest.mark.gui


class Dock(QWidget):
    """A dock with a Run button and the runner's bar and message line; it records what reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.button = QPushButton("Run")
        self.failed: list[str] = []
        self.runner = JobRunner(self, self.button, what="the test job", on_failed=self.failed.append)
        layout = QVBoxLayout(self)
        for w in (self.button, self.runner.bar, self.runner.message):
            layout.addWidget(w)
        self.done: list = []

    def run(self, job) -> None:
        self.runner.start(job, "Working…", self.done.append)


@pytest.fixture
def dock(qtbot) -> Dock:
    widget = Dock()
    qtbot.addWidget(widget)
    return widget


def steps(n: int, stage: str = "work", pause: float = 0.0, result=None, error: Exception | None = None):
    for i in range(n):
        time.sleep(pause)
        yield Progress(stage, i + 1, n)
    if error is not None:
        raise error
    return result


def wait_idle(qtbot, dock: Dock) -> None:
    qtbot.waitUntil(lambda: not dock.runner.running, timeout=10_000)


def test_done_delivers_the_result(dock, qtbot) -> None:
    dock.run(steps(3, result=42))
    assert dock.button.text() == "Stop"
    wait_idle(qtbot, dock)
    assert dock.done == [42] and dock.runner.outcome.kind == "done" and dock.runner.bar.value() == 1000
    assert dock.button.text() == "Run" and not dock.failed


def test_stop_ends_at_the_next_yield_with_nothing_delivered(dock, qtbot) -> None:
    dock.run(steps(10_000, pause=0.005, result="late"))
    qtbot.waitUntil(lambda: dock.runner.bar.value() > 0, timeout=10_000)
    dock.runner.toggle(lambda: pytest.fail("a job is running: the click stops it"))
    wait_idle(qtbot, dock)
    assert dock.runner.outcome.kind == "stopped" and dock.done == [] and not dock.failed
    assert dock.runner.message.text() == "Stopped: nothing was added." and dock.button.text() == "Run"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (NeuroRBMError("the model has 5 visible units"), "the model has 5 visible units"),
        (RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB"),
         "the test job failed: CUDA out of memory."),
        (ValueError(), "the test job failed: ValueError"),
    ],
)
def test_any_error_inside_the_job_is_a_one_line_failure(dock, qtbot, notifications, error, message) -> None:
    dock.run(steps(2, error=error))
    wait_idle(qtbot, dock)
    assert dock.runner.outcome.kind == "failed" and dock.runner.outcome.message == message
    assert dock.failed == [message] and dock.done == [] and dock.runner.message.text() == message
    assert [str(n.message) for n in notifications] == [message]
    assert "Traceback" not in message and "Stopped" not in dock.runner.message.text()


def test_one_line_keeps_a_neurorbm_message_and_takes_the_first_line_of_others() -> None:
    assert one_line(NeuroRBMError("bad\ninput"), "x") == "bad input"
    assert one_line(RuntimeError("\n  first\nsecond"), "Generate") == "Generate failed: first"


def test_a_closed_dock_gets_no_result(qtbot) -> None:
    dock = Dock()
    delivered = []

    def job():
        yield Progress("work", 0, 1)
        time.sleep(0.5)  # no yield: the job ends and returns although its dock is gone
        return "result"

    dock.runner.start(job(), "Working…", delivered.append)
    worker = dock.runner.worker
    finished = []
    worker.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: worker.is_running, timeout=10_000)
    dock.deleteLater()
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    qtbot.wait(50)
    assert delivered == [] and worker.abort_requested


def test_one_napari_bar_per_stage_each_closed_before_the_next(dock, qtbot, monkeypatch) -> None:
    import napari.utils

    events: list[tuple[str, str]] = []

    class Recorded(napari.utils.progress):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            events.append(("open", kwargs["desc"]))

        def close(self) -> None:
            events.append(("close", self.desc))
            super().close()

    monkeypatch.setattr(napari.utils, "progress", Recorded)

    def job():
        yield from steps(3, stage="generating", pause=0.15)
        yield Progress("statistics", 0, 0, "comparing")  # a stage of unknown length: busy, not 0 %
        time.sleep(0.3)
        return "ok"

    busy = []
    dock.runner.start(job(), "Working…", dock.done.append,
                      on_progress=lambda p: busy.append(dock.runner.bar.maximum() == 0))
    wait_idle(qtbot, dock)
    assert dock.done == ["ok"]
    assert [e for e in events if e[0] == "open"] == [("open", "generating"), ("open", "statistics")]
    assert events.index(("close", "generating")) < events.index(("open", "statistics"))
    assert events[-1][0] == "close" and busy[-1] and not any(busy[:-1])
    assert dock.runner.stages.bar is None


def test_throttle_keeps_every_record_with_a_payload() -> None:
    seen = []
    throttle = jobs.Throttle(seen.append, interval_s=60.0)
    for i in range(5):
        throttle.forward(Progress("train", i, 10, payload={"update": i}))
        throttle.forward(Progress("train", i, 10))
    assert [p.done for p in seen if p.payload] == [0, 1, 2, 3, 4] and len(seen) == 5
