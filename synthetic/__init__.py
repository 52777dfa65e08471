"""Synthetic behavioral-health claims with known denial mechanisms, for development and evaluation.

`truth.csv` written beside the contract tables is for evaluation only: nothing
in `features/` or `training/` may import this package (import-linter enforces it).
"""

from synthetic.generator import SyntheticData, generate, generate_chunks
from synthetic.output import write_synthetic, write_synthetic_chunks
from synthetic.scenarios import SCENARIOS

__all__ = [
    "SCENARIOS",
    "SyntheticData",
    "generate",
    "generate_chunks",
    "write_synthetic",
    "write_synthetic_chunks",
]
