"""hjexp — reproduce, test and extend 'The Hamilton–Jacobi Theory of Deep Learning'.

Public API: ``hjexp.engine`` (the two model forms, closed forms, the fused batched trainer),
``hjexp.claims`` (claim kinds, slope statistics, judging saved runs), ``hjexp.data`` (synthetic
sets, targets, offline image data sets).
"""

__version__ = "0.1.0"
