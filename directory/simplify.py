"""Douglas-Peucker line simplification, for the map outlines when they are built
(directory/reference/map/build.py, in degrees) and for the maps the site draws (directory/maps.py,
in map units). The standard library only: the build script runs without Django."""

import math


def simplify(
    points: list[tuple[float, float]], tolerance: float, x_scale: float = 1.0
) -> list[tuple[float, float]]:
    """The points without those nearer than `tolerance` to the line that skips them (iterative;
    the first and last points always stay). Distances are measured with x multiplied by
    `x_scale` (longitudes at a latitude); the points kept are returned as they were given."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        ax, bx = ax * x_scale, bx * x_scale
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        farthest, index = 0.0, 0
        for i in range(first + 1, last):
            px, py = points[i][0] * x_scale, points[i][1]
            if length == 0:  # a closed line: the distance from its start
                distance = math.hypot(px - ax, py - ay)
            else:
                distance = abs(dx * (ay - py) - dy * (ax - px)) / length
            if distance > farthest:
                farthest, index = distance, i
        if farthest > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [point for point, kept in zip(points, keep, strict=True) if kept]
