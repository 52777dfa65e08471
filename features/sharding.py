"""The Dask engine's data: a directory read by the workers and split into shards of whole
patient groups, so that every patient- and authorization-keyed history lies in one shard.

`read_shards` is how the Dask commands read a directory. The driver never holds the claim
tables: each worker reads one partition folder's parts (a service month, see
`data_contracts.writer.write_partitioned`) with the contract reader, and only the claims'
four key columns come to the driver, which finds the patient groups (`shard_of_claims`).
Each worker then cuts its month into per-shard pieces, and each shard joins its pieces
from every month. The reference tables (authorizations, eligibility: per patient, small)
are read by the driver and dealt to the shards whose claims can match them.

Row order is kept: each part's tables are indexed by the position the row has in one
`read_data_dir` of the directory (file order), so sorting by the index gives the pandas
engine's order wherever it matters (the order of a batch's output, ties in a ranking).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from data_contracts.reader import (
    ContractData,
    ContractError,
    Problem,
    empty_table,
    isin,
    key_problems,
    read_table_part,
    table_parts,
)
from data_contracts.schemas import TABLES
from data_contracts.writer import CLAIM_TABLES

log = logging.getLogger(__name__)

CLAIMS_PER_SHARD = 250_000
"""Default shard size: a shard's pass holds a few times its claims' width in memory."""
KEY_COLUMNS = ["claim_id", "patient_id", "prior_auth_id", "original_claim_id"]
"""What the driver learns of each claim: enough to find the patient groups."""
REFERENCE_TABLES = ("authorizations", "eligibility")
CHILD_TABLES = tuple(name for name in CLAIM_TABLES if name != "claims")


def shard_of_claims(claims: pd.DataFrame, partitions: int) -> np.ndarray:
    """Each claim's shard: patients linked by an authorization number they share, or by a
    replacement naming another patient's claim, land in the same shard.

    Patients and authorization numbers are the nodes of a graph, each claim an edge
    between its patient and its authorization (and its original's patient); the
    connected groups are dealt round-robin over the shards.
    """
    patient, patients = pd.factorize(claims["patient_id"])
    named = claims["prior_auth_id"].notna().to_numpy()
    auth, _ = pd.factorize(claims.loc[named, "prior_auth_id"])
    original_patient = (
        pd.Series(patient, index=claims["claim_id"].to_numpy())
        .reindex(claims["original_claim_id"].to_numpy())
        .to_numpy()
    )
    replaces = ~np.isnan(original_patient)
    rows = np.concatenate([patient[named], patient[replaces]])
    cols = np.concatenate([auth + len(patients), original_patient[replaces].astype(np.int64)])
    nodes = len(patients) + (auth.max() + 1 if len(auth) else 0)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(nodes, nodes))
    _, group = connected_components(graph, directed=False)
    return (group[patient] % partitions).astype(np.int64)


class KeyShards:
    """The shard of each value of a claim key column (all claims with a value share one):
    the column factorized once, for several lookups."""

    def __init__(self, keys: pd.Series, shard: np.ndarray) -> None:
        codes, uniques = pd.factorize(keys)
        self.per_key = np.full(len(uniques), -1, np.int64)
        self.per_key[codes[codes >= 0]] = shard[codes >= 0]
        self.uniques = pa.array(uniques, pa.string())

    def __call__(self, lookup: pd.Series) -> np.ndarray:
        """Each value's shard, or -1 where no claim has it."""
        # Arrow's hash lookup: pandas' get_indexer on strings goes through Python objects
        found = pc.index_in(pa.array(lookup, pa.string()), value_set=self.uniques)
        found = found.fill_null(-1).to_numpy()
        return np.where(found >= 0, self.per_key[found], -1)


def shard_of(keys: pd.Series, shard: np.ndarray, lookup: pd.Series) -> np.ndarray:
    """For each value of `lookup`, the shard of the claims whose `keys` equal it, or -1."""
    return KeyShards(keys, shard)(lookup)


def default_partitions(claims: int, workers: int) -> int:
    """One shard per `CLAIMS_PER_SHARD` claims, and at least two per worker."""
    return max(2 * workers, math.ceil(claims / CLAIMS_PER_SHARD))


def _shard_count(client: Any, claims: int, partitions: int | None) -> int:
    """`partitions` when set, else `default_partitions` for the cluster's workers."""
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    return partitions or default_partitions(claims, workers)


@dataclass
class Shards:
    """The contract data split by patient group (`shard_of_claims`), held on the cluster.

    Each part is a `ContractData` of whole claims with their lines, remits and appeals, so
    per-claim questions (is it pending, what was its outcome) are answered shard by shard.
    The reference tables are kept whole too, for the serving state."""

    client: Any
    parts: list[Any]
    """Futures of `ContractData`, one per shard."""
    authorizations: pd.DataFrame
    eligibility: pd.DataFrame
    present: frozenset[str] = field(default_factory=frozenset)
    """The tables the directory has (as `ContractData.present`)."""

    @property
    def npartitions(self) -> int:
        return len(self.parts)

    def map(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Futures of `fn(shard, *args)`, one per shard, in shard order."""
        return [self.client.submit(fn, part, *args, pure=False) for part in self.parts]

    def frames(self, fn: Callable[[ContractData], pd.DataFrame], meta: pd.DataFrame) -> Any:
        """`fn` on every shard as one Dask DataFrame: partition i comes from shard i."""
        import dask.dataframe as dd

        return dd.from_delayed(self.map(fn), meta=meta, verify_meta=False)


def _groups(directory: Path) -> list[dict[str, list[Path]]]:
    """The claim tables' parts by partition folder (a service month), in the order the
    contract reader reads them: a table's single file, and parts at a table's root, are in
    the first group. Concatenating the groups in order gives every table in file order."""
    groups: dict[str, dict[str, list[Path]]] = {}
    for name in CLAIM_TABLES:
        for part in table_parts(directory, name):
            folder = "/".join(part.relative_to(directory).parts[1:-1])
            groups.setdefault(folder, {}).setdefault(name, []).append(part)
    return [groups[folder] for folder in sorted(groups)]


def _read_group(parts: dict[str, list[Path]]) -> dict[str, pd.DataFrame]:
    """One partition folder's claim tables, typed and checked (`ContractError` naming the
    part otherwise)."""
    frames = {}
    for name in CLAIM_TABLES:
        read = [read_table_part(path, name) for path in parts.get(name, [])]
        frames[name] = pd.concat(read, ignore_index=True) if read else empty_table(name)
    return frames


def _group_keys(frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, int], list]:
    """What the driver needs of a group: its claims' keys, its row counts, and the claims
    its lines, remits and appeals name that are filed in another group."""
    named = pd.concat([frames[name]["claim_id"] for name in CHILD_TABLES]).drop_duplicates()
    elsewhere = named[~isin(named, frames["claims"]["claim_id"]).to_numpy()].dropna().tolist()
    counts = {name: len(frame) for name, frame in frames.items()}
    return frames["claims"][KEY_COLUMNS], counts, elsewhere


def _pieces(
    frames: dict[str, pd.DataFrame],
    offsets: dict[str, int],
    shard: np.ndarray,
    elsewhere: pd.Series,
    partitions: int,
) -> list[dict[str, pd.DataFrame]]:
    """A group's tables cut into one piece per shard, indexed by their rows' positions in
    the directory. `shard`: the shard of each of the group's claims; `elsewhere`: the shard
    of each claim of another group its rows name. A row whose claim is unknown matches no
    claim anywhere: shard 0 keeps it."""
    frames = {
        name: frame.set_axis(pd.RangeIndex(offsets[name], offsets[name] + len(frame)))
        for name, frame in frames.items()
    }
    ids = pd.concat([frames["claims"]["claim_id"], pd.Series(elsewhere.index)], ignore_index=True)
    shards = np.concatenate([shard, elsewhere.to_numpy(np.int64)])
    of = {"claims": shard} | {
        name: np.maximum(shard_of(ids, shards, frames[name]["claim_id"]), 0)
        for name in CHILD_TABLES
    }
    return [
        {name: frame[of[name] == index] for name, frame in frames.items()}
        for index in range(partitions)
    ]


def _joined(
    references: tuple[pd.DataFrame, pd.DataFrame], present: frozenset[str], *pieces: dict
) -> ContractData:
    """One shard from its piece of every group, and the reference rows its claims match."""
    authorizations, eligibility = references
    tables = {name: pd.concat([piece[name] for piece in pieces]) for name in CLAIM_TABLES}
    return ContractData(
        **tables, authorizations=authorizations, eligibility=eligibility, present=present
    )


def _read_references(directory: Path) -> dict[str, pd.DataFrame]:
    """The authorizations and eligibility, read by the driver (they are per patient)."""
    frames = {}
    for name in REFERENCE_TABLES:
        read = [read_table_part(path, name) for path in table_parts(directory, name)]
        frames[name] = pd.concat(read, ignore_index=True) if read else empty_table(name)
    return frames


def _present(directory: Path) -> frozenset[str]:
    """The tables the directory has; a required one missing is a `ContractError`."""
    present = frozenset(name for name in TABLES if table_parts(directory, name))
    missing = [
        Problem(name, None, f"required table missing: {name}.csv or {name}.parquet")
        for name, table in TABLES.items()
        if table.required and name not in present
    ]
    if missing:
        raise ContractError(str(directory), missing)
    return present


def _strays(keys: pd.DataFrame, shard: np.ndarray, known: list[tuple]) -> list[pd.Series]:
    """For each group (`_group_keys`), the shard of each claim of another group its rows
    name, indexed by that claim: all groups' in one lookup, none when no row strays."""
    named = [elsewhere for _, _, elsewhere in known]
    ids = pd.Series([claim for group in named for claim in group], dtype="string")
    found = shard_of(keys["claim_id"], shard, ids) if len(ids) else np.empty(0, np.int64)
    ends = list(accumulate(len(group) for group in named))
    return [
        pd.Series(found[end - len(group) : end], index=pd.Index(group, dtype="string"))
        for group, end in zip(named, ends, strict=True)
    ]


def _reference_split(
    keys: pd.DataFrame, shard: np.ndarray, references: dict[str, pd.DataFrame], partitions: int
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each shard's authorizations (by the number its claims send, or by their patient) and
    eligibility (by patient)."""
    authorizations, eligibility = references["authorizations"], references["eligibility"]
    of_patient = KeyShards(keys["patient_id"], shard)
    by_patient = of_patient(authorizations["patient_id"])
    by_number = shard_of(keys["prior_auth_id"], shard, authorizations["auth_id"])
    of_eligibility = of_patient(eligibility["patient_id"])
    return [
        (
            authorizations[(by_patient == index) | (by_number == index)],
            eligibility[of_eligibility == index],
        )
        for index in range(partitions)
    ]


def read_shards(directory: str | Path, client: Any, partitions: int | None = None) -> Shards:
    """The contract data of `directory`, read on the cluster and split into shards.

    Every part is typed and checked as the contract reader checks it; a bad part is a
    `ContractError` naming it, and so is a claim id in two parts (rows counted in the
    directory's claims). Other rules between rows of different parts or tables (another
    table's key repeated across months, a remit naming no claim) are the pandas reader's:
    this one keeps such rows where the pandas engine would see them, and sets none aside.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ContractError(str(directory), [Problem("-", None, "data directory does not exist")])
    present = _present(directory)
    groups = [client.submit(_read_group, parts) for parts in _groups(directory)]
    known = client.gather([client.submit(_group_keys, group) for group in groups])
    keys = pd.concat([group_keys for group_keys, _, _ in known], ignore_index=True)
    repeated = key_problems("claims", keys)  # a claim id filed in two months
    if repeated:
        raise ContractError(str(directory), repeated)
    partitions = _shard_count(client, len(keys), partitions)
    shard = shard_of_claims(keys, partitions)
    offsets = [
        dict(zip(CLAIM_TABLES, at, strict=True))
        for at in accumulate(
            ([counts[name] for name in CLAIM_TABLES] for _, counts, _ in known[:-1]),
            lambda a, b: [x + y for x, y in zip(a, b, strict=True)],
            initial=[0] * len(CLAIM_TABLES),
        )
    ]
    starts = [offset["claims"] for offset in offsets]
    pieces = [
        client.submit(
            _pieces, group, offset, shard[start : start + len(group_keys)], strays, partitions
        )
        for group, offset, start, (group_keys, _, _), strays in zip(
            groups, offsets, starts, known, _strays(keys, shard, known), strict=True
        )
    ]
    del groups  # each month's tables are freed once cut
    references = _read_references(directory)
    split = client.scatter(_reference_split(keys, shard, references, partitions))
    parts = [
        client.submit(
            _joined, split[index], present, *[client.submit(itemgetter(index), p) for p in pieces]
        )
        for index in range(partitions)
    ]
    log.info("dask: %d claims of %s in %d shards", len(keys), directory, partitions)
    return Shards(client, parts, references["authorizations"], references["eligibility"], present)


def split_data(data: ContractData, partitions: int) -> list[ContractData]:
    """`data` (already read) cut as `read_shards` cuts a directory: for tests and for data
    that is in memory anyway."""
    keys = data.claims[KEY_COLUMNS]
    shard = shard_of_claims(keys, partitions)
    frames = {name: getattr(data, name) for name in CLAIM_TABLES}
    pieces = _pieces(
        frames, dict.fromkeys(CLAIM_TABLES, 0), shard, pd.Series(dtype="int64"), partitions
    )
    references = _reference_split(
        keys, shard, {n: getattr(data, n) for n in REFERENCE_TABLES}, partitions
    )
    return [
        _joined(refs, data.present, piece) for refs, piece in zip(references, pieces, strict=True)
    ]


def shard_data(data: ContractData, client: Any, partitions: int | None = None) -> Shards:
    """`data`, already read by the driver, split into shards and handed to the cluster's
    workers: `read_shards` for data that is in memory anyway (tests, small directories)."""
    partitions = _shard_count(client, len(data.claims), partitions)
    parts = client.scatter(split_data(data, partitions))
    log.info("dask: %d claims in %d shards", len(data.claims), partitions)
    return Shards(client, parts, data.authorizations, data.eligibility, data.present)
