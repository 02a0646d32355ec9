"""Accounts: named API tokens (stored hashed), password change, and throttled sign-in."""
