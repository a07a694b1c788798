/* negative: Floyd-Warshall all-pairs shortest paths is a min-plus product
 * (min and +, not + and *), so it is not a GEMM. */
#include <stdio.h>

#define V 512
#define INF 1000000

static int dist[V][V];

void floyd_warshall(void)
{
    for (int k = 0; k < V; k++)
        for (int i = 0; i < V; i++)
            for (int j = 0; j < V; j++)
                if (dist[i][k] + dist[k][j] < dist[i][j])
                    dist[i][j] = dist[i][k] + dist[k][j];
}

int main(void)
{
    for (int i = 0; i < V; i++)
        for (int j = 0; j < V; j++)
            dist[i][j] = i == j ? 0 : ((i * 7 + j) % 11 == 0 ? (i + j) % 17 : INF);
    floyd_warshall();
    printf("%d\n", dist[0][V - 1]);
    return 0;
}
