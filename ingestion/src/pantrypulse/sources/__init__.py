"""Invoice sources in the dlt source shape: each yields (position, record) deliveries."""
