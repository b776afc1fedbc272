"""Qt images (a pyqtgraph figure rendered off screen, a widget's grab) written as PNG files through
:mod:`napari_neurorbm.atomic`, so that a figure on disk is the old one or the whole new one."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QBuffer, QByteArray, QIODevice
from qtpy.QtGui import QImage, QPixmap

from napari_neurorbm.atomic import write_atomically
from napari_neurorbm.errors import NeuroRBMError


def save_png(image: QImage | QPixmap, path: str | Path, what: str = "figure") -> Path:
    """``image`` as a PNG at ``path``, atomically; a one-line NeuroRBMError when Qt cannot encode it or the
    file cannot be written."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    encoded = image.save(buffer, "PNG")
    buffer.close()
    if not encoded:
        raise NeuroRBMError(f"cannot encode the {what} {path} as PNG")
    payload = bytes(data)
    return write_atomically(path, lambda fh: fh.write(payload), what)
