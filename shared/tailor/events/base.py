"""Base model for every payload on the wire: camelCase JSON, snake_case Python."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """camelCase on the wire; unknown fields ignored so that consumers survive newer producers."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        ser_json_timedelta="float",
        # Build validators on first use: a handler imports many models but touches few.
        defer_build=True,
    )

    def to_wire(self) -> dict[str, object]:
        """JSON-ready dict with wire (camelCase) names and no nulls."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
