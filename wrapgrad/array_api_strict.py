"""wrapgrad over array-api-strict: ``import wrapgrad.array_api_strict as xp``.

This module replaces itself in ``sys.modules`` with the namespace that ``wrapgrad.namespace`` builds.
"""

import sys

import array_api_strict

from ._namespace import namespace

sys.modules[__name__] = namespace(array_api_strict)
