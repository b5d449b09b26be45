"""API tokens: bearer credentials for the REST API, each limited to a set of scopes."""
