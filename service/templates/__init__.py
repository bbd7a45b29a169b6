"""Templates as a deployment sees them: the phrases file's wording, or an admin's override."""
