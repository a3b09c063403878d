"""Copies a latency table without its rows: its targets and runs (so its canary references) kept,
its measurements and round samples deleted, as a table a user re-profiles.
    python3 bench/table_without_rows.py SOURCE.db COPY.db"""
import sqlite3
import sys

from bench_runs import copy_table

source, copy = sys.argv[1], sys.argv[2]
copy_table(source, copy)
db = sqlite3.connect(copy)
db.execute('DELETE FROM measurements')
db.execute('DELETE FROM round_samples')
db.commit()
