"""The row path (`features.online`) gives the batch path's features, bit for bit."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta
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
from features.pipeline import build_features, build_state, features_for_claims
from features.state import FeatureState

NAMES = [feature.name for feature in FEATURES]
CLAIM_HISTORY = [feature.name for feature in FEATURES if feature.source == "claims"]


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


def assert_same(
    expected: pd.DataFrame,
    actual: list[dict[str, float | str | None]],
    names: Sequence[str] = NAMES,
) -> None:
    """Same keys in catalog order, the same strings (NA as None) and the same float bits."""
    assert len(actual) == len(expected)
    assert all(list(row) == list(names) for row in actual)
    claim_ids = expected.index.to_numpy()
    for name in names:
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
        state.remits,
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
        lines_sent = list(lines) or template["lines"]
        total = round(sum(line["line_charge"] for line in lines_sent), 2)  # the contract's rule
        return (
            template | {"claim_id": claim_id, "lines": lines_sent, "total_charge": total} | changes
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


# A claim is never its own history: a claim sent again (its copy is in the state) or a
# replacement (frequency 7/8) leaves itself and the claim it replaces out, on both paths.


@pytest.fixture(scope="module")
def full_state(data: ContractData) -> FeatureState:
    """The state after every claim, pending ones included, as `denialops train` builds it."""
    state = build_state(data)
    state.warm()
    return state


def _lines_of(data: ContractData, claims: pd.DataFrame) -> pd.DataFrame:
    return data.claim_lines[data.claim_lines["claim_id"].isin(claims["claim_id"])]


def _claim_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: row[name] for name in CLAIM_HISTORY} for row in rows]


def _apart(claims: pd.DataFrame) -> pd.DataFrame:
    """At most one claim per patient and per authorization number: their histories are
    disjoint, so they can be taken out of the state together."""
    claims = claims.drop_duplicates("patient_id")
    return claims[claims["prior_auth_id"].isna() | ~claims["prior_auth_id"].duplicated()]


def test_a_claim_in_the_state_is_featured_as_if_it_were_not(data, full_state) -> None:
    """A pending claim scored again: its claim history is the one it has without its copy
    in the state. (What later claims learnt with it stays: a visit-limit denial's visit
    number, say, counted it.)"""
    first_code = (
        data.claim_lines.sort_values("line_number")
        .drop_duplicates("claim_id")
        .set_index("claim_id")["procedure_code"]
    )
    # A resubmission of an earlier claim (a true duplicate) does have a prior claim: left out.
    resent = data.claims.assign(
        code=first_code.reindex(data.claims["claim_id"]).to_numpy()
    ).duplicated(["patient_id", "service_date", "code"], keep=False)
    pending = data.claims[~data.claims["claim_id"].isin(data.remits["claim_id"]) & ~resent]
    claims = _apart(pending)
    lines = _lines_of(data, claims)
    gone = data.claims["claim_id"].isin(claims["claim_id"])
    without = build_state(
        dataclasses.replace(
            data,
            claims=data.claims[~gone],
            claim_lines=data.claim_lines[~data.claim_lines["claim_id"].isin(claims["claim_id"])],
        ),
        as_of=full_state.as_of,
    )
    assert claims["claim_id"].isin(full_state.claims["claim_id"]).all()
    batch = features_for_claims(claims, lines, full_state)
    every = [features_for_records([claim], full_state)[0] for claim in records(claims, lines)]
    assert_same(batch, every)
    expected = features_for_claims(claims, lines, without)[CLAIM_HISTORY]
    assert_same(expected, _claim_history(every), CLAIM_HISTORY)

    # Not one of them is a duplicate of itself.
    assert len(claims) > 100
    assert (expected["same_service_prior_claims"] == 0).all()
    assert (expected["same_day_prior_claims"] > 0).any()


def test_a_saved_state_leaves_a_claim_out_of_its_own_history_too(
    data, full_state, tmp_path
) -> None:
    claims = data.claims.tail(40)
    lines = _lines_of(data, claims)
    loaded = FeatureState.load(full_state.save(tmp_path / "state"))
    expected = features_for_claims(claims, lines, full_state)
    pd.testing.assert_frame_equal(features_for_claims(claims, lines, loaded), expected)
    assert_same(expected, features_for_records(records(claims, lines), loaded))
    assert (expected["same_service_prior_claims"] == 0).mean() > 0.9


def _alone(data: ContractData, features: pd.DataFrame) -> dict[str, Any]:
    """An adjudicated claim alone on its patient, service date and first code, as a record."""
    claims = data.claims.assign(code_1=features["code_1"].to_numpy())
    alone = ~claims.duplicated(["patient_id", "service_date", "code_1"], keep=False)
    paid = claims["claim_id"].isin(data.remits["claim_id"])
    claim = data.claims[(alone & paid).to_numpy()].tail(1)
    return records(claim, _lines_of(data, claim))[0]


def _sent_later(claim: dict[str, Any], claim_id: str, frequency: str = "1") -> dict[str, Any]:
    """The claim sent again three days later under another id: a replacement of it
    (frequency 7) or a plain copy, a duplicate (frequency 1)."""
    return claim | {
        "claim_id": claim_id,
        "frequency_code": frequency,
        "original_claim_id": claim["claim_id"] if frequency != "1" else None,
        "submission_date": claim["submission_date"] + timedelta(days=3),
    }


def _both_paths(request: list[dict[str, Any]], state: FeatureState) -> pd.DataFrame:
    expected = features_for_claims(*tables_from_records(request), state)
    assert_same(expected, features_for_records(request, state))
    return expected


def test_a_replacement_is_not_a_duplicate_of_the_claim_it_replaces(
    data, features, full_state
) -> None:
    original = _alone(data, features)
    replacement = _sent_later(original, "REPLACES-IT", "7")
    copy = _sent_later(original, "A-COPY")
    again = original | {"submission_date": replacement["submission_date"]}

    # Alone against the state that holds the original.
    assert _both_paths([replacement], full_state).iloc[0]["same_service_prior_claims"] == 0
    assert _both_paths([copy], full_state).iloc[0]["same_service_prior_claims"] == 1
    assert _both_paths([again], full_state).iloc[0]["same_service_prior_claims"] == 0
    # In one request: the copy (sent before the replacement, by claim id) is a real duplicate
    # of both; the original sent again is a duplicate of neither, but of the copy.
    both = _both_paths([replacement, again, copy], full_state)["same_service_prior_claims"]
    assert both.to_dict() == {"REPLACES-IT": 1, original["claim_id"]: 1, "A-COPY": 1}
    assert (_both_paths([replacement, again], full_state)["same_service_prior_claims"] == 0).all()

    # The training path over a data directory holding original and replacement alike.
    later = copy | {"submission_date": copy["submission_date"] + timedelta(days=1)}
    added = tables_from_records([replacement, later])
    directory = dataclasses.replace(
        data,
        claims=pd.concat([data.claims, added[0]], ignore_index=True),
        claim_lines=pd.concat([data.claim_lines, added[1]], ignore_index=True),
    )
    trained = build_features(directory)["same_service_prior_claims"]
    assert trained["REPLACES-IT"] == 0
    assert trained["A-COPY"] >= 1


def test_claims_sent_again_replaced_or_copied_in_one_request_equal_the_batch_path(
    data, state, full_state
) -> None:
    """Requests of one patient each: claims of the state in shuffled order (before and
    after the state's cut-off), a replacement of one and a copy of another."""
    counts = data.claims["patient_id"].value_counts()
    patients = counts[counts >= 6].index[:40]
    requests = []
    for number, patient in enumerate(patients):
        claims = data.claims[data.claims["patient_id"] == patient].tail(5)
        sent = records(claims.sample(frac=1.0, random_state=number), _lines_of(data, claims))
        sent.append(_sent_later(sent[0], f"R-{number}", "7"))
        sent.append(_sent_later(sent[1], f"C-{number}"))
        requests.append(sent)
    keys = [
        {("patient", c["patient_id"]) for c in r}
        | {("auth", c["prior_auth_id"]) for c in r if c["prior_auth_id"]}
        for r in requests
    ]
    groups = _rounds(keys, limit=len(requests))
    assert sum(len(group) for group in groups) == len(requests)
    for each in (state, full_state):
        for group in groups:
            request = [claim for i in group for claim in requests[i]]
            expected = features_for_claims(*tables_from_records(request), each)
            actual = [row for i in group for row in features_for_records(requests[i], each)]
            assert_same(expected, actual)


def test_claims_sent_again_together_count_once(data, features, full_state) -> None:
    """Patients' latest claims sent again in one request: each sees the earlier ones of the
    request instead of their copies in the state, not both, so its claim history is the
    one it has when sent again alone (the row path, equal to the batch path), and the one
    the training path gives it over the data directory: the claims submitted before it."""
    claims = data.claims.groupby("patient_id").tail(4).head(600)
    lines = _lines_of(data, claims)
    together = features_for_claims(claims, lines, full_state)[CLAIM_HISTORY]
    alone = [features_for_records([claim], full_state)[0] for claim in records(claims, lines)]
    assert_same(together, _claim_history(alone), CLAIM_HISTORY)
    assert_same(
        features.loc[claims["claim_id"], CLAIM_HISTORY], _claim_history(alone), CLAIM_HISTORY
    )
    assert (together["same_day_prior_claims"] > 0).any()
    assert (together["same_service_prior_claims"] == 0).mean() > 0.9


# A claim submitted before the state's as-of date (a pending claim scored again days later)
# sees what was known on its submission date only: the state's claims submitted before it
# and its remits received before it, as the training path over the data directory does.


def test_every_pending_claim_gets_the_training_paths_features_from_the_full_state(
    data, features, full_state
) -> None:
    pending = data.claims[~data.claims["claim_id"].isin(data.remits["claim_id"])]
    lines = _lines_of(data, pending)
    assert len(pending) > 200
    assert (pending["submission_date"] < pd.Timestamp(full_state.as_of)).all()
    expected = features.loc[pending["claim_id"]]
    sent = records(pending, lines)
    alone = [features_for_records([claim], full_state)[0] for claim in sent]
    assert_same(expected, alone)
    # Many at once, on the row path and on the scorer's batch path alike.
    assert_same(
        expected,
        [
            row
            for i in range(0, len(sent), 64)
            for row in features_for_records(sent[i : i + 64], full_state)
        ],
    )
    batch = features_for_claims(pending, lines, full_state)
    pd.testing.assert_frame_equal(batch, expected, check_exact=True)

    # The state's totals count the claims submitted later: a pending claim serviced before
    # its patient's later claims got a negative gap from them. Now it has the training
    # path's gap: negative only where a claim submitted before it was serviced after it.
    gap = np.array([row["days_since_last_claim"] for row in alone])
    latest = full_state.tallies["patient"].set_index("patient_id")["patient__last_service_day"]
    service_day = (pending["service_date"] - pd.Timestamp("2020-01-01")).dt.days.to_numpy()
    from_totals = service_day - latest.reindex(pending["patient_id"]).to_numpy()
    trained = expected["days_since_last_claim"].to_numpy()
    assert ((from_totals < 0) & (trained >= 0)).any()
    assert ((gap < 0) == (trained < 0)).all()


def test_the_remits_of_a_saved_state_cut_a_claims_history_too(
    data, features, full_state, tmp_path
) -> None:
    loaded = FeatureState.load(full_state.save(tmp_path / "state"))
    pd.testing.assert_frame_equal(loaded.remits, full_state.remits)
    pending = data.claims[~data.claims["claim_id"].isin(data.remits["claim_id"])].tail(40)
    lines = _lines_of(data, pending)
    expected = features.loc[pending["claim_id"]]
    assert_same(expected, [features_for_records([c], loaded)[0] for c in records(pending, lines)])
    batch = features_for_claims(pending, lines, loaded)
    pd.testing.assert_frame_equal(batch, expected, check_exact=True)


def test_a_claim_sent_on_the_as_of_date_is_featured_from_the_totals_alone(data, features) -> None:
    """The scrubbing hook's case: the claim goes out on the state's as-of date, after all
    of the state. Claims of the data directory's busiest day, against the state of the
    days before, get the training path's features (those alone on that day with their
    patient and authorization: the others see each other there), and the remit history
    the cut needs is never built."""
    busiest = data.claims["submission_date"].value_counts().idxmax()
    state = build_state(data, as_of=busiest.date())
    today = data.claims[data.claims["submission_date"] == busiest]
    shared = pd.Series([key for keys in _keys(today) for key in keys]).value_counts()
    alone = today[[all(shared[key] == 1 for key in keys) for keys in _keys(today)]]
    assert len(alone) > 5
    sent = records(alone, _lines_of(data, alone))
    assert_same(
        features.loc[alone["claim_id"]], [features_for_records([c], state)[0] for c in sent]
    )
    assert state._remits is None
