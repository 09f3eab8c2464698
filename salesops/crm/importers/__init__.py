"""CRM importers: leads, contacts and opportunities, written through the CRM services."""
