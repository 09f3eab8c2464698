"""API routers of compensation, one module per feature."""
