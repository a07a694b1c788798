# negative: NumPy window reductions that are not convolution layers: a
# single-channel blur (no channel reduction), a window max, a stepped
# slice, and a max pool walked by while counters.
import numpy as np


def blur_single_channel(img, k):
    """Near miss: one channel, no channel reduction: a stencil, not a layer."""
    h, w = img.shape
    r, s = k.shape
    res = np.zeros((h - r + 1, w - s + 1))
    for y in range(h - r + 1):
        for x in range(w - s + 1):
            res[y, x] = np.sum(img[y:y + r, x:x + s] * k)
    return res


def window_max(img, r):
    """Near miss: a max over the window, not a sum of products."""
    c, h, w = img.shape
    res = np.zeros((c, h - r + 1, w - r + 1))
    for ch in range(c):
        for y in range(h - r + 1):
            for x in range(w - r + 1):
                res[ch, y, x] = np.max(img[ch, y:y + r, x:x + r])
    return res


def strided_window(img, filt):
    """Near miss: a stepped slice is not read as a window (no finding)."""
    c, h, w = img.shape
    f, _, r, s = filt.shape
    res = np.zeros((f, h, w))
    for o in range(f):
        for y in range(h - 2 * r):
            for x in range(w - 2 * s):
                res[o, y, x] = np.sum(img[:, y:y + 2 * r:2, x:x + 2 * s:2] * filt[o])
    return res


def pool_while_counters(img, k, step):
    """Near miss: the same walk taking a max, not a sum of products."""
    c, size, _ = img.shape
    side = (size - k) // step + 1
    res = np.zeros((c, side, side))
    for ch in range(c):
        py = oy = 0
        while py + k <= size:
            px = ox = 0
            while px + k <= size:
                res[ch, oy, ox] = np.max(img[ch, py:py + k, px:px + k])
                px += step
                ox += 1
            py += step
            oy += 1
    return res
