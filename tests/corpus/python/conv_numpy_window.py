"""Direct convolutions whose inner reduction is one NumPy sum over a window."""
import numpy as np


def conv_nchw(images, kernels, bias, step):
    batch, chans, height, width = images.shape
    nk, _, kh, kw = kernels.shape
    oh = (height - kh) // step + 1
    ow = (width - kw) // step + 1
    out = np.zeros((batch, nk, oh, ow))
    for b in range(batch):  # expect: GS301 routine=conv idiom=conv function=conv_nchw
        for o in range(nk):
            for y in range(oh):
                for x in range(ow):
                    win = images[b, :, y * step:y * step + kh, x * step:x * step + kw]
                    out[b, o, y, x] = np.sum(win * kernels[o]) + bias[o]
    return out


def conv_chw_method_sum(img, filt):
    c, h, w = img.shape
    f, _, r, s = filt.shape
    res = np.zeros((f, h - r + 1, w - s + 1))
    for o in range(f):  # expect: GS301 routine=conv idiom=conv function=conv_chw_method_sum
        for y in range(h - r + 1):
            for x in range(w - s + 1):
                res[o, y, x] = (img[:, y:y + r, x:x + s] * filt[o]).sum()
    return res


def conv_while_counters(img, filt, step):
    """The window walked by while loops: a pixel counter and an output counter."""
    nf, nc, k, _ = filt.shape
    c, size, _ = img.shape
    side = (size - k) // step + 1
    res = np.zeros((nf, side, side))
    for o in range(nf):  # expect: GS301 routine=conv idiom=conv function=conv_while_counters
        py = oy = 0
        while py + k <= size:
            px = ox = 0
            while px + k <= size:
                res[o, oy, ox] = np.sum(filt[o] * img[:, py:py + k, px:px + k])
                px += step
                ox += 1
            py += step
            oy += 1
    return res
