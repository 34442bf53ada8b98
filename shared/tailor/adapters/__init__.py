"""The only modules that touch boto3. Each adapter is a small Protocol with a boto3
implementation and an in-memory fake for unit tests."""
