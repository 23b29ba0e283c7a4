"""The ground floor: errors, exit codes, redaction, untrusted text, prompt rendering. Imports nothing of devteam."""
