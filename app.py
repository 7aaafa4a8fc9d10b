"""Launch the MNIST classroom demo: `python app.py`, then open http://127.0.0.1:7860.

`demo` is built at module level because Hugging Face Spaces and `gradio app.py` (hot reload)
look for it there. Everything else lives in the `mnist_demo` package.
"""

from mnist_demo.ui.app import build_demo, launch_options, prepare_to_serve

demo = build_demo()

if __name__ == "__main__":
    prepare_to_serve(demo)  # MNIST read now, strokes answered in their own process
    demo.launch(**launch_options())
