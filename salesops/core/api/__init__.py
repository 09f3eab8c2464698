"""API routers of core: approvals, imports, and what every router shares (common)."""
