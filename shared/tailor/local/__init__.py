"""The embedded local stack: moto server, template-driven dispatcher, Bedrock and device simulators."""
