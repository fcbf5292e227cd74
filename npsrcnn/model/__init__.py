"""The SRCNN network: its weights and files, inference on whole images, and the authors' test protocol."""
