"""What the runtime raises while scoring, so front ends need not know which inputs can fail how."""

from __future__ import annotations


class Refused(ValueError):
    """The estimator refused rows that passed the input schema's validation (a tabular frame
    whose values its pipeline cannot take): the caller's rows, not the model, are at fault."""
