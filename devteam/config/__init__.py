"""The config: MetaGPT's config2.yaml and the environment, with origins, presets and readable errors."""
