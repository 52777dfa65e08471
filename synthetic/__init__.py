"""Synthetic behavioral-health claims with known denial mechanisms, for development and evaluation.

`truth.csv` written beside the contract tables is for evaluation only: nothing
in `features/` or `training/` may import this package (import-linter enforces it).
"""

from synthetic.generator import SyntheticData, generate
from synthetic.output import write_synthetic
from synthetic.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SyntheticData", "generate", "write_synthetic"]
