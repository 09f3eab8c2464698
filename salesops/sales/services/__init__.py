"""Sales writes, one module per entity: customers, products (with price lists), orders,
returns."""
