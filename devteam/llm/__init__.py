"""The LLM layer: one narrow provider interface, a registry by `api_type`, retries, usage and cost."""
