"""The cycle model of the generated accelerator (`build.py perf`): cycles and per-block action
counts of one job predicted from the golden masks, validated against the C++ harness
(tests/test_perf.py). `predict(profile, hw)` is the entry point."""

from .model import MODEL_ERROR, MODEL_SOURCE, predict
from .profile import Profile, profile_from_inputs, profile_from_outputs

__all__ = ["MODEL_ERROR", "MODEL_SOURCE", "predict", "Profile", "profile_from_inputs", "profile_from_outputs"]
