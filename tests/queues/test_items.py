"""Work items from a data directory: billing's hard rules first, then the models' estimates;
and, against the synthetic truth, an order that recovers what the hours allow."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from data_contracts.reader import read_data_dir
from data_contracts.writer import write_table
from data_contracts.x12.ingest import ingest
from data_contracts.x12.write import write_x12
from features.pipeline import day_after_latest
from queues.deadlines import learn_deadlines
from queues.items import open_denials, work_items
from queues.policy import PayerOverride, default_policy
from queues.ranking import rank_items
from queues.simulate import simulate


def _with_remits(data, claim_ids, **values):
    remits = data.remits.copy()
    rows = remits["claim_id"].isin(claim_ids)
    for column, value in values.items():
        remits.loc[rows, column] = value
    return dataclasses.replace(data, remits=remits)


def _denied_ids(data, category: str, n: int = 5) -> list[str]:
    denials = open_denials(data)
    return denials.loc[denials["denial_category"] == category, "claim_id"].head(n).tolist()


def _items(data, recovery) -> pd.DataFrame:
    return work_items(data, recovery, default_policy(), day_after_latest(data)).set_index(
        "claim_id"
    )


def test_patient_responsibility_and_a_lone_co45_are_not_work_items(queue_data) -> None:
    ids = _denied_ids(queue_data, "missing_auth", 4)
    changed = _with_remits(queue_data, ids[:2], carc_codes="PR-1;PR-2", rarc_codes="")
    changed = _with_remits(changed, ids[2:], carc_codes="CO-45", rarc_codes="")
    assert not set(ids) & set(open_denials(changed)["claim_id"])


def test_a_closed_appeal_closes_the_item_and_an_open_one_does_not(queue_data) -> None:
    appeals = queue_data.appeals
    closed = appeals.loc[appeals["closed_date"].notna(), "claim_id"]
    pending = appeals.loc[appeals["closed_date"].isna(), "claim_id"]
    open_ids = set(open_denials(queue_data)["claim_id"])
    assert not open_ids & set(closed)
    assert set(pending) <= open_ids


@pytest.mark.parametrize(
    ("rarc", "action"), [("N211", "write_off"), ("MA130", "corrected_claim"), ("N54", "appeal")]
)
def test_no_appeal_rights_never_get_an_appeal(queue_data, recovery, rarc, action) -> None:
    ids = _denied_ids(queue_data, "medical_necessity")
    items = _items(_with_remits(queue_data, ids, rarc_codes=rarc), recovery)
    assert set(items.loc[ids, "action"]) == {action}


def test_timely_filing_is_written_off_only_past_a_limit_refusals_back_or_configured(
    queue_data, recovery
) -> None:
    """Learned: the payer's own CARC 29 refusals say how late is too late. Configured: it
    overrides, both ways."""
    ids = _denied_ids(queue_data, "timely_filing", 60)
    claims = queue_data.claims.set_index("claim_id").loc[ids]
    lag = (claims["submission_date"] - claims["service_date"]).dt.days
    filing = learn_deadlines(queue_data, default_policy()).filing
    limit = claims["payer_id"].map(lambda payer: filing[payer].write_off_days)
    items = _items(queue_data, recovery).loc[ids]
    written_off = items["action"] == "write_off"
    assert written_off.any()
    assert (written_off == (lag > limit)).all()
    assert items.loc[written_off, "hard_rule"].str.contains("day filing limit").all()

    payer = claims.loc[written_off, "payer_id"].iloc[0]
    lenient = default_policy().model_copy(
        update={"payers": {payer: PayerOverride(filing_limit_days=3650)}}
    )
    relaxed = work_items(queue_data, recovery, lenient, day_after_latest(queue_data))
    relaxed = relaxed.set_index("claim_id").loc[ids]
    of_payer = (claims["payer_id"] == payer).to_numpy()
    assert (relaxed.loc[of_payer, "action"] == "appeal").all()
    assert relaxed.loc[~of_payer, "action"].equals(items.loc[~of_payer, "action"])


def test_estimates_are_sane(queue_data, recovery) -> None:
    items = _items(queue_data, recovery)
    worked = items["action"].isin(["appeal", "corrected_claim", "rebill"])
    assert items.loc[worked, "p_recover"].between(0, 1).all()
    assert (items.loc[~worked, "p_recover"] == 0).all()
    assert (items["recoverable_amount"] >= 0).all()
    billed = queue_data.remits.set_index("claim_id")["billed_amount"]
    assert items["billed_amount"].tolist() == billed.loc[items.index].tolist()
    assert (items["effort_minutes"] > 0).all()
    assert (items["deadline_day"] > items["received_day"]).all()


def test_each_item_carries_its_claims_patient_program_clinician_and_remit_codes(
    queue_data, recovery
) -> None:
    items = _items(queue_data, recovery)
    claims = queue_data.claims.set_index("claim_id").loc[items.index]
    remits = queue_data.remits.set_index("claim_id").loc[items.index]
    assert items["patient_id"].tolist() == claims["patient_id"].tolist()
    assert items["program"].tolist() == claims["program"].tolist()
    assert items["clinician_id"].tolist() == claims["rendering_provider_id"].tolist()
    assert items["carc_codes"].tolist() == remits["carc_codes"].tolist()
    assert items["rarc_codes"].fillna("").tolist() == remits["rarc_codes"].fillna("").tolist()


def test_the_policy_order_recovers_near_the_oracle_and_beats_balance_first(
    queue_data, queue_synthetic, recovery
) -> None:
    """Held out: truth.csv values the orders, never the ranking. 40 hours per 1,000 denials."""
    ranked = rank_items(_items(queue_data, recovery).reset_index(), default_policy())
    truth = queue_synthetic.truth.set_index("claim_id").loc[ranked["claim_id"]]
    value = truth["p_recover"].to_numpy() * ranked["recoverable_amount"].to_numpy()
    deadline = ranked["received_day"].to_numpy() + truth["appeal_window_days"].to_numpy()
    result = simulate(
        ranked, 40 * len(ranked) / 1000, truth["effort_minutes"].to_numpy(), value, deadline
    ).summary["recovered"]
    assert result["policy"] >= 0.9 * result["oracle"]
    assert result["policy"] >= 1.3 * result["highest_balance"]


def test_denials_from_ingested_835s_reach_the_queue_with_the_guardrails(
    queue_data, recovery, tmp_path
) -> None:
    """The clinic's EDI files in, the same open denials out; N211 still never appealed."""
    ids = _denied_ids(queue_data, "medical_necessity")
    data = _with_remits(queue_data, ids, rarc_codes="N211")
    tables = data.tables()
    x12 = write_x12(tmp_path / "x12", tables)
    out = tmp_path / "data"
    for name in ("authorizations", "eligibility", "appeals"):
        write_table(out, name, tables[name])
    assert not ingest(x12, out).set_aside
    ingested = read_data_dir(out)
    columns = ["claim_id", "denial_category"]
    expected = open_denials(data)[columns].sort_values("claim_id", ignore_index=True)
    assert (
        open_denials(ingested)[columns].sort_values("claim_id", ignore_index=True).equals(expected)
    )
    assert set(_items(ingested, recovery).loc[ids, "action"]) == {"write_off"}
