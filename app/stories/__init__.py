"""The seed stories of the Django async literature, one module each, sync and async views
side by side. Their URL paths live in app/scenarios.py, nowhere else."""
