# negative: Floyd-Warshall is a (min, +) product over k, not a sum of products.
INF = float("inf")


def shortest_paths(dist, n):
    for k in range(n):
        for i in range(n):
            for j in range(n):
                dist[i][j] = min(dist[i][j], dist[i][k] + dist[k][j])
    return dist


g = [[0, 3, INF], [INF, 0, 1], [2, INF, 0]]
print(shortest_paths(g, 3))
