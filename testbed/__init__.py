"""What the tests and the benchmarks share: moto on a free port, the local stack as a subprocess,
Lambda-shaped events, tokens moto's Cognito accepts, and tables and buckets shaped as the template."""
