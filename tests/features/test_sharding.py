"""`read_shards`: a directory read by the workers, split by patient group, in file order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_contracts.reader import ContractData, ContractError, read_data_dir, table_parts
from data_contracts.writer import CLAIM_TABLES, write_table
from features.sharding import Shards, read_shards, shard_of_claims, split_data
from synthetic import generate_chunks, write_synthetic_chunks

SHARDS = 3


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 claims in three chunks, partitioned by service month: some 170 parts, each
    read and checked on a worker in every read here (3,000 claims made 240, for nothing
    these tests see more)."""
    out = tmp_path_factory.mktemp("partitioned")
    write_synthetic_chunks(generate_chunks(1_500, seed=5, chunk_claims=500), out, 500)
    return out


@pytest.fixture(scope="module")
def shards(partitioned: Path, dask_client) -> Shards:
    """`partitioned` read by the workers once, the costliest step here: the tests of that
    read share it."""
    return read_shards(partitioned, dask_client, SHARDS)


def gathered(shards: Shards) -> dict[str, pd.DataFrame]:
    """Every shard's tables put together again, in the directory's row order."""
    parts = shards.client.gather(shards.parts)
    return {
        name: pd.concat([getattr(part, name) for part in parts]).sort_index()
        for name in CLAIM_TABLES
    }


def assert_claims_whole(shards: Shards) -> None:
    """Each claim's lines, remits and appeals are in the claim's own shard."""
    for part in shards.client.gather(shards.parts):
        for name in ("claim_lines", "remits", "appeals"):
            assert getattr(part, name)["claim_id"].isin(part.claims["claim_id"]).all(), name


def test_read_shards_holds_the_directory_in_file_order(partitioned: Path, shards: Shards) -> None:
    whole = read_data_dir(partitioned)

    assert shards.npartitions == SHARDS
    assert shards.present == whole.present
    for name, frame in gathered(shards).items():
        pd.testing.assert_frame_equal(frame, getattr(whole, name), obj=name)
    pd.testing.assert_frame_equal(shards.authorizations, whole.authorizations)
    assert_claims_whole(shards)


def test_read_shards_cuts_as_split_data_does(partitioned: Path, shards: Shards) -> None:
    """The in-memory split (`shard_data`) and the workers' read give the same shards."""
    expected = split_data(read_data_dir(partitioned), SHARDS)

    got = shards.client.gather(shards.parts)

    for mine, theirs in zip(got, expected, strict=True):
        for name in ("claims", "remits", "authorizations", "eligibility"):
            pd.testing.assert_frame_equal(getattr(mine, name), getattr(theirs, name), obj=name)


def test_rows_filed_apart_from_their_claim_follow_it(
    partitioned: Path, tmp_path: Path, dask_client
) -> None:
    """Remits in one file while their claims are partitioned by month: each still lands
    in its claim's shard, and its claim's features see it."""
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    whole = read_data_dir(partitioned)
    for path in partitioned.iterdir():
        if path.name != "remits.parquet":
            (mixed / path.name).symlink_to(path)
    write_table(mixed, "remits", whole.remits, "parquet")

    shards = read_shards(mixed, dask_client, SHARDS)

    pd.testing.assert_frame_equal(gathered(shards)["remits"], whole.remits)
    assert_claims_whole(shards)


def test_a_bad_part_fails_naming_the_part(partitioned: Path, tmp_path: Path, dask_client) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in partitioned.iterdir():
        (broken / path.name).symlink_to(path)
    (broken / "claim_lines.parquet").unlink()
    source = table_parts(partitioned, "claim_lines")[-1]
    target = broken / source.relative_to(partitioned)
    target.parent.mkdir(parents=True)
    table = pq.read_table(source)
    pq.write_table(table.drop_columns(["units"]), target)

    with pytest.raises(ContractError) as info:
        read_shards(broken, dask_client, SHARDS)

    assert str(target) in str(info.value)
    assert "units" in str(info.value)


def test_a_claim_id_filed_in_two_months_is_named(
    partitioned: Path, tmp_path: Path, dask_client
) -> None:
    """Each part passes its own checks; the claim key is checked across them, as the pandas
    reader checks it over the whole table."""
    twice = tmp_path / "twice"
    twice.mkdir()
    for path in partitioned.iterdir():
        (twice / path.name).symlink_to(path)
    (twice / "claims.parquet").unlink()
    parts = table_parts(partitioned, "claims")
    for part in parts:
        target = twice / part.relative_to(partitioned)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(part)
    first = pq.read_table(parts[0]).slice(0, 1)
    pq.write_table(first, (twice / parts[-1].relative_to(partitioned)).with_name("again.parquet"))

    with pytest.raises(ContractError) as info:
        read_shards(twice, dask_client, SHARDS)

    assert "duplicate key (claim_id)" in str(info.value)
    assert first.column("claim_id")[0].as_py() in str(info.value)


def test_a_missing_required_table_is_named(tmp_path: Path, dask_client) -> None:
    with pytest.raises(ContractError, match="required table missing: claims"):
        read_shards(tmp_path, dask_client, SHARDS)


def test_split_data_keeps_every_row_once(parity_data: ContractData) -> None:
    parts = split_data(parity_data, 4)
    shard = shard_of_claims(parity_data.claims, 4)
    for index, part in enumerate(parts):
        assert part.claims.index.equals(parity_data.claims.index[shard == index])
    for name in CLAIM_TABLES:
        assert sum(len(getattr(part, name)) for part in parts) == len(getattr(parity_data, name))
