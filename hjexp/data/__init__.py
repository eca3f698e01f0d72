"""Data: synthetic generators (seeded by explicit torch generators) and offline data sets.

- ``manifolds``: boxes and d_int-dimensional manifolds in D-dimensional space (scaling-dim)
- ``targets``:   regression targets and Hopf–Lax/Hopf–Cole solutions (rate-sweep)
"""
