"""The row path (`features.online`) gives the batch path's features, bit for bit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from data_contracts.denials import split_list
from data_contracts.reader import ContractData
from data_contracts.records import tables_from_records
from features.catalog import CATEGORICAL, FEATURES
from features.claim_level import line_summary
from features.online import features_for_records, timed_code
from features.pipeline import build_state, features_for_claims
from features.state import FeatureState

NAMES = [feature.name for feature in FEATURES]


def _value(value: Any) -> Any:
    return None if pd.isna(value) else value


def records(claims: pd.DataFrame, lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Contract frames as the API's records (`ClaimIn.model_dump()`): dates as `date`,
    ';' lists as lists, NA as None, lines under their claim."""
    by_claim: dict[str, list[dict[str, Any]]] = {}
    for line in lines.to_dict("records"):
        by_claim.setdefault(line["claim_id"], []).append(
            {
                "line_number": int(line["line_number"]),
                "procedure_code": line["procedure_code"],
                "modifiers": split_list(line["modifiers"]),
                "units": int(line["units"]),
                "minutes": None if pd.isna(line["minutes"]) else int(line["minutes"]),
                "line_charge": float(line["line_charge"]),
                "revenue_code": _value(line["revenue_code"]),
            }
        )
    out = []
    for claim in claims.to_dict("records"):
        record = {name: _value(value) for name, value in claim.items()}
        record["service_date"] = claim["service_date"].date()
        record["submission_date"] = claim["submission_date"].date()
        record["secondary_dx"] = split_list(claim["secondary_dx"])
        record["total_charge"] = float(claim["total_charge"])
        record["lines"] = by_claim[claim["claim_id"]]
        out.append(record)
    return out


def _bits(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


def assert_same(expected: pd.DataFrame, actual: list[dict[str, float | str | None]]) -> None:
    """Same keys in catalog order, the same strings (NA as None) and the same float bits."""
    assert len(actual) == len(expected)
    assert all(list(row) == NAMES for row in actual)
    claim_ids = expected.index.to_numpy()
    for name in NAMES:
        values = [row[name] for row in actual]
        if name in CATEGORICAL:
            assert all(value is None or type(value) is str for value in values), name
            wanted = [_value(value) for value in expected[name]]
            differs = [i for i, (a, b) in enumerate(zip(wanted, values, strict=True)) if a != b]
        else:
            assert all(type(value) is float for value in values), name
            wanted = expected[name].to_numpy()
            differs = np.flatnonzero(_bits(wanted) != _bits(values)).tolist()
        assert not differs, (name, claim_ids[differs[0]], wanted[differs[0]], values[differs[0]])


def _rounds(keys: Sequence[set], limit: int) -> list[list[int]]:
    """Positions grouped so that no two in a group share a key (patient, authorization number),
    at most `limit` groups; what does not fit is left out. Claims of one group cannot see
    each other, so the batch path scores them together as it would one by one."""
    groups: list[list[int]] = []
    used: list[set] = []
    for position, own in enumerate(keys):
        free = next((g for g in range(len(groups)) if not own & used[g]), len(groups))
        if free == len(groups):
            if free == limit:
                continue
            groups.append([])
            used.append(set())
        groups[free].append(position)
        used[free] |= own
    return groups


def _keys(claims: pd.DataFrame) -> list[set]:
    """Per claim, what lets claims of one batch see each other: patient, authorization."""
    return [
        {("patient", patient)} | (set() if pd.isna(auth) else {("auth", auth)})
        for patient, auth in zip(claims["patient_id"], claims["prior_auth_id"], strict=True)
    ]


@pytest.fixture(scope="module")
def state(data: ContractData) -> FeatureState:
    cutoff = data.claims["submission_date"].quantile(0.5).normalize()
    state = build_state(data, as_of=cutoff.date())
    state.warm()
    return state


@pytest.fixture(scope="module")
def recent(data: ContractData, state: FeatureState) -> tuple[pd.DataFrame, pd.DataFrame]:
    claims = data.claims[data.claims["submission_date"] >= pd.Timestamp(state.as_of)]
    return claims, data.claim_lines[data.claim_lines["claim_id"].isin(claims["claim_id"])]


def test_each_recent_claim_scored_alone_equals_the_batch_path(recent, state) -> None:
    claims, lines = recent
    every = records(claims, lines)
    # Up to five claims per patient: five batch calls cover ~2,200 single-claim requests.
    groups = _rounds(_keys(claims), limit=5)
    for group in groups:
        batch = claims.iloc[group]
        expected = features_for_claims(
            batch, lines[lines["claim_id"].isin(batch["claim_id"])], state
        )
        assert_same(expected, [features_for_records([every[i]], state)[0] for i in group])
    assert sum(len(group) for group in groups) > 2000


def test_a_patients_claims_in_one_shuffled_request_equal_the_batch_path(recent, state) -> None:
    claims, lines = recent
    every = {claim["claim_id"]: claim for claim in records(claims, lines)}
    shuffled = claims.sample(frac=1.0, random_state=5)
    requests = [request for _, request in shuffled.groupby("patient_id", sort=False)]
    assert max(len(r) for r in requests) > 10
    assert any(r["service_date"].duplicated().any() for r in requests)
    keys = dict(zip(claims["claim_id"], _keys(claims), strict=True))
    groups = _rounds(
        [set().union(*(keys[c] for c in r["claim_id"])) for r in requests], limit=len(requests)
    )
    for group in groups:
        batch = pd.concat([requests[i] for i in group])
        expected = features_for_claims(
            batch, lines[lines["claim_id"].isin(batch["claim_id"])], state
        )
        actual = [
            row
            for i in group
            for row in features_for_records([every[c] for c in requests[i]["claim_id"]], state)
        ]
        assert_same(expected, actual)
    assert sum(len(group) for group in groups) == len(requests)


@pytest.fixture(scope="module")
def edge_state(state: FeatureState, recent) -> FeatureState:
    """The state with an authorization that lists codes (twice: the first row counts), one
    without a program, and coverage by another payer and an ended one for the template."""
    template = _template(recent, state)
    auths = state.authorizations
    extra = pd.DataFrame(
        [
            ("AUTH-LISTED", "90834;90837", "OP", 20),
            ("AUTH-LISTED", None, None, 99),
            ("AUTH-ANY-PROGRAM", None, None, 5),
        ],
        columns=["auth_id", "procedure_codes", "program", "units_approved"],
    ).assign(
        patient_id=template["patient_id"],
        payer_id=template["payer_id"],
        start_date=pd.Timestamp(template["service_date"]) - pd.Timedelta(days=30),
        end_date=pd.Timestamp(template["service_date"]) + pd.Timedelta(days=30),
    )
    eligibility = state.eligibility
    spans = pd.DataFrame(
        {
            "patient_id": template["patient_id"],
            "payer_id": ["PY-OTHER", template["payer_id"]],
            "coverage_start": pd.Timestamp("2021-01-01"),
            "coverage_end": [pd.NaT, pd.Timestamp("2022-06-30")],
        }
    )
    return FeatureState(
        state.as_of,
        state.tallies,
        state.claims,
        pd.concat([auths, extra[auths.columns].astype(auths.dtypes)], ignore_index=True),
        pd.concat(
            [eligibility, spans[eligibility.columns].astype(eligibility.dtypes)],
            ignore_index=True,
        ),
    )


def _template(recent, state: FeatureState) -> dict[str, Any]:
    """A recent claim naming an authorization on file, as a record."""
    claims, lines = recent
    named = claims[claims["prior_auth_id"].isin(state.authorizations["auth_id"])]
    return records(named.head(1), lines)[0]


def _line(number: int, code: str, *modifiers: str, **changes: Any) -> dict[str, Any]:
    line = {"line_number": number, "procedure_code": code, "modifiers": list(modifiers)}
    return (
        line | {"units": 1, "minutes": None, "line_charge": 100.0, "revenue_code": None} | changes
    )


def _edge_claims(template: dict[str, Any], other_auth: str) -> list[dict[str, Any]]:
    def claim(claim_id: str, *lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
        return (
            template | {"claim_id": claim_id, "lines": list(lines) or template["lines"]} | changes
        )

    codes = ("90834", "99214", "90836", "96127", "90785", "H0004", "S9480", "90853", "90839")
    many = [
        _line(
            n,
            codes[n % len(codes)],
            *(("95", "HO"), ("59",), (), ("GT",))[n % 4],
            units=1 + n % 3,
            minutes=None if n % 5 == 0 else 10 * (n % 7),
            revenue_code="0905" if n % 6 == 0 else None,
        )
        for n in range(50, 0, -1)
    ]
    service = template["service_date"]
    return [
        template,
        claim(
            "EDGE-UNSEEN",
            _line(1, "12345", "AB", minutes=40),
            patient_id="PAT-NEW",
            payer_id="PY-NEW",
            rendering_provider_id="PRV-NEW",
            facility_id="FAC-NEW",
            primary_dx="U99.9",
            prior_auth_id="AUTH-NOT-ON-FILE",
        ),
        claim("EDGE-NO-AUTH", prior_auth_id=None),
        claim("EDGE-OTHER-AUTH", prior_auth_id=other_auth),
        claim("EDGE-LISTED-AUTH", _line(1, "90832", minutes=30), prior_auth_id="AUTH-LISTED"),
        claim("EDGE-ANY-PROGRAM", prior_auth_id="AUTH-ANY-PROGRAM", program="IOP"),
        claim("EDGE-MANY-LINES", *many),
        claim("EDGE-NO-MINUTES", _line(1, "90837")),
        claim(
            "EDGE-CRISIS",
            _line(1, "90839", minutes=110),
            _line(2, "90840"),
            _line(3, "90785"),
            _line(4, "90791"),
        ),
        claim("EDGE-CRISIS-ADDON-ALONE", _line(1, "90840", minutes=30)),
        claim(
            "EDGE-INSTITUTIONAL",
            _line(1, "S9480", revenue_code="0905"),
            _line(2, "H0015", revenue_code="0906", units=3),
            program="IOP",
            place_of_service="52",
        ),
        claim("EDGE-NO-SECONDARY-DX", secondary_dx=[]),
        claim("EDGE-TELEHEALTH", _line(1, "90834", minutes=45), place_of_service="02"),
        claim(
            "EDGE-MODIFIERS-OFF",
            _line(1, "90834", "GT", "HP", minutes=45),
            place_of_service="11",
            provider_credential="LCSW",
        ),
        claim(
            "EDGE-ADDON-SCREENING",
            _line(1, "90833", minutes=20),
            _line(2, "96127"),
            _line(3, "96127", "59"),
        ),
        claim("EDGE-SUD-SERVICE", _line(1, "H0015"), primary_dx="F32.9"),
        claim(
            "EDGE-LATE",
            service_date=date(2031, 1, 2),
            submission_date=date(2031, 3, 1),
        ),
        claim("EDGE-SAME-DAY", submission_date=service, prior_auth_id=None),
        claim("EDGE-DUPLICATE"),
    ]


def test_edge_cases_in_one_request_equal_the_batch_path(recent, state, edge_state) -> None:
    template = _template(recent, state)
    auths = state.authorizations
    other_auth = auths.loc[auths["payer_id"] != template["payer_id"], "auth_id"].iloc[0]
    claims = _edge_claims(template, other_auth)
    claim_frame, line_frame = tables_from_records(claims)
    expected = features_for_claims(claim_frame, line_frame, edge_state)
    assert_same(expected, features_for_records(claims, edge_state))
    assert_same(expected.iloc[::-1], features_for_records(claims[::-1], edge_state))
    timed = line_summary(line_frame)["timed_code"]
    assert [timed_code(c["lines"]) for c in claims] == [
        _value(timed[c["claim_id"]]) for c in claims
    ]

    # The cases exercise what they are named after.
    row = expected.loc
    assert row["EDGE-UNSEEN", "auth_unknown_number"] == 1
    assert row["EDGE-UNSEEN", "patient_prior_claims"] == 0
    assert row["EDGE-OTHER-AUTH", "auth_payer_mismatch"] == 1
    assert row["EDGE-LISTED-AUTH", "auth_code_not_covered"] == 1
    assert row["EDGE-LISTED-AUTH", "auth_units_approved"] == 20
    assert row["EDGE-MANY-LINES", "n_lines"] == 50
    assert row["EDGE-NO-MINUTES", "timed_minutes_missing"] == 1
    assert np.isnan(row["EDGE-CRISIS", "minutes_above_band"])
    assert row["EDGE-CRISIS-ADDON-ALONE", "crisis_addon_without_crisis"] == 1
    assert row["EDGE-INSTITUTIONAL", "institutional"] == 1
    assert row["EDGE-NO-SECONDARY-DX", "n_secondary_dx"] == 0
    assert row["EDGE-DUPLICATE", "same_service_prior_claims"] >= 1
    assert row[template["claim_id"], "other_payer_covered"] == 1


def test_the_timed_code_is_line_summarys(recent) -> None:
    claims, lines = recent
    expected = line_summary(lines)["timed_code"]
    actual = {claim["claim_id"]: timed_code(claim["lines"]) for claim in records(claims, lines)}
    assert actual == {claim_id: _value(code) for claim_id, code in expected.items()}
    assert any(code is None for code in actual.values())


def test_a_claim_without_lines_is_refused(recent, state) -> None:
    with pytest.raises(ValueError, match="no lines"):
        features_for_records([_template(recent, state) | {"lines": []}], state)
