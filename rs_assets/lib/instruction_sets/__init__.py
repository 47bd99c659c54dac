"""instruction_sets: LLaVA conversations per canonical image and task."""
