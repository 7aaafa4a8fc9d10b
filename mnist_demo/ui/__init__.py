"""The Gradio app: the only part of the project that imports gradio. One module per tab."""
