# negative: a histogram; an indirect increment, not a product.


def histogram(values, bins, lo, hi):
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in values:
        b = int((v - lo) / width)
        if 0 <= b < bins:
            counts[b] += 1
    return counts


def joint_histogram(xs, ys, bins):
    h = [[0] * bins for _ in range(bins)]
    for i in range(len(xs)):
        h[xs[i]][ys[i]] += 1
    return h


print(histogram([0.1, 0.5, 0.7, 0.9], 4, 0.0, 1.0))
