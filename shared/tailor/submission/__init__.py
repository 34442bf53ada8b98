"""Job submission: a validated dataset becomes exactly one Bedrock customization job."""
