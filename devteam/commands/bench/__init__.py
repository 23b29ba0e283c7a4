"""`metagpt bench`: a suite of ideas through one or more model configs, with QA on, into one report.

The bench owns the suite (`suite`), the scheduling (`runner`) and the report (`report`); every project is an
ordinary run of `run_company`, left in the bench workspace to inspect.
"""
