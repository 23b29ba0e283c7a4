"""Running model-written code: the box it runs in and what QA asks of a generated program."""
