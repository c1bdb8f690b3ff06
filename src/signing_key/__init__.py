"""The CloudFront URL-signing key: made at deploy by a custom resource, kept only in a secret."""
