"""hjexp — reproduce, test and extend 'The Hamilton–Jacobi Theory of Deep Learning'.

Public engine API: ``hjexp.lse`` (closed forms), ``hjexp.ensemble`` (stacked models),
``hjexp.train`` (batched Adam, L-BFGS polish), ``hjexp.fitting`` (slopes with intervals).
"""

__version__ = "0.1.0"
