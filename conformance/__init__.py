"""Conformance checks for wrapgrad: ``python -m conformance``.

Runs the standard's own test suite (data-apis/array-api-tests) on each raw backend and on
wrapgrad over it and compares the two test by test, then runs the gradient matrix. See
``conformance/README.md``. Importing this package imports no array library.
"""
