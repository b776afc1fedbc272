import sys

from napari_neurorbm.cli import main

sys.exit(main())
