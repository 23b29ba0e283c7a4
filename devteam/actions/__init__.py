"""Actions: a prompt template, an output model and one structured LLM call each."""
