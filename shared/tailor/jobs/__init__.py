"""Jobs: the model catalog, the job spec, naming and idempotency tokens, the run state machine."""
