"""When to resend a gr.LinePlot, around a Gradio 6.31 quirk with runs added later.

The quirk: a LinePlot fixes its set of series (the colour domain) when it builds the chart,
and rebuilds only when a setting such as `color_map` changes; it rebuilds *before* taking
the new data, so from the data of the update before. A run added later is never drawn.
To reproduce: send a frame with series "a", then one with "a" and "b": "b" never appears.

The fix: each update sends the colours of the series of the update before, so the chart is
rebuilt exactly when that set changed, from exactly that data; other updates only swap the
data. An unchanged chart is not sent again, unless the last update rebuilt it (its data may
then have been dropped). For the same reason a run event's last picture is sent twice.
"""

import gradio as gr
import pandas as pd


def line_plot_update(sent: dict, name: str, frame: pd.DataFrame, colors: dict, force=False):
    """The update for plot `name` showing `frame` (colours by its "run" column), or
    gr.skip() when the browser already shows it. `sent` remembers what each plot got."""
    last = sent.get(name, {"colors": {}, "color_map": None, "signature": (0, ()), "rebuilt": False})
    signature = (len(frame), tuple(frame.tail(1).itertuples(index=False)))
    color_map_now = last["colors"]  # the colours of the series sent last time
    unchanged = signature == last["signature"] and color_map_now == last["color_map"]
    if unchanged and not last["rebuilt"] and not force:
        return gr.skip()
    sent[name] = {
        "colors": {label: colors[label] for label in frame["run"].unique()},
        "color_map": color_map_now,
        "signature": signature,
        "rebuilt": color_map_now != last["color_map"],
    }
    return gr.update(value=frame, color_map=color_map_now)  # cheaper than a new gr.LinePlot
