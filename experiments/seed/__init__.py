"""Demo data only: the runs, benchmark and dashboards ``manage.py seed_demo`` builds."""
