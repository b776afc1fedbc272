"""Analyses of data and of trained models: statistics, generation, effective couplings, brain areas."""
