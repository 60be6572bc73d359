"""Geometry of the server-rendered SVG burn-up chart (no JavaScript, no outside CDN).

The template `dashboards/partials/_burnup.html` draws what this module computes: the phase
bands, the axes, and per series the actual line, the plan line and the projection.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plan import BurnUp, Series

WIDTH = 1060
HEIGHT = 340
LEFT, RIGHT, TOP, BOTTOM = 46, 20, 30, 48


@dataclass(frozen=True)
class Band:
    x: float
    width: float
    label: str
    label_x: float
    is_current: bool


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    actual: str  # SVG path data
    plan: str
    projection: str
    end_x: float
    end_y: float
    end_label: str
    label_x: float
    label_y: float
    label_anchor: str


@dataclass(frozen=True)
class BurnUpChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bands: list[Band]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    today_x: float | None
    today_label: str

    @property
    def plot_width(self) -> float:
        return round(self.right - self.left, 1)

    @property
    def plot_height(self) -> float:
        return round(self.bottom - self.top, 1)

    @property
    def axis_label_y(self) -> float:
        return self.bottom + 18

    @property
    def axis_title_y(self) -> float:
        return self.bottom + 38

    @property
    def center_x(self) -> float:
        return round((self.left + self.right) / 2, 1)

    @property
    def band_label_y(self) -> float:
        return self.top - 10


class _Scale:
    def __init__(self, length: int) -> None:
        self.length = max(1, length)
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = TOP, HEIGHT - BOTTOM

    def x(self, day: float) -> float:
        return round(self.x0 + (self.x1 - self.x0) * max(0, min(day, self.length)) / self.length, 1)

    def y(self, percent: float) -> float:
        percent = max(0.0, min(100.0, percent))
        return round(self.y1 - (self.y1 - self.y0) * percent / 100, 1)


def _path(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(points))


def _line(scale: _Scale, series: Series, length: int) -> Line:
    actual = [(scale.x(p.day), scale.y(p.percent)) for p in series.points]
    plan = [(scale.x(day), scale.y(100 * share)) for day, share in series.plan.points]
    projection: list[tuple[float, float]] = []
    proj = series.projection
    current = series.current
    if current is not None and proj.pace is not None and current.day < length and current.total:
        projection.append((scale.x(current.day), scale.y(current.percent)))
        finish = proj.finish_day
        if finish is not None and finish < length:
            projection.append((scale.x(finish), scale.y(100)))
        projection.append((scale.x(length), scale.y(100 * proj.end_value / current.total)))
    if current is not None:
        end_x, end_y = scale.x(current.day), scale.y(current.percent)
        noun = "items covered" if series.key == "items" else "systems signed off"
        end_label = f"{round(current.percent)}% {noun}"
    else:
        end_x, end_y, end_label = scale.x(0), scale.y(0), ""
    # The label sits above the last point, on the side away from the projection.
    near_left = end_x - scale.x0 < 170
    return Line(
        key=series.key,
        label=series.label,
        actual=_path(actual),
        plan=_path(plan),
        projection=_path(projection),
        end_x=end_x,
        end_y=end_y,
        end_label=end_label,
        label_x=round(end_x + 8 if near_left else end_x - 8, 1),
        label_y=round(max(scale.y0 + 12, end_y - 10), 1),
        label_anchor="start" if near_left else "end",
    )


def burnup_chart(burnup: BurnUp) -> BurnUpChart:
    scale = _Scale(burnup.length)
    bands = []
    for label, start, end, is_current in burnup.phases:
        x = scale.x(start - 1)
        width = scale.x(end) - x
        bands.append(Band(x, round(width, 1), label, round(x + width / 2, 1), is_current))
    step = 10 if burnup.length > 30 else 5
    x_ticks = [Tick(scale.x(d), str(d)) for d in range(0, burnup.length + 1, step)]
    if burnup.length % step:
        x_ticks.append(Tick(scale.x(burnup.length), str(burnup.length)))
    y_ticks = [Tick(scale.y(v), f"{v}%") for v in (0, 25, 50, 75, 100)]
    lines = [
        _line(scale, burnup.items, burnup.length),
        _line(scale, burnup.signoffs, burnup.length),
    ]
    # Keep the two end labels apart when the lines end close together.
    if len(lines) == 2 and abs(lines[0].label_y - lines[1].label_y) < 14:
        upper, lower = sorted(lines, key=lambda line: line.label_y)
        mid = (upper.label_y + lower.label_y) / 2
        moved = {upper.key: mid - 7, lower.key: mid + 7}
        lines = [Line(**{**line.__dict__, "label_y": round(moved[line.key], 1)}) for line in lines]
    today_x = scale.x(burnup.today_day) if 1 <= burnup.today_day <= burnup.length else None
    return BurnUpChart(
        width=WIDTH,
        height=HEIGHT,
        left=scale.x0,
        right=scale.x1,
        top=scale.y0,
        bottom=scale.y1,
        bands=bands,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        lines=lines,
        today_x=today_x,
        today_label=f"Today, day {burnup.today_day}",
    )
