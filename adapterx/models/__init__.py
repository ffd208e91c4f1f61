"""Models: PEFT wrappers, adapters and backbones of adapterx."""
