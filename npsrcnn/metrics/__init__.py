"""Image quality as super-resolution papers measure it: PSNR and SSIM (Wang et al. 2004) in float64."""
