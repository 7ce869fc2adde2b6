"""Metric feature networks (FID Inception-v3, LPIPS-VGG16) with user-supplied weights."""
