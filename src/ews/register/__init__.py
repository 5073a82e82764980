"""The register, the only package that opens a database session or writes SQL: schema,
migrations, one repository module per aggregate, locks and heartbeats."""
