"""Test configuration: hypothesis profiles ("ci": reproducible and bounded; "dev": more examples),
selected by the HYPOTHESIS_PROFILE environment variable (default "ci")."""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
