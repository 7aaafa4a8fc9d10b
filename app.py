"""Launch the MNIST classroom demo: `python app.py`, then open http://127.0.0.1:7860.

`demo` is built at module level because Hugging Face Spaces and `gradio app.py` (hot reload)
look for it there. Everything else lives in the `mnist_demo` package.
"""

import gc

from mnist_demo.ui.app import build_demo, launch_options

demo = build_demo()

if __name__ == "__main__":
    # Everything loaded so far lives until the end: keep it out of the garbage collector's
    # full passes, which otherwise pause the server for ~300 ms under a class's load.
    gc.collect()
    gc.freeze()
    demo.launch(**launch_options())
