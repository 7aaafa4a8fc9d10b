"""What one shared instance needs to serve a class of 30 on two CPU cores.

Read the lesson first (model.py, data.py, preprocess.py, predict.py, losses.py, train.py,
evaluate.py): nothing here is part of it. This folder holds the caps on a student's run and
their session (runs.py), training in a low-priority thread (background.py), strokes
answered in a process of their own (stroke_process.py) and the server's settings
(server.py). Why each exists, with the figures: docs/performance.md. No gradio here.
"""
