"""The MNIST classroom demo: the lesson's feedforward classifier, live in the browser.

Read in this order: model.py (the network), data.py (MNIST as tensors), preprocess.py
(a drawing becomes a 28x28 input), predict.py, losses.py (softmax and cross-entropy),
train.py (the training loop), evaluate.py, learn.py and explain.py (one drawing: learn
from it, see why), checkpoint.py; then ui/ for the app around them.
classroom/ is what serving a whole class needs: read it last, if at all.
"""
