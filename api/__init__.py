"""The HTTP API for other government systems (/api/v1), a thin shell over survey/ like the CLI
and the pages: it checks tokens, shapes JSON and answers errors as RFC 9457 problem documents."""
