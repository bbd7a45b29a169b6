"""S-first-responder (首问负责制): the chain of owners of every chat and complaint."""
