"""OAuth 2.1 for the MCP server and the API: discovery (RFC 9728, RFC 8414), clients by Client ID
Metadata Document or Dynamic Client Registration (RFC 7591), authorization code + PKCE S256 with
``resource`` (RFC 8707) and ``iss`` (RFC 9207), consent behind the step-up. A grant is an API key:
its access tokens authenticate through ``keys.auth.key_authenticate`` like any key's token."""
