"""hjexp's experiments: one package per claim family, loaded as ``hjexp_experiments``.

Each package ``experiments/<stem>/`` (CLI name: the stem with ``_`` -> ``-``) has three stages —
``measure.py`` (``measure(ctx)``: computes, writes CSVs), ``judge.py`` (``CLAIMS``, the catalogue,
and ``judge(run)``: CSVs -> claim rows) and ``plot.py`` (``plot(run_dir)``: CSVs -> figures) — and
an ``__init__`` exporting those with ``CLAIM`` (one line), ``COST`` (measured wall time per
profile), optional ``DEFAULT_DTYPE`` and ``validate(params)``. Its knobs live in
configs/experiment/<name>.yaml.
"""
