"""Pages of compensation, one module per feature (runs, plans, periods, statements,
payouts, reports)."""
