"""Job status: Bedrock's events and a reconciling poll become one Tailor event per real transition."""
