"""wrapping.text_height: the height QLabel itself gives a wrapped text, framed or not, at any width."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QFrame, QLabel

from napari_neurorbm._qt.wrapping import text_height

TEXT = ("steinmetz2019_forssmann_2017-11-01: no unit has a spike waveform width, so all 1726 units are of "
        "unknown class and none is E or I (the source gives no waveform widths; phy, Allen and NWB sources "
        "can)")


@pytest.mark.parametrize("frame", [QFrame.Shape.NoFrame, QFrame.Shape.Box])
def test_the_measured_height_is_qlabels_own(qtbot, frame):
    label = QLabel(TEXT, wordWrap=True)
    label.setFrameShape(frame)
    qtbot.addWidget(label)
    for width in range(200, 700, 7):
        label.resize(width, 40)
        assert text_height(label) == label.heightForWidth(width), width
