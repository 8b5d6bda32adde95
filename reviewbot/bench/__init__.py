"""`reviewbot bench`: the cost and latency benchmark of the review pipeline against cachesim.

metrics.py (pure: a row per PR from its ledger entries and CallRecords, totals, target checks),
report.py (pure: the tables and the JSON), chart.py (the PNG, matplotlib loaded lazily),
cachesim.py (the simulator subprocess and its HTTP endpoints), runner.py (corpus -> rows).
"""
