"""Training the network: optimizers and learning-rate schedules, checkpoints, and the loop over epochs."""
