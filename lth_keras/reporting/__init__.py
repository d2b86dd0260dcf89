"""Figures and the cross-run report: plots of accuracy against density,
sparsity, multiply-adds and instability, and ``report.md`` / ``report.csv``
gathered from run directories, each procedure declaring its own rows."""
