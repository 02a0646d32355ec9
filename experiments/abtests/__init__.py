"""Online A/B tests: a champion against challengers on live traffic, with always-valid statistics."""
