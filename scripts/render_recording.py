"""Draws one plan of a diffplan recording as an SVG, from the logged data only.

Usage: render_recording.py FILE.rrd OUT.svg [EPISODE]. Panels, left to right: the maze with the
planned path (orange), the executed path (blue) and the goal (green); then the model's clean
estimate x0_hat (purple) over the noisy trajectory x_t it saw (grey) at four denoising steps of
the same plan. Reads the recording with the
rerun-sdk of the crate's version; writes plain SVG (no plotting library).
"""

import sys

import rerun.experimental as rx


def rows(reader, entity, component):
    """(timelines, value) of every row of `entity`'s `component`."""
    out = []
    for chunk in reader.stream():
        if chunk.entity_path != entity:
            continue
        batch = chunk.to_record_batch()
        names = batch.schema.names
        if component not in names:
            continue
        # Durations as integer nanoseconds (pyarrow cannot turn every one into a timedelta).
        times = {n: batch.column(n).cast("int64").to_pylist()
                 for n in names if n in ("episode", "plan", "denoise_step", "sim_time")}
        values = batch.column(component).to_pylist()
        for i, value in enumerate(values):
            out.append(({k: v[i] for k, v in times.items()}, value))
    return out


def main():
    path, out = sys.argv[1], sys.argv[2]
    episode = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    reader = rx.RrdReader(path)
    walls = rows(reader, "/world/scene/walls", "Boxes3D:centers")[0][1]
    halves = rows(reader, "/world/scene/walls", "Boxes3D:half_sizes")[0][1]
    plans = [(t, v) for t, v in rows(reader, "/world/plan", "LineStrips3D:strips") if t.get("episode") == episode]
    first_plan = plans[0]
    executed = [(t, v) for t, v in rows(reader, "/world/executed", "LineStrips3D:strips") if t.get("episode") == episode]
    executed = max(executed, key=lambda r: r[0]["sim_time"])[1][0]
    goal = [v for t, v in rows(reader, "/world/goal", "Points3D:positions") if t.get("episode") == episode][0][0]
    denoise = [(t, v) for t, v in rows(reader, "/world/denoise/x0_hat", "LineStrips3D:strips")
               if t.get("plan") == first_plan[0]["plan"]]
    denoise.sort(key=lambda r: r[0]["denoise_step"])
    noisy = {t["denoise_step"]: v for t, v in rows(reader, "/world/denoise/x_t", "LineStrips3D:strips")
             if t.get("plan") == first_plan[0]["plan"]}
    picks = [denoise[i] for i in sorted({0, len(denoise) // 3, 2 * len(denoise) // 3, len(denoise) - 1})]

    xs = [c[0] for c in walls]
    ys = [c[1] for c in walls]
    x0, x1, y0, y1 = min(xs) - 0.5, max(xs) + 0.5, min(ys) - 0.5, max(ys) + 0.5
    scale, pad = 60.0, 20.0
    width, height = (x1 - x0) * scale, (y1 - y0) * scale

    def panel(k, title, body):
        ox = pad + k * (width + pad)
        def px(p):
            return ox + (p[0] - x0) * scale, pad + 20 + (y1 - p[1]) * scale
        parts = [f'<text x="{ox}" y="{pad + 12}" font-size="13" font-family="sans-serif">{title}</text>']
        for c, h in zip(walls, halves):
            a = px((c[0] - h[0], c[1] + h[1]))
            parts.append(f'<rect x="{a[0]:.1f}" y="{a[1]:.1f}" width="{2 * h[0] * scale:.1f}" '
                         f'height="{2 * h[1] * scale:.1f}" fill="#787878"/>')
        for points, color, w in body:
            d = " ".join(f"{px(p)[0]:.1f},{px(p)[1]:.1f}" for p in points)
            parts.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="{w}"/>')
        g = px(goal)
        parts.append(f'<circle cx="{g[0]:.1f}" cy="{g[1]:.1f}" r="7" fill="#1eb43c"/>')
        return parts

    svg = []
    svg += panel(0, f"episode {episode}: plan (orange), executed (blue)",
                 [(first_plan[1][0], "#f08c1e", 3), (executed, "#286ee6", 2)])
    for k, (t, strips) in enumerate(picks, start=1):
        step = t["denoise_step"]
        svg += panel(k, f"step {step}: x_t (grey), x0_hat (purple)",
                     [(noisy[step][0], "#b4b4b4", 1), (strips[0], "#c83cc8", 3)])
    total_width = pad + len(picks + [None]) * (width + pad)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width:.0f}" height="{height + 2 * pad + 20:.0f}">'
            f'<rect width="100%" height="100%" fill="white"/>')
    with open(out, "w") as f:
        f.write(head + "".join(svg) + "</svg>\n")


if __name__ == "__main__":
    main()
