"""The run's reports beyond pytest's own: the machine-readable JSON (records.py, schema.json), what changed since
the previous run (history.py), and `python -m viewster_infra.report diff OLD.json NEW.json`."""
