"""Data to train and test on: the pinned benchmark sets, patches cut from images, their cache, augmentation."""
