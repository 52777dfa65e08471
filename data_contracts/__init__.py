"""The external data contract (`shared/CONTRACT.md`): schemas, reader, writer, code lists.

This package imports nothing else of ours, so every other layer can depend on it.
"""

from data_contracts.denials import denial_category, is_denied, remit_denial_categories
from data_contracts.reader import ContractData, ContractError, Problem, read_data_dir
from data_contracts.schemas import TABLES
from data_contracts.writer import write_data_dir

__all__ = [
    "TABLES",
    "ContractData",
    "ContractError",
    "Problem",
    "denial_category",
    "is_denied",
    "read_data_dir",
    "remit_denial_categories",
    "write_data_dir",
]
