"""Request and answer shapes of the contract's "HTTP scoring" section, validated strictly.

A claim has the columns of `claims` as fields and `lines`, the columns of
`claim_lines` without `claim_id`. Unknown fields, malformed codes, negative
minutes, unknown enums, too many lines or claims are 422s naming the field.
Dates, amounts, identifiers and the claim's total against its lines keep the
limits of `data_contracts.plausibility`, and ICD-10-CM codes are normalised as
the reader does (`data_contracts.codes.normal_icd10`): a request is refused for
exactly what a data directory is refused for.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from data_contracts import codes, enums, plausibility

MAX_LINES = 50
"""837P allows 50 service lines; the limits are part of the published OpenAPI schema."""
MAX_CLAIMS = 1000
Money = Annotated[float, Field(ge=0, le=plausibility.MAX_AMOUNT, allow_inf_nan=False)]
Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=plausibility.MAX_ID_LENGTH,
        json_schema_extra={"pattern": plausibility.IDENTIFIER},
        description=f"Opaque identifier; {plausibility.IDENTIFIER_RULE}.",
    ),
    AfterValidator(plausibility.checked_identifier),
]
ClaimDate = Annotated[
    date,
    AfterValidator(plausibility.checked_date),
    Field(description=f"ISO date; {plausibility.DATE_RULE}."),
]


def _normal_icd10(value: object) -> object:
    """Normalise text; anything else goes on to the type check, which names it."""
    return codes.normal_icd10(value) if isinstance(value, str) else value


Icd10 = Annotated[
    str,
    BeforeValidator(_normal_icd10),
    Field(
        pattern=f"^{codes.ICD10CM}$",
        description="ICD-10-CM, e.g. F33.1; lower case and codes without the dot (f331) are "
        "accepted and answered in this canonical form.",
    ),
]


def _literal(values: tuple[str, ...]):
    return Literal.__getitem__(values)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LineIn(Strict):
    line_number: int = Field(ge=1, le=999)
    procedure_code: str = Field(pattern=f"^{codes.CPT_HCPCS}$")
    modifiers: list[Annotated[str, Field(pattern=f"^{codes.MODIFIER}$")]] = Field(
        default_factory=list, max_length=4
    )
    units: int = Field(ge=1, le=10_000)
    minutes: int | None = Field(default=None, ge=0, le=1440)
    line_charge: Money
    revenue_code: str | None = Field(default=None, pattern=f"^{codes.REVENUE_CODE}$")


class ClaimIn(Strict):
    claim_id: Identifier
    patient_id: Identifier
    payer_id: Identifier
    plan_type: _literal(enums.PLAN_TYPES)  # type: ignore[valid-type]
    network_status: _literal(enums.NETWORK_STATUSES)  # type: ignore[valid-type]
    rendering_provider_id: Identifier
    provider_credential: _literal(enums.CREDENTIALS)  # type: ignore[valid-type]
    facility_id: Identifier
    program: _literal(enums.PROGRAMS)  # type: ignore[valid-type]
    place_of_service: str = Field(pattern=f"^{codes.PLACE_OF_SERVICE}$")
    service_date: ClaimDate
    submission_date: ClaimDate
    primary_dx: Icd10
    secondary_dx: list[Icd10] = Field(default_factory=list, max_length=11)
    prior_auth_id: Identifier | None = None
    total_charge: Money
    frequency_code: _literal(enums.FREQUENCY_CODES) = "1"  # type: ignore[valid-type]
    original_claim_id: Identifier | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def contract_rules(self) -> ClaimIn:
        """The contract's rules across fields (`data_contracts.schemas`), checked here so the
        per-claim scoring path needs no table checks of its own."""
        if self.submission_date < self.service_date:
            raise ValueError("submission_date is before service_date")
        if self.frequency_code in ("7", "8") and self.original_claim_id is None:
            raise ValueError("frequency_code 7 or 8 needs original_claim_id")
        numbers = [line.line_number for line in self.lines]
        if len(set(numbers)) < len(numbers):
            raise ValueError("line_number repeats within the claim")
        charges = [line.line_charge for line in self.lines]
        if plausibility.charges_disagree(self.total_charge, charges):
            raise ValueError(
                f"{plausibility.CHARGE_RULE}: total_charge {self.total_charge:.2f}, "
                f"lines {sum(charges):.2f}"
            )
        return self


class ScoreRequest(Strict):
    claims: list[ClaimIn] = Field(min_length=1, max_length=MAX_CLAIMS)

    @model_validator(mode="after")
    def unique_claim_ids(self) -> ScoreRequest:
        ids = [claim.claim_id for claim in self.claims]
        if len(set(ids)) < len(ids):
            raise ValueError("claim_id repeats within the request")
        return self


class Driver(BaseModel):
    feature: str
    value: float | str | None
    contribution: float


class FixOut(BaseModel):
    fix_code: str
    text: str
    p_denial_after: float
    rule_hit: bool = Field(description="A deterministic billing edit rather than a model driver.")


class Result(BaseModel):
    claim_id: str
    p_denial: float
    band: Literal["pass", "review", "hold"]
    drivers: list[Driver]
    fixes: list[FixOut]


class ScoreResponse(BaseModel):
    model_version: str
    model_name: str | None = Field(
        None, description="The registered model that answered (its version: model_version)."
    )
    shared_model: bool | None = Field(
        None,
        description="True when the shared model answered because the caller's tenant has "
        "no registered model of its own.",
    )
    results: list[Result]
