# negative: a 3x3 box blur over an image (stencil); fixed neighbour offsets,
# no shared reduction index between two matrices.
import numpy as np

H, W = 240, 320


def box_blur(img):
    out = np.zeros_like(img)
    for y in range(1, H - 1):
        for x in range(1, W - 1):
            acc = 0.0
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    acc += img[y + dy, x + dx]
            out[y, x] = acc / 9.0
    return out


print(box_blur(np.random.rand(H, W)).mean())
