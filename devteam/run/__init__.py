"""One run of the company: the team, the record, the summary, stop signals."""
