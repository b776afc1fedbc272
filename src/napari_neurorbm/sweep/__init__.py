"""Many trainings as one sweep: over hidden units, seeds, learning rates, rasters and halves of the
training frames, run on Dask (an embedded LocalCluster or an existing scheduler), into one folder
(see :mod:`.folder`)."""
