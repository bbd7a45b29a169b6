"""Personal information (S-privacy): finding and masking it, who may see it, retention."""
