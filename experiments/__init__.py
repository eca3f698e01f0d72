"""hjexp's experiments: one module per claim family, loaded as ``hjexp_experiments``.

Each module defines NAME-less metadata (the file name gives the CLI name, ``_`` -> ``-``):
``CLAIM`` (one line), ``COST`` (rough time per profile), optional ``DEFAULT_DTYPE`` and
``validate(params)``, and the two entry points ``run(ctx)`` and ``plot(run_dir)``.
"""
