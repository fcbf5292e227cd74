"""Image files and pixels: reading and writing 8- and 16-bit images, BT.601 colour, comparison panels."""
